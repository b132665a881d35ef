// One run of the coordinator, from parsed options to the job's outcome: load the config,
// open the log and the durable state, preflight, serve, spawn local workers, wait, drain,
// and conclude (summary table on stdout, JSON report, import template after an export).
#ifndef MIGRATOR_COORDINATOR_APP_RUN_H_
#define MIGRATOR_COORDINATOR_APP_RUN_H_

#include "absl/status/status.h"
#include "coordinator/app/options.h"

namespace coordinator {

// Runs the job `options` describe. OK when every account succeeded; kAborted when the job
// ended with accounts not ok; otherwise the failure that stopped the run, its code chosen
// for ExitCodeFor() (config problems are kInvalidArgument whatever the cause).
// Call sys::SignalThread::BlockStopSignals() before.
absl::Status RunCoordinator(Options options);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_APP_RUN_H_
