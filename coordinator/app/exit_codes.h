// The coordinator's exit codes and the one place that maps outcomes to them. Everything
// below the app returns absl::Status; the app ends on a status or on the job's outcome,
// and main() turns that into a number here, nowhere else.
#ifndef MIGRATOR_COORDINATOR_APP_EXIT_CODES_H_
#define MIGRATOR_COORDINATOR_APP_EXIT_CODES_H_

#include "absl/status/status.h"
#include "coordinator/core/job.h"

namespace coordinator {

enum ExitCode {
  kExitOk = 0,              // every account ok
  kExitAccountsFailed = 1,  // some account failed, was cancelled or not started
  kExitUsage = 2,           // bad flags or config; --state holds another job
  kExitEnvironment = 3,     // preflight / environment: disk, input, socket, worker binary
  kExitInternal = 4,        // a failure that is nobody's input: fork, /proc, a bug
};

// The exit code of a run that ends on `status`, by its code:
//   OK                                        -> 0
//   kAborted (the job ended with accounts not ok)   -> 1
//   kInvalidArgument, kAlreadyExists          -> 2 (bad usage or config; another job)
//   kFailedPrecondition, kNotFound, kPermissionDenied, kResourceExhausted,
//   kUnavailable, kDeadlineExceeded           -> 3 (the environment)
//   anything else (kInternal, kUnknown, ...)  -> 4
int ExitCodeFor(const absl::Status& status);

// The job's outcome: OK when every account succeeded, else kAborted naming how many did not.
absl::Status JobOutcome(const JobSnapshot& snapshot);

// ExitCodeFor(JobOutcome(snapshot)): 0 or 1.
int ExitCodeFor(const JobSnapshot& snapshot);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_APP_EXIT_CODES_H_
