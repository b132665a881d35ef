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
    : options_(options) {
  tasks_.reserve(emails.size());
  for (size_t i = 0; i < emails.size(); ++i) {
    TaskInfo t;
    t.task_id = i + 1;
    t.account_index = static_cast<int>(i);
    t.email = emails[i];
    tasks_.push_back(t);
    ready_.insert(KeyOf(tasks_.back()));
  }
  pending_ = emails.size();
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
  if (t.state == TaskState::kPending) --pending_;
  if (t.state == TaskState::kRunning) --running_;
  t.state = s;
  if (s == TaskState::kPending) ++pending_;
  if (s == TaskState::kRunning) ++running_;
}

void Scheduler::Enqueue(TaskInfo& t, absl::Time not_before, absl::Time now) {
  SetState(t, TaskState::kPending);
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

bool Scheduler::HasReady(absl::Time now) const {
  if (stopping_) return false;
  return !ready_.empty() || (!delayed_.empty() && delayed_.begin()->first <= now);
}

absl::Time Scheduler::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  if (!delayed_.empty()) next = delayed_.begin()->first;
  for (const TaskInfo& t : tasks_) {
    if (t.state == TaskState::kRunning) next = std::min(next, t.lease_expires);
  }
  return next;
}

std::optional<Assignment> Scheduler::Next(const std::string& worker_id, absl::Time now) {
  if (stopping_) return std::nullopt;
  PromoteDue(now);
  if (ready_.empty()) return std::nullopt;
  TaskInfo& t = tasks_[std::get<2>(*ready_.begin())];
  ready_.erase(ready_.begin());
  SetState(t, TaskState::kRunning);
  t.worker_id = worker_id;
  t.epoch = next_epoch_++;
  t.lease_expires = now + options_.lease;
  ++t.attempts;
  return Assignment{t.task_id, t.epoch, t.attempts, t.account_index};
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
  for (TaskInfo& t : tasks_) {
    if (t.state != TaskState::kRunning || t.lease_expires > now) continue;
    touched.push_back(t.task_id);
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
  for (TaskInfo& t : tasks_) {
    if (t.state != TaskState::kRunning || t.worker_id != worker_id) continue;
    touched.push_back(t.task_id);
    Lose(t, why, now, cancels);
  }
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
