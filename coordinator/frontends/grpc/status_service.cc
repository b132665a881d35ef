// gRPC adapter only: serves Job snapshots and the tracker's figures as status messages
// (the conversions are proto/status_convert.h), to callers with the operator role
// (authorize.h).
#include "coordinator/frontends/grpc/status_service.h"

#include <utility>

#include "absl/time/clock.h"
#include "coordinator/frontends/grpc/authorize.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/status_convert.h"

namespace coordinator {
namespace {

namespace pb = ::migrator::v1;

class StatusServiceImpl final : public pb::StatusService::Service {
 public:
  StatusServiceImpl(Job* job, StatusTracker* tracker) : job_(job), tracker_(tracker) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*,
                         pb::GetStatusResponse* out) override {
    if (grpc::Status allowed = Authorize(*ctx, rpc::PeerRole::kOperator); !allowed.ok()) {
      return allowed;
    }
    JobSnapshot s = job_->Snapshot();
    fleetproto::ToProto(s, tracker_->Aggregate(s), out);
    return grpc::Status::OK;
  }

  grpc::Status ListAccounts(grpc::ServerContext* ctx, const pb::ListAccountsRequest* req,
                            pb::ListAccountsResponse* out) override {
    if (grpc::Status allowed = Authorize(*ctx, rpc::PeerRole::kOperator); !allowed.ok()) {
      return allowed;
    }
    for (const AccountView& a : job_->Snapshot().accounts) {
      if (req->state() != pb::ACCOUNT_STATE_UNSPECIFIED &&
          fleetproto::ToProto(a.task.state) != req->state()) {
        continue;
      }
      fleetproto::ToProto(a, out->add_accounts());
    }
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* ctx, const pb::WatchRequest* req,
                     grpc::ServerWriter<pb::WatchEvent>* writer) override {
    if (grpc::Status allowed = Authorize(*ctx, rpc::PeerRole::kOperator); !allowed.ok()) {
      return allowed;
    }
    absl::Duration every =
        absl::Milliseconds(req->min_interval_ms() ? req->min_interval_ms() : 500);
    uint64_t sent_version = 0;
    while (!ctx->IsCancelled()) {
      JobSnapshot s = job_->Snapshot();
      pb::WatchEvent ev;
      fleetproto::ToProto(s, tracker_->Aggregate(s), ev.mutable_status());
      for (const AccountView& a : s.accounts) {
        if (a.version > sent_version) fleetproto::ToProto(a, ev.add_changed());
      }
      if (!writer->Write(ev)) break;
      if (s.finished) break;
      sent_version = s.version;
      absl::SleepFor(every);  // rate limit between events, not synchronisation
      job_->WaitChange(s.version, absl::Seconds(1));
    }
    return grpc::Status::OK;
  }

 private:
  Job* const job_;
  StatusTracker* const tracker_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewStatusService(Job* job, StatusTracker* tracker) {
  return std::make_unique<StatusServiceImpl>(job, tracker);
}

}  // namespace coordinator
