// The scheduling core: one task per account, handed out on request (pull
// model), with attempts, per-assignment epochs (fencing: a result or progress
// report must name the current epoch), requeue-once on worker loss, and
// fail-fast.
//
// Plain logic: no clock, no threads, no I/O. Not thread-safe; Job serialises
// calls.
#ifndef MIGRATOR_COORDINATOR_SCHEDULER_H_
#define MIGRATOR_COORDINATOR_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace coordinator {

enum class TaskState { kPending, kRunning, kSucceeded, kFailed, kCancelled };
const char* TaskStateName(TaskState state);
bool IsTerminal(TaskState state);

struct TaskInfo {
  uint64_t task_id = 0;  // account index + 1
  int account_index = 0;
  std::string email;
  TaskState state = TaskState::kPending;
  std::string worker_id;  // current (running) or last worker
  uint64_t epoch = 0;  // of the current / last assignment; 0 = never assigned
  uint32_t attempts = 0;  // assignments so far
  std::string last_error;
};

struct Assignment {
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  uint32_t attempt = 0;
  int account_index = 0;
};

// "Tell `worker_id` to stop task_id@epoch."
struct CancelOrder {
  std::string worker_id;
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  std::string reason;
};

struct SchedulerOptions {
  bool fail_fast = true;  // the first account failure stops the job
  uint32_t max_attempts =
      2;  // assignments per task before "worker died" is final
};

class Scheduler {
 public:
  Scheduler(const std::vector<std::string>& emails, SchedulerOptions options);

  // The next pending task for `worker_id` (marked running), or nullopt when
  // none is pending or the job is stopping.
  std::optional<Assignment> Next(const std::string& worker_id);

  // Applies a result. Returns false (and changes nothing) when stale: unknown
  // task, not running, or not the current epoch. A failure under fail-fast
  // stops the job and appends cancel orders for the other running tasks.
  bool Complete(uint64_t task_id, uint64_t epoch, const absl::Status& status,
                std::vector<CancelOrder>* cancels);

  // The worker is gone: each of its running tasks is requeued (front of the
  // queue) while attempts < max_attempts and the job is not stopping, else
  // failed "worker died". Returns the ids of the tasks it touched.
  std::vector<uint64_t> WorkerLost(const std::string& worker_id,
                                   const std::string& why,
                                   std::vector<CancelOrder>* cancels);

  // No new work: pending tasks become cancelled ("not started: <reason>");
  // running ones get cancel orders. Idempotent (the first reason is kept).
  void Stop(const std::string& reason, std::vector<CancelOrder>* cancels);

  // Every pending or running task fails with `reason` (no live workers, forced
  // stop).
  void FailRemaining(const std::string& reason);

  bool finished() const { return pending_ == 0 && running_ == 0; }
  bool stopping() const { return stopping_; }
  const std::string& stop_reason() const { return stop_reason_; }
  bool has_pending() const { return !queue_.empty(); }
  const std::vector<TaskInfo>& tasks() const { return tasks_; }
  const TaskInfo* Find(uint64_t task_id) const;
  // True when task_id@epoch is the running assignment.
  bool IsCurrent(uint64_t task_id, uint64_t epoch) const;

 private:
  TaskInfo* Mutable(uint64_t task_id);
  void SetState(TaskInfo& t, TaskState s);
  void FailTask(TaskInfo& t, const std::string& reason,
                std::vector<CancelOrder>* cancels);

  const SchedulerOptions options_;
  std::vector<TaskInfo> tasks_;
  std::deque<size_t> queue_;  // indexes of pending tasks, next first
  uint64_t next_epoch_ = 1;
  size_t pending_ = 0;
  size_t running_ = 0;
  bool stopping_ = false;
  std::string stop_reason_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_SCHEDULER_H_
