// AccountRunners for tests of the worker (header-only, test-only).
#ifndef MIGRATOR_WORKER_TESTING_ACCOUNT_RUNNERS_H_
#define MIGRATOR_WORKER_TESTING_ACCOUNT_RUNNERS_H_

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "worker/task_runner.h"

namespace worker::testing {

// Holds its account until it is cancelled, then reports kCancelled: the task
// stays running as long as the test wants.
inline engine::AccountResult HoldUntilCancelled(const TaskSpec&, engine::ProgressListener*,
                                                const engine::CancelToken& cancel) {
  while (!cancel.cancelled()) absl::SleepFor(absl::Milliseconds(5));  // polling interval
  engine::AccountResult result;
  result.status = absl::CancelledError("cancelled while held");
  return result;
}

}  // namespace worker::testing

#endif  // MIGRATOR_WORKER_TESTING_ACCOUNT_RUNNERS_H_
