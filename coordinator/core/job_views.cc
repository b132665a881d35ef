// Job's read side: snapshots, views and waits (no scheduling here).
#include <algorithm>
#include <map>

#include "absl/time/clock.h"
#include "coordinator/core/job.h"

namespace coordinator {

void JobTotals::Add(TaskState state, bool is_parked, bool from_earlier_run, uint64_t done_messages,
                    uint64_t done_bytes, uint64_t done_skipped, uint64_t done_refused,
                    const engine::Progress& progress) {
  ++accounts;
  ++by_state[static_cast<int>(state)];
  parked += is_parked ? 1 : 0;
  earlier_run += from_earlier_run ? 1 : 0;
  messages += done_messages;
  bytes += done_bytes;
  skipped += done_skipped;
  refused += done_refused;
  // A finished account counts what it did as its total (import announces every exported
  // message, also those B has).
  switch (state) {
    case TaskState::kPending:
      totals_known = false;
      break;
    case TaskState::kRunning:
      messages_total += std::max(progress.messages_total, done_messages);
      bytes_total += std::max(progress.bytes_total, done_bytes);
      if (progress.folders_total == 0) totals_known = false;
      break;
    default:
      messages_total += done_messages;
      bytes_total += done_bytes;
      break;
  }
}

void JobTotals::Add(const AccountView& a, absl::Time now) {
  Add(a.task.state, a.task.parked(now), a.task.earlier_run, a.messages, a.bytes, a.skipped,
      a.refused, a.progress);
}

JobTotals JobSnapshot::Totals() const {
  if (totals) return *totals;
  JobTotals t;
  for (const AccountView& a : accounts) t.Add(a, now);
  return t;
}

size_t JobSnapshot::Count(TaskState s) const { return Totals().by_state[static_cast<int>(s)]; }

size_t JobSnapshot::Parked() const { return Totals().parked; }

uint64_t JobSnapshot::TotalMessages() const { return Totals().messages; }

uint64_t JobSnapshot::TotalBytes() const { return Totals().bytes; }

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

Job::Share Job::ShareLocked(const TaskInfo& t) const {
  const AccountState& a = accounts_[t.account_index];
  const engine::AccountResult& r = a.result;
  Share s;
  s.messages = r.messages;
  s.bytes = r.bytes;
  s.skipped = r.skipped;
  s.refused = r.refused;
  if (t.state == TaskState::kRunning) {  // as ViewLocked counts them
    s.messages = a.progress.messages_done;
    s.bytes = a.progress.bytes_done;
  }
  s.earlier_run = t.earlier_run;
  if (t.earlier_run) {
    s.messages = a.earlier.messages;
    s.bytes = a.earlier.bytes;
    s.skipped = a.earlier.skipped;
  }
  JobTotals one;  // the announced totals, as JobTotals::Add counts them
  one.Add(t.state, false, false, s.messages, s.bytes, s.skipped, s.refused, a.progress);
  s.messages_total = one.messages_total;
  s.bytes_total = one.bytes_total;
  s.unlisted = t.state == TaskState::kRunning && a.progress.folders_total == 0;
  s.may_park = t.state == TaskState::kPending && t.parked_until != absl::InfinitePast();
  return s;
}

void Job::StaleLocked(size_t index) const {
  if (index >= stale_.size() || stale_[index]) return;
  stale_[index] = true;
  stale_list_.push_back(index);
}

void Job::RecountLocked() const {
  // Scheduler's changes come through Job's own methods, but not all of them touch every
  // account they change (a fail-fast stop cancels every pending one).
  for (size_t i : scheduler_.TakeChanged()) StaleLocked(i);
  auto apply = [this](const Share& s, int sign) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto add = [sign](uint64_t& sum, uint64_t v) { sum += sign > 0 ? v : -v; };
    add(sums_.messages, s.messages);
    add(sums_.bytes, s.bytes);
    add(sums_.skipped, s.skipped);
    add(sums_.refused, s.refused);
    add(sums_.messages_total, s.messages_total);
    add(sums_.bytes_total, s.bytes_total);
    sums_.earlier_run += sign * (s.earlier_run ? 1 : 0);
    unlisted_ += sign * (s.unlisted ? 1 : 0);
  };
  for (size_t i : stale_list_) {
    stale_[i] = false;
    apply(shares_[i], -1);
    shares_[i] = ShareLocked(scheduler_.tasks()[i]);
    apply(shares_[i], +1);
    if (shares_[i].may_park) {
      may_park_.insert(i);
    } else {
      may_park_.erase(i);
    }
  }
  stale_list_.clear();
}

JobTotals Job::TotalsLocked(absl::Time now) const {
  RecountLocked();
  JobTotals totals = sums_;
  totals.accounts = scheduler_.tasks().size();
  for (int s = 0; s < 5; ++s) totals.by_state[s] = scheduler_.count(static_cast<TaskState>(s));
  for (size_t i : may_park_) totals.parked += scheduler_.tasks()[i].parked(now) ? 1 : 0;
  totals.totals_known =
      totals.by_state[static_cast<int>(TaskState::kPending)] == 0 && unlisted_ == 0;
  return totals;
}

JobSnapshot Job::Snapshot(SnapshotDetail detail) const {
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
  s.totals = TotalsLocked(s.now);
  s.earlier_run = s.totals->earlier_run;
  std::map<std::string, uint32_t> running;  // by worker
  if (detail != SnapshotDetail::kSummary) s.accounts.reserve(scheduler_.tasks().size());
  if (detail != SnapshotDetail::kSummary) {
    for (const TaskInfo& t : scheduler_.tasks()) {
      s.accounts.push_back(ViewLocked(t, s.now, detail == SnapshotDetail::kFull));
    }
  }
  for (size_t i : scheduler_.running()) ++running[scheduler_.tasks()[i].worker_id];
  for (const auto& [id, w] : workers_) {
    WorkerView v = w.view;
    v.connected = w.link != nullptr && !w.dead;
    auto it = running.find(id);
    v.running = it == running.end() ? 0 : it->second;
    s.workers.push_back(v);
  }
  return s;
}

AccountPage Job::ListAccounts(std::optional<TaskState> state, size_t start, size_t limit) const {
  absl::MutexLock lock(&mu_);
  AccountPage page;
  const std::vector<TaskInfo>& tasks = scheduler_.tasks();
  page.matching = state ? scheduler_.count(*state) : tasks.size();
  const absl::Time now = Now();
  auto skip = [&](size_t i) {  // to the next matching account
    while (i < tasks.size() && state && tasks[i].state != *state) ++i;
    return i;
  };
  size_t i = skip(start);
  for (; i < tasks.size() && page.accounts.size() < std::max<size_t>(limit, 1); i = skip(i + 1)) {
    page.accounts.push_back(ViewLocked(tasks[i], now));
  }
  page.next = i < tasks.size() ? i : 0;  // i > start here: 0 is never a continuation
  return page;
}

}  // namespace coordinator
