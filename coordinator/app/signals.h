// Signals of the coordinator: SIGINT/SIGTERM are blocked in every thread (BlockSignals()
// before any thread starts) and taken by one thread with sigwait: the first stops the job
// cleanly, the second forces it; after the job finished (--linger) one ends the serving.
#ifndef MIGRATOR_COORDINATOR_APP_SIGNALS_H_
#define MIGRATOR_COORDINATOR_APP_SIGNALS_H_

#include <signal.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "coordinator/core/job.h"

namespace coordinator {

class SignalWatcher {
 public:
  // Blocks SIGINT, SIGTERM and SIGUSR1 (the watcher's own wake-up) in the calling thread
  // and so in every thread it starts later.
  static void BlockSignals();

  // `job` must outlive the watcher.
  explicit SignalWatcher(Job* job);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // --linger: blocks until SIGINT/SIGTERM arrives after the job finished.
  void WaitForSignalAfterFinish() { signalled_.WaitForNotification(); }

 private:
  static sigset_t Set();
  void Loop(Job* job);

  absl::Notification signalled_;
  std::thread thread_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_APP_SIGNALS_H_
