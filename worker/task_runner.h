// Runs accounts on the transfer engine (or an injected AccountRunner), one
// thread per task, and reports through an interface. No gRPC here: the session
// adapter (worker_client.cc) feeds it tasks and forwards what it reports.
//
// Thread-safety: every TaskRunner method may be called from any thread.
// TaskReporter callbacks run on the task threads (concurrently for different
// tasks). Lifetime: the reporter must outlive the runner; the destructor
// cancels every task and joins its thread (after that thread's OnTaskDone has
// returned).
#ifndef MIGRATOR_WORKER_TASK_RUNNER_H_
#define MIGRATOR_WORKER_TASK_RUNNER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/log/log.h"
#include "proto/assignment.h"

namespace worker {

// One assignment of one account, as received from the coordinator.
using TaskSpec = fleetproto::Assignment;

class TaskReporter {
 public:
  virtual ~TaskReporter() = default;
  // Rate-limited by the runner (see TaskRunnerOptions::min_progress_interval).
  virtual void OnTaskProgress(const TaskSpec& spec, const engine::Progress& progress) = 0;
  // Exactly once per started task, from its thread, when it has finished.
  virtual void OnTaskDone(const TaskSpec& spec, const engine::AccountResult& result,
                          absl::Duration elapsed) = 0;
};

// Runs one account to its end (or until `cancel`, at a clean point), on the
// task's thread, reporting progress to `progress` (rate-limited by the runner).
using AccountRunner = std::function<engine::AccountResult(
    const TaskSpec& spec, engine::ProgressListener* progress, const engine::CancelToken& cancel)>;

// The production AccountRunner: opens the task's data location and runs the
// transfer engine on it.
engine::AccountResult RunOnEngine(const TaskSpec& spec, engine::ProgressListener* progress,
                                  const engine::CancelToken& cancel);

struct TaskRunnerOptions {
  explicit TaskRunnerOptions(AccountRunner run = RunOnEngine) : run_account(std::move(run)) {}
  AccountRunner run_account;
  absl::Duration min_progress_interval = absl::Milliseconds(500);  // ≤ 2/s per task
  // Non-empty: each account's log lines also go to its file in this directory
  // (logging::AccountLogPath; appended, a header line per attempt): --log-per-account.
  std::string account_log_dir;
};

class TaskRunner {
 public:
  TaskRunner(TaskRunnerOptions options, TaskReporter* reporter);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Starts `spec` on a new thread. The caller bounds concurrency (the
  // coordinator only hands out as many tasks as the worker asked for).
  // kAlreadyExists when that task id runs at that epoch already. A new epoch
  // of a task that still runs here (an older assignment, fenced) cancels the
  // older one and waits for it to stop before running: one account never runs
  // twice at once in a worker.
  absl::Status Start(TaskSpec spec);
  // Asks one task to stop at a clean point; false when it is not running (at
  // `epoch`, unless epoch is 0: any).
  bool Cancel(uint64_t task_id, uint64_t epoch = 0);
  void CancelAll();
  std::vector<uint64_t> RunningIds() const;
  // (task_id, epoch) of every running task.
  std::vector<std::pair<uint64_t, uint64_t>> RunningLeases() const;
  int running() const;
  // Blocks until no task runs (true) or `timeout` passes (false).
  bool WaitIdle(absl::Duration timeout);

 private:
  struct Slot {
    engine::CancelToken cancel;
    uint64_t epoch = 0;
    std::thread thread;
    bool finished = false;
  };
  void RunOne(const TaskSpec& spec, Slot* slot);
  std::shared_ptr<logging::ThreadLog> OpenAccountLog(const TaskSpec& spec) const;
  engine::AccountResult Execute(const TaskSpec& spec, Slot* slot);
  void WaitForOlderEpochs(const TaskSpec& spec);
  void JoinFinishedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TaskRunnerOptions options_;
  TaskReporter* const reporter_;
  mutable absl::Mutex mu_;
  // By (task_id, epoch).
  std::map<std::pair<uint64_t, uint64_t>, std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace worker

#endif  // MIGRATOR_WORKER_TASK_RUNNER_H_
