// The worker's session with the coordinator (the gRPC side lives in
// worker_client.cc; this header has no gRPC include).
//
// RunWorker connects, registers, and carries a WorkerSession (worker/session.h:
// slots, tasks, heartbeats, self-fencing) over the stream: tasks, cancels,
// acks, NoMoreTasks and Shutdown in; requests, heartbeats, progress and
// results out. When the stream breaks it fences itself (cancels every running
// task: the coordinator requeues them) and reconnects with capped exponential
// backoff, giving up after `retry_for` without a successful session.
#ifndef MIGRATOR_WORKER_WORKER_CLIENT_H_
#define MIGRATOR_WORKER_WORKER_CLIENT_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/rpc/transport_security.h"

namespace worker {

struct WorkerClientOptions {
  std::string coordinator;  // "unix:/path" or "host:port"
  std::string worker_id;
  int max_parallel = 4;  // accounts at once
  absl::Duration retry_for = absl::Seconds(60);
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  rpc::TlsMaterial tls;         // mutual TLS to the coordinator, or plaintext
  std::string account_log_dir;  // --log-per-account: one log file per account here
};

// Process exit codes of the worker.
enum WorkerExit {
  kWorkerDone = 0,           // the coordinator said there is no more work (or shutdown)
  kWorkerUsage = 2,          // bad flags
  kWorkerNoCoordinator = 3,  // unreachable / gone for longer than retry_for, or refused
  kWorkerInternal = 4,
  kWorkerStopped = 128 + 15,  // stopped on request (SIGTERM) before the work was done
};

// A request to stop at a clean point, made once from any thread (a signal thread).
// Thread-safe.
class StopRequest {
 public:
  void Request(const std::string& reason);
  bool requested() const;
  // Waits up to `timeout` for the request: true when it was made.
  bool WaitFor(absl::Duration timeout) const;
  // Calls `callback(reason)` when the request is made (at once when it was already
  // made); an empty callback unregisters. The callback runs on the requesting thread.
  void OnRequest(std::function<void(const std::string&)> callback);

 private:
  mutable absl::Mutex mu_;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(const std::string&)> callback_ ABSL_GUARDED_BY(mu_);
};

// Blocks until the worker is done; returns one of WorkerExit. When `stop` is requested
// the running accounts stop at a clean point (between messages) and are reported cancelled,
// so the coordinator requeues them at once; then the stream closes and RunWorker returns
// kWorkerStopped.
int RunWorker(const WorkerClientOptions& options, StopRequest* stop = nullptr);

}  // namespace worker

#endif  // MIGRATOR_WORKER_WORKER_CLIENT_H_
