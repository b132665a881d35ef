// The worker's side of one session with the coordinator, apart from its
// transport (worker_client.cc carries it over gRPC): slots, the tasks that run
// (each an (account, epoch) assignment), heartbeats and self-fencing. No gRPC
// and no clock of its own: the transport passes the time in, so tests drive it
// by hand.
//
// Slots: Start() asks for one task per slot; every finished task asks for the
// next one, until NoMoreTasks or Shutdown; then, once nothing runs, the session
// closes its writes (the stream's clean end).
//
// Leases: the transport calls Tick(now) at NextHeartbeat(); it sends a
// heartbeat (every heartbeat interval, five per lease as the coordinator sets
// it) naming every (task, epoch) that runs, then fences: when no heartbeat sent
// in the last lease minus two heartbeat intervals has been acknowledged, it
// stops every task at a clean point, before the coordinator can hand them to
// another worker. An ack lifts the fence for the tasks that come next.
//
// Thread-safety: every method may be called from any thread; SessionOutput is
// called from the caller's thread, the task threads and Tick's (concurrently).
// Lifetime: `output` must outlive the session; the destructor cancels every
// task and joins its thread.
#ifndef MIGRATOR_WORKER_SESSION_H_
#define MIGRATOR_WORKER_SESSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/assignment.h"
#include "worker/task_runner.h"

namespace worker {

// What the session sends the coordinator (implemented by the transport).
class SessionOutput {
 public:
  virtual ~SessionOutput() = default;
  virtual void RequestTask() = 0;
  virtual void Heartbeat(uint64_t seq, const std::vector<fleetproto::Lease>& leases) = 0;
  virtual void Progress(const TaskSpec& spec, const engine::Progress& progress) = 0;
  virtual void Result(const TaskSpec& spec, const engine::AccountResult& result,
                      absl::Duration elapsed) = 0;
  // Nothing more to send: ends the stream cleanly. Called at most once.
  virtual void CloseWrites() = 0;
};

struct SessionOptions {
  int max_parallel = 4;      // slots: accounts at once
  TaskRunnerOptions runner;  // runs the accounts (the engine by default)
};

class WorkerSession : private TaskReporter {
 public:
  WorkerSession(SessionOptions options, SessionOutput* output);
  ~WorkerSession() override;
  WorkerSession(const WorkerSession&) = delete;
  WorkerSession& operator=(const WorkerSession&) = delete;

  // The coordinator welcomed us at `now`: the lease clock starts and one task
  // is asked for per slot. A zero heartbeat interval keeps the default (5 s); a
  // zero lease turns self-fencing off.
  void Start(absl::Duration heartbeat_interval, absl::Duration lease, absl::Time now);

  // A Task; `valid` is what reading it said (a task without a valid mode fails
  // at once, as does one that runs here already at that epoch).
  void OnTask(TaskSpec spec, const absl::Status& valid);
  void OnCancel(const fleetproto::CancelRequest& cancel);
  void OnHeartbeatAck(uint64_t seq);
  void OnNoMoreTasks();
  void OnShutdown(const std::string& reason);
  // This process is asked to stop (SIGTERM): every task stops at a clean point and is
  // reported cancelled (the coordinator requeues it); a task that arrives after this is
  // reported cancelled without running; the stream closes once none is left.
  void OnStop(const std::string& reason);
  // The stream broke (not a clean end): stops every task at a clean point (the
  // coordinator reassigns them).
  void OnStreamBroken();

  // When Tick is due next.
  absl::Time NextHeartbeat() const;
  // Sends the heartbeat when due, then fences when the lease is lost.
  void Tick(absl::Time now);

  absl::Duration heartbeat_interval() const;
  bool fenced() const;
  int running() const { return runner_->running(); }
  // Blocks until no task runs (true) or `timeout` passes (false).
  bool WaitIdle(absl::Duration timeout) { return runner_->WaitIdle(timeout); }

 private:
  // TaskReporter (task threads).
  void OnTaskProgress(const TaskSpec& spec, const engine::Progress& progress) override;
  void OnTaskDone(const TaskSpec& spec, const engine::AccountResult& result,
                  absl::Duration elapsed) override;
  void NoMoreWork(bool shutdown, const std::string& reason);
  void CloseWritesOnce();
  void FenceIfLeaseLost(absl::Time now);

  const int max_parallel_;
  SessionOutput* const output_;

  mutable absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;  // tasks taken and not yet reported
  bool no_more_ ABSL_GUARDED_BY(mu_) = false;
  std::string stopping_ ABSL_GUARDED_BY(mu_);  // OnStop's reason; empty: not stopping
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  // Leases: measured from the send time of the last acknowledged heartbeat.
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  absl::Duration lease_ ABSL_GUARDED_BY(mu_);  // zero: no lease
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t heartbeat_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, absl::Time> heartbeat_sent_ ABSL_GUARDED_BY(mu_);
  absl::Time acked_sent_at_ ABSL_GUARDED_BY(mu_);
  bool fenced_ ABSL_GUARDED_BY(mu_) = false;

  // Last member: destroyed first, joining the task threads that call back.
  std::unique_ptr<TaskRunner> runner_;
};

}  // namespace worker

#endif  // MIGRATOR_WORKER_SESSION_H_
