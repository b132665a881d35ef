// Job's read side: snapshots, views and waits (no scheduling here).
#include <map>

#include "absl/time/clock.h"
#include "coordinator/core/job.h"

namespace coordinator {

size_t JobSnapshot::Count(TaskState s) const {
  size_t n = 0;
  for (const AccountView& a : accounts) n += a.task.state == s ? 1 : 0;
  return n;
}

size_t JobSnapshot::Parked() const {
  size_t n = 0;
  for (const AccountView& a : accounts) n += a.task.parked(now) ? 1 : 0;
  return n;
}

uint64_t JobSnapshot::TotalMessages() const {
  uint64_t n = 0;
  for (const AccountView& a : accounts) n += a.messages;
  return n;
}

uint64_t JobSnapshot::TotalBytes() const {
  uint64_t n = 0;
  for (const AccountView& a : accounts) n += a.bytes;
  return n;
}

size_t JobSnapshot::ConnectedWorkers() const {
  size_t n = 0;
  for (const WorkerView& w : workers) n += w.connected ? 1 : 0;
  return n;
}

bool Job::finished() const {
  absl::MutexLock lock(&mu_);
  return scheduler_.finished();
}

bool Job::WaitFinished(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return scheduler_.finished(); };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

bool Job::WaitNoConnectedWorkers(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [id, w] : workers_) {
      if (w.link != nullptr) return false;
    }
    return true;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

uint64_t Job::WaitChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return version_;
}

ThrottleTotals Job::Throttling(const AccountState& a) {
  ThrottleTotals sum = a.before;
  if (a.result_in) {
    sum += ThrottleTotals{a.result.throttled_ms, a.result.throttles, a.result.reconnects};
  } else {
    sum += ThrottleTotals{a.progress.throttled_ms, a.progress.throttles, a.progress.reconnects};
  }
  return sum;
}

AccountView Job::ViewLocked(const TaskInfo& t, absl::Time now, bool with_folders) const {
  const AccountState& a = accounts_[t.account_index];
  AccountView v;
  v.task = t;
  if (!t.parked(now)) v.task.parked_until = absl::InfinitePast();  // its window reopened
  v.progress = a.progress;
  if (with_folders) v.folders = a.result.folders;
  v.messages = a.result.messages;
  v.bytes = a.result.bytes;
  v.skipped = a.result.skipped;
  v.refused = a.result.refused;
  v.repaired = a.result.repaired;
  const ThrottleTotals throttling = Throttling(a);
  v.throttled_ms = throttling.throttled_ms;
  v.throttles = throttling.throttles;
  v.reconnects = throttling.reconnects;
  // The servers' replies by class: the current (or last) attempt's.
  v.imap_errors = a.result_in ? a.result.imap_errors : a.progress.imap_errors;
  if (with_folders) v.notes = a.result.notes;
  if (t.state == TaskState::kRunning) {
    v.elapsed = now - a.started;
    v.messages = a.progress.messages_done;
    v.bytes = a.progress.bytes_done;
  } else {
    v.elapsed = a.elapsed;
  }
  if (t.earlier_run) {
    v.messages = a.earlier.messages;
    v.bytes = a.earlier.bytes;
    v.skipped = a.earlier.skipped;
  }
  v.version = a.version;
  return v;
}

JobSnapshot Job::Snapshot(bool with_folders) const {
  absl::MutexLock lock(&mu_);
  JobSnapshot s;
  s.job_id = options_.job_id;
  s.mode = options_.mode;
  s.dry_run = options_.dry_run;
  s.sizes = options_.sizes;
  s.started = started_;
  s.now = Now();
  s.finished = scheduler_.finished();
  s.stopping = scheduler_.stopping();
  s.stop_reason = scheduler_.stop_reason();
  s.version = version_;
  s.fleet = fleet_;
  s.accounts.reserve(scheduler_.tasks().size());
  std::map<std::string, uint32_t> running;  // by worker
  for (const TaskInfo& t : scheduler_.tasks()) {
    s.accounts.push_back(ViewLocked(t, s.now, with_folders));
    s.earlier_run += t.earlier_run ? 1 : 0;
    if (t.state == TaskState::kRunning) ++running[t.worker_id];
  }
  for (const auto& [id, w] : workers_) {
    WorkerView v = w.view;
    v.connected = w.link != nullptr && !w.dead;
    auto it = running.find(id);
    v.running = it == running.end() ? 0 : it->second;
    s.workers.push_back(v);
  }
  return s;
}

}  // namespace coordinator
