#include "coordinator/core/scheduler.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace coordinator {

const char* TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kRunning:
      return "running";
    case TaskState::kSucceeded:
      return "succeeded";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kCancelled:
      return "cancelled";
  }
  return "?";
}

bool IsTerminal(TaskState state) {
  return state == TaskState::kSucceeded || state == TaskState::kFailed ||
         state == TaskState::kCancelled;
}

bool IsRetriable(const absl::Status& status, bool stopping) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return true;
    case absl::StatusCode::kCancelled:
      return !stopping;
    default:
      return false;
  }
}

absl::Duration Backoff(const SchedulerOptions& options, uint32_t attempts) {
  absl::Duration d = options.backoff_initial;
  for (uint32_t i = 1; i < attempts && d < options.backoff_max; ++i) d *= 2;
  return std::min(d, options.backoff_max);
}

Scheduler::Scheduler(const std::vector<std::string>& emails, SchedulerOptions options)
    : options_(options), limits_(emails.size()) {
  tasks_.reserve(emails.size());
  for (size_t i = 0; i < emails.size(); ++i) {
    TaskInfo t;
    t.task_id = i + 1;
    t.account_index = static_cast<int>(i);
    t.email = emails[i];
    tasks_.push_back(t);
    ready_.insert(KeyOf(tasks_.back()));
  }
  counts_[static_cast<int>(TaskState::kPending)] = emails.size();
}

Scheduler::ReadyKey Scheduler::KeyOf(const TaskInfo& t) {
  uint64_t inverted = std::numeric_limits<uint64_t>::max() - t.size;
  return {t.size > 0 ? 0 : 1, inverted, static_cast<size_t>(t.account_index)};
}

TaskInfo* Scheduler::Mutable(uint64_t task_id) {
  if (task_id == 0 || task_id > tasks_.size()) return nullptr;
  return &tasks_[task_id - 1];
}

const TaskInfo* Scheduler::Find(uint64_t task_id) const {
  if (task_id == 0 || task_id > tasks_.size()) return nullptr;
  return &tasks_[task_id - 1];
}

bool Scheduler::IsCurrent(uint64_t task_id, uint64_t epoch) const {
  const TaskInfo* t = Find(task_id);
  return t != nullptr && t->state == TaskState::kRunning && t->epoch == epoch;
}

void Scheduler::SetState(TaskInfo& t, TaskState s) {
  --counts_[static_cast<int>(t.state)];
  if (t.state == TaskState::kRunning) running_.erase(static_cast<size_t>(t.account_index));
  t.state = s;
  ++counts_[static_cast<int>(s)];
  if (s == TaskState::kRunning) running_.insert(static_cast<size_t>(t.account_index));
  changed_.push_back(static_cast<size_t>(t.account_index));
}

void Scheduler::Enqueue(TaskInfo& t, absl::Time not_before, absl::Time now) {
  SetState(t, TaskState::kPending);
  // A spent budget waits for its window, whatever brought the task back.
  const absl::Time window_end = t.window_start + options_.budget_window;
  if (t.budget_bytes > 0 && t.window_start != absl::InfinitePast() &&
      t.budget_spent >= t.budget_bytes && window_end > now) {
    t.parked_until = window_end;
    not_before = std::max(not_before, window_end);
  }
  t.not_before = not_before;
  if (not_before <= now) {
    ready_.insert(KeyOf(t));
  } else {
    delayed_.insert({not_before, static_cast<size_t>(t.account_index)});
  }
}

void Scheduler::Dequeue(const TaskInfo& t) {
  ready_.erase(KeyOf(t));
  delayed_.erase({t.not_before, static_cast<size_t>(t.account_index)});
}

void Scheduler::PromoteDue(absl::Time now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    ready_.insert(KeyOf(tasks_[delayed_.begin()->second]));
    delayed_.erase(delayed_.begin());
  }
}

void Scheduler::RestoreSucceeded(uint64_t task_id, const std::string& note) {
  TaskInfo* t = Mutable(task_id);
  if (t == nullptr || t->state != TaskState::kPending) return;
  Dequeue(*t);
  SetState(*t, TaskState::kSucceeded);
  t->earlier_run = true;
  t->last_error = note;
}

void Scheduler::SetMinEpoch(uint64_t epoch) { next_epoch_ = std::max(next_epoch_, epoch + 1); }

void Scheduler::SetSize(uint64_t task_id, uint64_t size) {
  TaskInfo* t = Mutable(task_id);
  if (t == nullptr || t->size == size) return;
  bool queued = ready_.erase(KeyOf(*t)) > 0;
  t->size = size;
  if (queued) ready_.insert(KeyOf(*t));
}

bool Scheduler::Blocked(const TaskInfo& t) const {
  const AccountLimitSpec& spec = limits_[t.task_id - 1];
  return spec.max_connections > 0 &&
         ledger_.Available(spec.connection_key, spec.max_connections) == 0;
}

bool Scheduler::HasReady(absl::Time now) const {
  if (stopping_) return false;
  for (const ReadyKey& k : ready_) {
    if (!Blocked(tasks_[std::get<2>(k)])) return true;
  }
  return !delayed_.empty() && delayed_.begin()->first <= now;
}

absl::Time Scheduler::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  if (!delayed_.empty()) next = delayed_.begin()->first;
  for (size_t i : running_) next = std::min(next, tasks_[i].lease_expires);
  return std::min(next, ledger_.NextExpiry());
}

void Scheduler::SetLimits(uint64_t task_id, const AccountLimitSpec& spec) {
  TaskInfo* t = Mutable(task_id);
  if (t == nullptr) return;
  limits_[task_id - 1] = spec;
  t->budget_bytes = spec.budget_bytes;
  if (spec.max_connections > 0) ledger_.SetLimit(spec.connection_key, spec.max_connections);
}

void Scheduler::RestoreBudget(uint64_t task_id, absl::Time window_start, uint64_t spent,
                              absl::Time parked_until, absl::Time now) {
  TaskInfo* t = Mutable(task_id);
  if (t == nullptr || t->budget_bytes == 0 || window_start == absl::InfinitePast() ||
      now >= window_start + options_.budget_window) {
    return;  // no budget now, or that window is over
  }
  t->window_start = window_start;
  t->budget_spent = spent;
  if (t->state != TaskState::kPending) return;
  // Parked by an earlier run (the window's end may have moved with budget_window_seconds).
  parked_until = std::min(parked_until, window_start + options_.budget_window);
  Dequeue(*t);
  Enqueue(*t, parked_until > now ? parked_until : now, now);
  if (parked_until > now) t->parked_until = parked_until;
}

void Scheduler::OpenWindow(TaskInfo& t, absl::Time now) {
  if (t.budget_bytes == 0) return;
  if (t.window_start != absl::InfinitePast() && now >= t.window_start + options_.budget_window) {
    t.window_start = absl::InfinitePast();  // over: a new one opens
    t.budget_spent = 0;
  }
  if (t.window_start == absl::InfinitePast()) t.window_start = now;
}

void Scheduler::Charge(uint64_t task_id, uint64_t bytes, absl::Time now) {
  TaskInfo* t = Mutable(task_id);
  if (t == nullptr || t->budget_bytes == 0 || t->window_start == absl::InfinitePast() ||
      bytes == 0) {
    return;
  }
  t->budget_spent += bytes;
  if (t->state == TaskState::kPending && !t->parked(now)) {
    Dequeue(*t);  // already queued (a lost assignment): its budget may now be spent
    Enqueue(*t, t->not_before, now);
  }
}

void Scheduler::ReleaseConnections(const TaskInfo& t) { ledger_.Release({t.task_id, t.epoch}); }

Scheduler::Outcome Scheduler::Park(uint64_t task_id, uint64_t epoch, absl::Time now) {
  if (!IsCurrent(task_id, epoch)) return Outcome::kStale;
  TaskInfo& t = *Mutable(task_id);
  ReleaseConnections(t);
  if (t.attempts > 0) --t.attempts;  // not an attempt: the server is fine
  const absl::Time window_end = t.window_start == absl::InfinitePast()
                                    ? now
                                    : std::max(now, t.window_start + options_.budget_window);
  t.last_error =
      absl::StrCat("byte budget spent (", t.budget_spent, " of ", t.budget_bytes,
                   " bytes in this window); parked until ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", window_end, absl::UTCTimeZone()));
  if (stopping_) {
    SetState(t, TaskState::kCancelled);
    t.parked_until = window_end;  // kept for a durable job's next run
    absl::StrAppend(&t.last_error, "; not restarted: ", stop_reason_);
    return Outcome::kCancelled;
  }
  Enqueue(t, window_end, now);  // the run stopped before a message that did not fit
  t.parked_until = window_end > now ? window_end : absl::InfinitePast();
  return Outcome::kParked;
}

bool Scheduler::StaleRunEnded(uint64_t task_id, uint64_t epoch) {
  if (IsCurrent(task_id, epoch)) return false;
  return ledger_.Release({task_id, epoch});
}

bool Scheduler::WorkerRuns(const std::string& worker_id,
                           const std::set<std::pair<uint64_t, uint64_t>>& held, absl::Time now) {
  return ledger_.OnHeartbeat(worker_id, held, now + StaleHold());
}

bool Scheduler::ExpireStaleConnections(absl::Time now) { return ledger_.ExpireStale(now); }

absl::Duration Scheduler::StaleHold() const {
  return options_.stale_hold > absl::ZeroDuration() ? options_.stale_hold : options_.lease;
}

TaskInfo* Scheduler::PickReady() {
  for (auto it = ready_.begin(); it != ready_.end(); ++it) {
    TaskInfo& t = tasks_[std::get<2>(*it)];
    if (Blocked(t)) continue;  // its key's connections are all held: wait for a release
    ready_.erase(it);
    return &t;
  }
  return nullptr;
}

std::optional<Assignment> Scheduler::Next(const std::string& worker_id, absl::Time now) {
  if (stopping_) return std::nullopt;
  PromoteDue(now);
  TaskInfo* picked = PickReady();
  if (picked == nullptr) return std::nullopt;
  TaskInfo& t = *picked;
  SetState(t, TaskState::kRunning);
  t.worker_id = worker_id;
  t.epoch = next_epoch_++;
  t.lease_expires = now + options_.lease;
  t.parked_until = absl::InfinitePast();
  ++t.attempts;
  const AccountLimitSpec& spec = limits_[t.task_id - 1];
  t.connections = 0;
  if (spec.max_connections > 0) {
    t.connections = ledger_.Available(spec.connection_key, spec.max_connections);
    ledger_.Grant(spec.connection_key, {t.task_id, t.epoch}, worker_id, t.connections);
  }
  Assignment a{t.task_id, t.epoch, t.attempts, t.account_index, t.connections};
  OpenWindow(t, now);
  if (t.budget_bytes > 0) {
    a.budget_bytes = t.budget_bytes;
    a.budget_spent = t.budget_spent;
    a.budget_resume_at = t.window_start + options_.budget_window;
  }
  return a;
}

bool Scheduler::Renew(uint64_t task_id, uint64_t epoch, const std::string& worker_id,
                      absl::Time now) {
  TaskInfo* t = Mutable(task_id);
  if (!IsCurrent(task_id, epoch) || t->worker_id != worker_id) return false;
  t->lease_expires = std::max(t->lease_expires, now + options_.lease);
  return true;
}

Scheduler::Outcome Scheduler::Complete(uint64_t task_id, uint64_t epoch, const absl::Status& status,
                                       absl::Time now, std::vector<CancelOrder>* cancels) {
  if (!IsCurrent(task_id, epoch)) return Outcome::kStale;
  TaskInfo& t = *Mutable(task_id);
  ReleaseConnections(t);
  if (status.ok()) {
    SetState(t, TaskState::kSucceeded);
    t.last_error.clear();
    return Outcome::kSucceeded;
  }
  std::string reason =
      absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  if (absl::IsCancelled(status) && stopping_) {
    SetState(t, TaskState::kCancelled);
    t.last_error = reason;
    return Outcome::kCancelled;
  }
  if (IsRetriable(status, stopping_) && t.attempts < options_.max_attempts) {
    absl::Duration wait = Backoff(options_, t.attempts);
    t.last_error = absl::StrCat(reason, " (attempt ", t.attempts, " of ", options_.max_attempts,
                                "; retry in ", absl::FormatDuration(wait), ")");
    Enqueue(t, now + wait, now);
    return Outcome::kRetry;
  }
  if (IsRetriable(status, stopping_)) {
    absl::StrAppend(&reason, " (attempt ", t.attempts, " of ", options_.max_attempts, ")");
  }
  FailTask(t, reason, cancels);
  return Outcome::kFailed;
}

void Scheduler::FailTask(TaskInfo& t, const std::string& reason,
                         std::vector<CancelOrder>* cancels) {
  SetState(t, TaskState::kFailed);
  t.last_error = reason;
  if (options_.fail_fast) {
    Stop(absl::StrCat("stopped after the failure of ", t.email,
                      " (fail-fast; --ignore-errors keeps going)"),
         cancels);
  }
}

void Scheduler::Lose(TaskInfo& t, const std::string& why, absl::Time now,
                     std::vector<CancelOrder>* cancels) {
  if (stopping_) {
    SetState(t, TaskState::kCancelled);
    t.last_error = absl::StrCat(why, " while the job was stopping");
  } else if (t.attempts < options_.max_attempts) {
    absl::Duration wait = Backoff(options_, t.attempts);
    t.last_error =
        absl::StrCat(why, " (attempt ", t.attempts, " of ", options_.max_attempts, "; requeued)");
    Enqueue(t, now + wait, now);
  } else {
    FailTask(t, absl::StrCat(why, " (attempt ", t.attempts, " of ", options_.max_attempts, ")"),
             cancels);
  }
}

std::vector<uint64_t> Scheduler::ExpireLeases(absl::Time now, std::vector<CancelOrder>* cancels) {
  std::vector<uint64_t> touched;
  const std::vector<size_t> running(running_.begin(), running_.end());  // Lose changes it
  for (size_t i : running) {
    TaskInfo& t = tasks_[i];
    if (t.lease_expires > now) continue;
    touched.push_back(t.task_id);
    // Its worker may still run it: its connections stay counted a while.
    ledger_.MarkStale({t.task_id, t.epoch}, now + StaleHold());
    // The old holder is told to stop, should it still be listening.
    if (cancels != nullptr) {
      cancels->push_back(CancelOrder{t.worker_id, t.task_id, t.epoch, "lease expired"});
    }
    Lose(t,
         absl::StrCat("worker died (", t.worker_id, ": lease expired, no heartbeat for ",
                      absl::FormatDuration(options_.lease), ")"),
         now, cancels);
  }
  return touched;
}

std::vector<uint64_t> Scheduler::WorkerLost(const std::string& worker_id, const std::string& why,
                                            absl::Time now, std::vector<CancelOrder>* cancels) {
  std::vector<uint64_t> touched;
  const std::vector<size_t> running(running_.begin(), running_.end());  // Lose changes it
  for (size_t i : running) {
    TaskInfo& t = tasks_[i];
    if (t.worker_id != worker_id) continue;
    touched.push_back(t.task_id);
    Lose(t, why, now, cancels);
  }
  ledger_.ReleaseWorker(worker_id);  // its process is gone, and its connections with it
  return touched;
}

void Scheduler::Stop(const std::string& reason, std::vector<CancelOrder>* cancels) {
  if (stopping_) return;
  stopping_ = true;
  stop_reason_ = reason;
  for (TaskInfo& t : tasks_) {
    if (t.state != TaskState::kPending) continue;
    SetState(t, TaskState::kCancelled);
    t.last_error = t.last_error.empty()
                       ? absl::StrCat("not started: ", reason)
                       : absl::StrCat("not restarted: ", reason, "; before: ", t.last_error);
  }
  ready_.clear();
  delayed_.clear();
  for (const TaskInfo& t : tasks_) {
    if (t.state == TaskState::kRunning && cancels != nullptr) {
      cancels->push_back(CancelOrder{t.worker_id, t.task_id, t.epoch, reason});
    }
  }
}

void Scheduler::FailRemaining(const std::string& reason) {
  ready_.clear();
  delayed_.clear();
  for (TaskInfo& t : tasks_) {
    if (IsTerminal(t.state)) continue;
    t.last_error = t.last_error.empty() ? reason : absl::StrCat(reason, "; before: ", t.last_error);
    SetState(t, TaskState::kFailed);
  }
  if (!stopping_) {
    stopping_ = true;
    stop_reason_ = reason;
  }
}

}  // namespace coordinator
