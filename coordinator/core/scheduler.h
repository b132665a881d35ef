// The scheduling core: one task per account, handed out on request (pull
// model). Every assignment carries a fresh epoch (fencing: a result or progress
// report must name the current epoch) and a lease that the worker renews; an
// expired lease puts the task back in the queue. Retriable failures are retried
// with capped exponential backoff up to max_attempts; others fail at once.
// Ready tasks go out largest first once their size is known (unknown sizes
// after every known one, in config order).
//
// Limits (README "Budgets", SetLimits): an assignment gets the connections its account's
// key has left fleet-wide (ConnectionLedger; none left: the task waits), and a byte budget
// per window. The window opens at the first assignment after the last one closed and lasts
// `budget_window`; what is spent in it is charged from results (and from the progress of a
// lost assignment). A run that stops because the budget is spent is parked (Park): pending
// until the window reopens, not an attempt, others run meanwhile.
//
// Plain logic: no clock of its own (every call that needs time takes `now`), no
// threads, no I/O. Not thread-safe; Job serialises calls.
#ifndef MIGRATOR_COORDINATOR_CORE_SCHEDULER_H_
#define MIGRATOR_COORDINATOR_CORE_SCHEDULER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coordinator/core/connection_ledger.h"

namespace coordinator {

enum class TaskState { kPending, kRunning, kSucceeded, kFailed, kCancelled };
// "pending", "running", "succeeded", "failed", "cancelled": the status API's words, used
// in logs, the summary, the JSON report and the durable state.
const char* TaskStateName(TaskState state);
bool IsTerminal(TaskState state);

struct TaskInfo {
  uint64_t task_id = 0;  // account index + 1
  int account_index = 0;
  std::string email;
  TaskState state = TaskState::kPending;
  std::string worker_id;  // current (running) or last worker
  uint64_t epoch = 0;     // of the current / last assignment; 0 = never
  uint32_t attempts = 0;  // assignments so far in this run
  std::string last_error;
  uint64_t size = 0;         // messages in the account; 0 = unknown
  absl::Time lease_expires;  // while running
  absl::Time not_before;     // while pending: backoff before the next attempt
  bool earlier_run = false;  // succeeded in an earlier run of a durable job
  // ---- limits (README "Budgets") ----
  int connections = 0;                             // running: connections granted (0: the config's)
  uint64_t budget_bytes = 0;                       // the byte budget per window; 0: none
  absl::Time window_start = absl::InfinitePast();  // the open window; InfinitePast: none
  uint64_t budget_spent = 0;                       // in that window
  // Pending with its budget spent: waits until then (the window's end). InfinitePast: not
  // parked.
  absl::Time parked_until = absl::InfinitePast();
  bool parked(absl::Time now) const { return state == TaskState::kPending && parked_until > now; }
};

// The limits of one account (Scheduler::SetLimits).
struct AccountLimitSpec {
  std::string connection_key;  // config::ConnectionKey; accounts sharing it share the limit
  int max_connections = 0;     // fleet-wide for the key; 0: not enforced (the config's)
  uint64_t budget_bytes = 0;   // per window, in the mode's direction; 0: no budget
};

struct Assignment {
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  uint32_t attempt = 0;
  int account_index = 0;
  int connections = 0;                                 // granted; 0: the config's
  uint64_t budget_bytes = 0;                           // 0: no budget
  uint64_t budget_spent = 0;                           // in the window before this assignment
  absl::Time budget_resume_at = absl::InfinitePast();  // the window's end
};

// "Tell `worker_id` to stop task_id@epoch."
struct CancelOrder {
  std::string worker_id;
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  std::string reason;
};

struct SchedulerOptions {
  bool fail_fast = true;      // the first final account failure stops the job
  uint32_t max_attempts = 3;  // assignments per task, retries included
  absl::Duration lease = absl::Seconds(30);
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(30);
  absl::Duration budget_window = absl::Hours(24);  // server.budget_window_seconds
  // How long the connections of an assignment whose lease ran out stay counted when its
  // worker says nothing more (zero: `lease`): the worker fences itself before the lease ends
  // and stops at a clean point; this covers the stop.
  absl::Duration stale_hold = absl::ZeroDuration();
};

// True for failures worth another attempt: kUnavailable, kDeadlineExceeded,
// kAborted, and kCancelled when the job is not stopping (a worker that gave up
// its lease or shut down).
bool IsRetriable(const absl::Status& status, bool stopping);

// Backoff before attempt `attempts + 1`: initial * 2^(attempts-1), capped.
absl::Duration Backoff(const SchedulerOptions& options, uint32_t attempts);

class Scheduler {
 public:
  enum class Outcome { kStale, kSucceeded, kRetry, kFailed, kCancelled, kParked };

  Scheduler(const std::vector<std::string>& emails, SchedulerOptions options);

  // ---- restoring a durable job (before the first Next) ----
  void RestoreSucceeded(uint64_t task_id, const std::string& note);
  // Epochs handed out from now on are > `epoch` (monotonic across restarts).
  void SetMinEpoch(uint64_t epoch);

  // Records an account's size (messages); reorders the queue if pending.
  void SetSize(uint64_t task_id, uint64_t size);

  // ---- limits (README "Budgets") ----
  // Before the first Next. Without: no connection accounting, no budget.
  void SetLimits(uint64_t task_id, const AccountLimitSpec& spec);
  // A durable job's budget of the account (before the first Next): the window and what was
  // spent in it; parked until `parked_until` when that is after `now`.
  void RestoreBudget(uint64_t task_id, absl::Time window_start, uint64_t spent,
                     absl::Time parked_until, absl::Time now);
  // Counts `bytes` moved by an assignment of task_id against its open window (a queued task
  // whose budget this spends is parked).
  void Charge(uint64_t task_id, uint64_t bytes, absl::Time now);
  // task_id@epoch stopped because its budget is spent (after Charge): pending until its
  // window ends, its attempt given back. kStale when not current.
  Outcome Park(uint64_t task_id, uint64_t epoch, absl::Time now);
  // A stale result of task_id@epoch arrived: its old run is over (its connections too).
  bool StaleRunEnded(uint64_t task_id, uint64_t epoch);
  // A heartbeat of `worker_id` naming what it runs: stale assignments it still names stay
  // counted, the others are released. True when connections were released.
  bool WorkerRuns(const std::string& worker_id, const std::set<std::pair<uint64_t, uint64_t>>& held,
                  absl::Time now);
  // Stale connections held past their time are released; true when some were.
  bool ExpireStaleConnections(absl::Time now);
  const ConnectionLedger& connections() const { return ledger_; }

  // The next ready task for `worker_id` (marked running, leased until now +
  // lease), or nullopt when none is ready or the job is stopping.
  std::optional<Assignment> Next(const std::string& worker_id, absl::Time now);

  // Applies a result. kStale (nothing changed) when the task is unknown, not
  // running, or not at `epoch`. A retriable failure requeues the task with
  // backoff while attempts remain. A final failure under fail-fast stops the
  // job and appends cancel orders for the other running tasks.
  Outcome Complete(uint64_t task_id, uint64_t epoch, const absl::Status& status, absl::Time now,
                   std::vector<CancelOrder>* cancels);

  // Extends the lease of task_id@epoch held by `worker_id`; false when stale.
  bool Renew(uint64_t task_id, uint64_t epoch, const std::string& worker_id, absl::Time now);

  // Every running task whose lease has expired is lost (see Lose). Returns the
  // ids it touched.
  std::vector<uint64_t> ExpireLeases(absl::Time now, std::vector<CancelOrder>* cancels);

  // The worker is certainly gone (its process exited): each of its running
  // tasks is lost now. Returns the ids it touched.
  std::vector<uint64_t> WorkerLost(const std::string& worker_id, const std::string& why,
                                   absl::Time now, std::vector<CancelOrder>* cancels);

  // No new work: pending tasks become cancelled ("not started: <reason>");
  // running ones get cancel orders. Idempotent (the first reason is kept).
  void Stop(const std::string& reason, std::vector<CancelOrder>* cancels);

  // Every pending or running task fails with `reason` (no live workers, forced
  // stop).
  void FailRemaining(const std::string& reason);

  bool finished() const {
    return count(TaskState::kPending) == 0 && count(TaskState::kRunning) == 0;
  }
  // Tasks in `state` now.
  size_t count(TaskState state) const { return counts_[static_cast<int>(state)]; }
  // The indices of the tasks whose state changed since the last call (repeats possible):
  // a queue for a reader's caches (Job's totals), drained by that reader; const because
  // it is no part of the scheduling state.
  std::vector<size_t> TakeChanged() const { return std::exchange(changed_, {}); }
  bool stopping() const { return stopping_; }
  const std::string& stop_reason() const { return stop_reason_; }
  bool has_pending() const { return count(TaskState::kPending) > 0; }
  // A pending task may start now (its backoff has passed).
  bool HasReady(absl::Time now) const;
  // The earliest lease expiry, backoff end, park end or stale connection hold; InfiniteFuture
  // when none.
  absl::Time NextDeadline() const;
  const std::vector<TaskInfo>& tasks() const { return tasks_; }
  // Indices of the running tasks (a few per worker slot, not a walk over every task).
  const std::set<size_t>& running() const { return running_; }
  const TaskInfo* Find(uint64_t task_id) const;
  // True when task_id@epoch is the running assignment.
  bool IsCurrent(uint64_t task_id, uint64_t epoch) const;
  uint64_t max_epoch() const { return next_epoch_ - 1; }

 private:
  // (0 known / 1 unknown, size descending, config order)
  using ReadyKey = std::tuple<int, uint64_t, size_t>;
  static ReadyKey KeyOf(const TaskInfo& t);

  TaskInfo* Mutable(uint64_t task_id);
  void SetState(TaskInfo& t, TaskState s);
  void Enqueue(TaskInfo& t, absl::Time not_before, absl::Time now);
  void Dequeue(const TaskInfo& t);
  void PromoteDue(absl::Time now);
  void Lose(TaskInfo& t, const std::string& why, absl::Time now, std::vector<CancelOrder>* cancels);
  void FailTask(TaskInfo& t, const std::string& reason, std::vector<CancelOrder>* cancels);
  // The next ready task whose connections are free (taken out of ready_). Null when none.
  TaskInfo* PickReady();
  // Opens (or rolls over) the task's budget window at `now`.
  void OpenWindow(TaskInfo& t, absl::Time now);
  void ParkUntilWindowEnd(TaskInfo& t, absl::Time now);
  void ReleaseConnections(const TaskInfo& t);
  // Its key's connections are all held (ConnectionLedger).
  bool Blocked(const TaskInfo& t) const;
  absl::Duration StaleHold() const;

  const SchedulerOptions options_;
  std::vector<TaskInfo> tasks_;
  std::set<ReadyKey> ready_;                         // may start now
  std::set<std::pair<absl::Time, size_t>> delayed_;  // backoff, by due time
  std::vector<AccountLimitSpec> limits_;             // by task_id - 1
  ConnectionLedger ledger_;
  uint64_t next_epoch_ = 1;
  size_t counts_[5] = {};                // tasks by TaskState
  mutable std::vector<size_t> changed_;  // TakeChanged
  std::set<size_t> running_;             // indices of the running tasks
  bool stopping_ = false;
  std::string stop_reason_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_CORE_SCHEDULER_H_
