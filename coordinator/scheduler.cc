#include "coordinator/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace coordinator {

const char* TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kRunning:
      return "running";
    case TaskState::kSucceeded:
      return "ok";
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

Scheduler::Scheduler(const std::vector<std::string>& emails,
                     SchedulerOptions options)
    : options_(options) {
  tasks_.reserve(emails.size());
  for (size_t i = 0; i < emails.size(); ++i) {
    TaskInfo t;
    t.task_id = i + 1;
    t.account_index = static_cast<int>(i);
    t.email = emails[i];
    tasks_.push_back(t);
    queue_.push_back(i);
  }
  pending_ = emails.size();
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

std::optional<Assignment> Scheduler::Next(const std::string& worker_id) {
  if (stopping_ || queue_.empty()) return std::nullopt;
  TaskInfo& t = tasks_[queue_.front()];
  queue_.pop_front();
  SetState(t, TaskState::kRunning);
  t.worker_id = worker_id;
  t.epoch = next_epoch_++;
  ++t.attempts;
  return Assignment{t.task_id, t.epoch, t.attempts, t.account_index};
}

bool Scheduler::Complete(uint64_t task_id, uint64_t epoch,
                         const absl::Status& status,
                         std::vector<CancelOrder>* cancels) {
  if (!IsCurrent(task_id, epoch)) return false;
  TaskInfo& t = *Mutable(task_id);
  if (status.ok()) {
    SetState(t, TaskState::kSucceeded);
    t.last_error.clear();
    return true;
  }
  std::string reason = absl::StrCat(absl::StatusCodeToString(status.code()),
                                    ": ", status.message());
  if (absl::IsCancelled(status) && stopping_) {
    SetState(t, TaskState::kCancelled);
    t.last_error = reason;
    return true;
  }
  FailTask(t, reason, cancels);
  return true;
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

std::vector<uint64_t> Scheduler::WorkerLost(const std::string& worker_id,
                                            const std::string& why,
                                            std::vector<CancelOrder>* cancels) {
  std::vector<uint64_t> touched;
  for (TaskInfo& t : tasks_) {
    if (t.state != TaskState::kRunning || t.worker_id != worker_id) continue;
    touched.push_back(t.task_id);
    if (t.attempts < options_.max_attempts && !stopping_) {
      SetState(t, TaskState::kPending);
      t.last_error = absl::StrCat(why, " (attempt ", t.attempts, "; requeued)");
      queue_.push_front(static_cast<size_t>(t.task_id - 1));
    } else {
      FailTask(t,
               absl::StrCat(why, " (attempt ", t.attempts, " of ",
                            options_.max_attempts, ")"),
               cancels);
    }
  }
  return touched;
}

void Scheduler::Stop(const std::string& reason,
                     std::vector<CancelOrder>* cancels) {
  if (stopping_) return;
  stopping_ = true;
  stop_reason_ = reason;
  for (size_t i : queue_) {
    TaskInfo& t = tasks_[i];
    SetState(t, TaskState::kCancelled);
    t.last_error = t.last_error.empty()
                       ? absl::StrCat("not started: ", reason)
                       : absl::StrCat("not restarted: ", reason,
                                      "; before: ", t.last_error);
  }
  queue_.clear();
  for (const TaskInfo& t : tasks_) {
    if (t.state == TaskState::kRunning && cancels != nullptr) {
      cancels->push_back(CancelOrder{t.worker_id, t.task_id, t.epoch, reason});
    }
  }
}

void Scheduler::FailRemaining(const std::string& reason) {
  queue_.clear();
  for (TaskInfo& t : tasks_) {
    if (IsTerminal(t.state)) continue;
    t.last_error = t.last_error.empty()
                       ? reason
                       : absl::StrCat(reason, "; before: ", t.last_error);
    SetState(t, TaskState::kFailed);
  }
  if (!stopping_) {
    stopping_ = true;
    stop_reason_ = reason;
  }
}

}  // namespace coordinator
