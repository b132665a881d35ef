// Signals of the coordinator (taken on a thread of their own, see common/sys/signals.h):
// the first SIGINT/SIGTERM stops the job cleanly, the second forces it; after the job
// finished (--linger) one ends the serving.
#ifndef MIGRATOR_COORDINATOR_APP_SIGNALS_H_
#define MIGRATOR_COORDINATOR_APP_SIGNALS_H_

#include <atomic>

#include "absl/synchronization/notification.h"
#include "common/sys/signals.h"
#include "coordinator/core/job.h"

namespace coordinator {

class SignalWatcher {
 public:
  // Call sys::SignalThread::BlockStopSignals() before any thread starts. `job` must
  // outlive the watcher.
  explicit SignalWatcher(Job* job);

  // --linger: blocks until SIGINT/SIGTERM arrives after the job finished.
  void WaitForSignalAfterFinish() { signalled_.WaitForNotification(); }

 private:
  void OnSignal(Job* job, int sig);

  absl::Notification signalled_;
  std::atomic<int> stops_{0};
  sys::SignalThread thread_;  // last: its thread uses the members above
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_APP_SIGNALS_H_
