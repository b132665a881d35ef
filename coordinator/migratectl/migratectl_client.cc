// gRPC side of migratectl.
#include "coordinator/migratectl/migratectl_client.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/channel_client.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"

namespace migratectl {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

}  // namespace

struct StatusClient::Impl {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::StatusService::Stub> stub;

  absl::Status Error(const grpc::Status& st) const {
    if (st.ok()) return absl::OkStatus();
    std::string hint;
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
        st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      hint = " (is the coordinator running there, and do TLS settings match?)";
    }
    const auto code = static_cast<absl::StatusCode>(st.error_code());
    // A refusal says so (a certificate without the operator role: PERMISSION_DENIED).
    const std::string refused =
        code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kUnauthenticated
            ? absl::StrCat("refused (", absl::StatusCodeToString(code), "): ")
            : "";
    return absl::Status(code, absl::StrCat(address, ": ", refused, st.error_message(), hint));
  }
  // wait_for_ready: ride out a coordinator still starting, up to the deadline.
  void Prepare(grpc::ClientContext* ctx, absl::Duration timeout) const {
    ctx->set_deadline(Deadline(timeout));
    ctx->set_wait_for_ready(true);
  }
};

StatusClient::StatusClient(const std::string& address, const rpc::TlsMaterial& tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = address;
  impl_->channel = rpc::MakeChannel(address, tls);
  impl_->stub = pb::StatusService::NewStub(impl_->channel);
}

StatusClient::~StatusClient() = default;

absl::Status StatusClient::GetStatus(absl::Duration timeout, pb::GetStatusResponse* out) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, timeout);
  return impl_->Error(impl_->stub->GetStatus(&ctx, pb::GetStatusRequest(), out));
}

absl::Status StatusClient::ListAccounts(pb::AccountState state, uint32_t page_size,
                                        absl::Duration timeout, pb::ListAccountsResponse* out) {
  pb::ListAccountsRequest req;
  req.set_state(state);
  req.set_page_size(page_size);
  do {
    grpc::ClientContext ctx;
    impl_->Prepare(&ctx, timeout);
    pb::ListAccountsResponse page;
    grpc::Status st = impl_->stub->ListAccounts(&ctx, req, &page);
    if (!st.ok()) return impl_->Error(st);
    for (pb::AccountStatus& a : *page.mutable_accounts()) out->add_accounts()->Swap(&a);
    out->set_total_size(page.total_size());
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  return absl::OkStatus();
}

absl::Status StatusClient::Watch(uint32_t min_interval_ms, absl::Duration connect_timeout,
                                 const std::function<bool(const pb::WatchEvent&)>& on_event) {
  if (!impl_->channel->WaitForConnected(Deadline(connect_timeout))) {
    return absl::UnavailableError(absl::StrCat(
        impl_->address, ": cannot connect within ", absl::FormatDuration(connect_timeout),
        " (is the coordinator running there, and do TLS settings match?)"));
  }
  grpc::ClientContext ctx;
  pb::WatchRequest req;
  req.set_min_interval_ms(min_interval_ms);
  auto reader = impl_->stub->Watch(&ctx, req);
  pb::WatchEvent ev;
  bool finished = false;
  while (reader->Read(&ev)) {
    finished = ev.status().finished();
    if (!on_event(ev)) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status st = reader->Finish();
  if (st.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
  if (st.ok() && !finished) {
    return absl::UnavailableError(
        absl::StrCat(impl_->address, ": the watch ended before the job did"));
  }
  return impl_->Error(st);
}

}  // namespace migratectl
