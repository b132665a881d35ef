// gRPC adapter only: serves Job snapshots and the tracker's figures as status messages
// (the conversions are proto/status_convert.h), to callers with the operator role
// (authorize.h).
#include "coordinator/frontends/grpc/status_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/frontends/grpc/authorize.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/status_convert.h"

namespace coordinator {
namespace {

namespace pb = ::migrator::v1;

// ListAccounts' page size when the request gives none, and its largest (README "Status
// API"): no reply carries a 100,000-account job at once.
constexpr uint32_t kDefaultPageSize = 1000;
constexpr uint32_t kMaxPageSize = 5000;

class StatusServiceImpl final : public pb::StatusService::Service {
 public:
  StatusServiceImpl(Job* job, StatusTracker* tracker) : job_(job), tracker_(tracker) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*,
                         pb::GetStatusResponse* out) override {
    if (grpc::Status allowed = Authorize(*ctx, rpc::PeerRole::kOperator); !allowed.ok()) {
      return allowed;
    }
    JobSnapshot s = job_->Snapshot(SnapshotDetail::kSummary);
    fleetproto::ToProto(s, tracker_->Aggregate(s), out);
    return grpc::Status::OK;
  }

  grpc::Status ListAccounts(grpc::ServerContext* ctx, const pb::ListAccountsRequest* req,
                            pb::ListAccountsResponse* out) override {
    if (grpc::Status allowed = Authorize(*ctx, rpc::PeerRole::kOperator); !allowed.ok()) {
      return allowed;
    }
    size_t start = 0;
    if (!req->page_token().empty() && !absl::SimpleAtoi(req->page_token(), &start)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_token: not a next_page_token of ListAccounts");
    }
    std::optional<TaskState> state;
    if (req->state() != pb::ACCOUNT_STATE_UNSPECIFIED) {
      state = TaskState::kPending;
      for (TaskState s : {TaskState::kPending, TaskState::kRunning, TaskState::kSucceeded,
                          TaskState::kFailed, TaskState::kCancelled}) {
        if (fleetproto::ToProto(s) == req->state()) state = s;
      }
    }
    const uint32_t size =
        req->page_size() == 0 ? kDefaultPageSize : std::min(req->page_size(), kMaxPageSize);
    AccountPage page = job_->ListAccounts(state, start, size);
    for (const AccountView& a : page.accounts) fleetproto::ToProto(a, out->add_accounts());
    if (page.next > 0) out->set_next_page_token(absl::StrCat(page.next));
    out->set_total_size(static_cast<uint32_t>(page.matching));
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
