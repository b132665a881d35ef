#include "proto/status_convert.h"

#include <algorithm>

#include "proto/convert.h"

namespace fleetproto {

using coordinator::AccountView;
using coordinator::AggregateStatus;
using coordinator::JobSnapshot;
using coordinator::TaskState;
using coordinator::WorkerView;

namespace {

uint64_t Ms(absl::Duration d) {
  return d <= absl::ZeroDuration() ? 0 : static_cast<uint64_t>(absl::ToInt64Milliseconds(d));
}

uint64_t MsAgo(absl::Time now, absl::Time then) {
  if (then == absl::Time()) return 0;
  return Ms(now - then);
}

void FillWorkers(const JobSnapshot& s, pb::GetStatusResponse* out) {
  for (const WorkerView& w : s.workers) {
    pb::WorkerInfo* wi = out->add_workers();
    wi->set_worker_id(w.hello.worker_id);
    wi->set_host(w.hello.host);
    wi->set_pid(w.hello.pid);
    wi->set_max_parallel(w.hello.max_parallel);
    wi->set_running(w.running);
    wi->set_connected_ms_ago(w.connected ? MsAgo(s.now, w.connected_at) : 0);
    wi->set_last_seen_ms_ago(MsAgo(s.now, w.last_seen));
    wi->set_connected(w.connected);
  }
}

void FillFolders(const AccountView& a, pb::AccountStatus* out) {
  for (const engine::FolderResult& f : a.folders) {
    pb::FolderProgress* fp = out->add_folders();
    fp->set_name(f.name);
    fp->set_messages(f.transferred);
    fp->set_bytes(f.bytes);
    fp->set_error(f.error);
    fp->set_source_messages(f.source_messages);
    fp->set_target_messages(f.target_messages);
    fp->set_missing(f.missing);
    fp->set_extra(f.extra);
    fp->set_refused(f.refused);
  }
}

}  // namespace

pb::AccountState ToProto(TaskState s) {
  switch (s) {
    case TaskState::kPending:
      return pb::ACCOUNT_STATE_PENDING;
    case TaskState::kRunning:
      return pb::ACCOUNT_STATE_RUNNING;
    case TaskState::kSucceeded:
      return pb::ACCOUNT_STATE_SUCCEEDED;
    case TaskState::kFailed:
      return pb::ACCOUNT_STATE_FAILED;
    case TaskState::kCancelled:
      return pb::ACCOUNT_STATE_CANCELLED;
  }
  return pb::ACCOUNT_STATE_UNSPECIFIED;
}

void ToProto(const JobSnapshot& s, const AggregateStatus& g, pb::GetStatusResponse* out) {
  out->set_job_id(s.job_id);
  out->set_mode(ToProto(s.mode));
  out->set_finished(s.finished);
  out->set_stopping(s.stopping);
  out->set_stop_reason(s.stop_reason);
  out->set_accounts_total(s.Totals().accounts);
  out->set_accounts_pending(s.Count(TaskState::kPending));
  out->set_accounts_running(s.Count(TaskState::kRunning));
  out->set_accounts_succeeded(s.Count(TaskState::kSucceeded));
  out->set_accounts_failed(s.Count(TaskState::kFailed));
  out->set_accounts_cancelled(s.Count(TaskState::kCancelled));
  out->set_accounts_parked(s.Parked());
  out->set_messages(g.messages_done);
  out->set_bytes(g.bytes_done);
  out->set_messages_total(g.messages_total);
  out->set_bytes_total(g.bytes_total);
  out->set_messages_skipped(g.messages_skipped);
  out->set_messages_refused(g.messages_refused);
  out->set_totals_known(g.totals_known);
  out->set_messages_per_second(g.rates.messages_per_second);
  out->set_bytes_per_second(g.rates.bytes_per_second);
  out->set_accounts_per_minute(g.rates.accounts_per_minute);
  out->set_rate_window_ms(static_cast<uint32_t>(Ms(g.rates.window)));
  out->set_eta_ms(Ms(g.eta));
  out->set_eta_basis(g.eta_basis);
  out->set_workers_connected(s.ConnectedWorkers());
  out->set_elapsed_ms(Ms(g.elapsed));
  FillWorkers(s, out);
}

void ToProto(const AccountView& a, pb::AccountStatus* out) {
  out->set_index(a.task.account_index);
  out->set_email(a.task.email);
  out->set_state(ToProto(a.task.state));
  out->set_worker_id(a.task.worker_id);
  out->set_attempts(a.task.attempts);
  out->set_last_error(a.task.last_error);
  out->set_current_folder(a.progress.folder);
  out->set_task_id(a.task.task_id);
  out->set_epoch(a.task.epoch);
  out->set_elapsed_ms(Ms(a.elapsed));
  if (a.task.state == TaskState::kPending) {
    out->set_parked_until_ms(UnixMillisOrZero(a.task.parked_until));
  }
  out->set_budget_bytes(a.task.budget_bytes);
  out->set_budget_spent(a.task.budget_spent);
  if (a.task.state == TaskState::kRunning) out->set_connections(a.task.connections);
  pb::Counters* c = out->mutable_counters();
  c->set_folders_done(a.progress.folders_done);
  c->set_folders_total(a.progress.folders_total);
  c->set_messages_done(a.messages);
  c->set_messages_total(std::max(a.progress.messages_total, a.messages));
  c->set_bytes_done(a.bytes);
  c->set_bytes_total(std::max(a.progress.bytes_total, a.bytes));
  c->set_skipped(a.skipped);
  c->set_refused(a.refused);
  c->set_throttled_ms(a.throttled_ms);
  c->set_throttles(a.throttles);
  c->set_reconnects(a.reconnects);
  c->mutable_imap_errors()->insert(a.imap_errors.begin(), a.imap_errors.end());
  FillFolders(a, out);
}

}  // namespace fleetproto
