// Wiring of the durable job into the coordinator's run: where the state lives,
// refusing another job, "nothing to do", and what a resumed Job starts from.
// No gRPC, no flags (main.cc reads them).
#ifndef MIGRATOR_COORDINATOR_DURABLE_JOB_H_
#define MIGRATOR_COORDINATOR_DURABLE_JOB_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "coordinator/job.h"
#include "coordinator/state_store.h"

namespace coordinator {

struct DurableJobFlags {
  std::string state;  // --state: "" = default for the mode, "none" = off
  bool fresh = false;
  absl::Duration lease_timeout = absl::Seconds(30);
  int max_attempts = 3;
};

// The state file for this run, or "" when the job is not durable: --state if
// given; else <log-dir>/<mode>.state.sqlite for export and import (the modes
// that move mail); test and validate are checks that run in full each time.
std::string StatePath(const DurableJobFlags& flags, engine::Mode mode,
                      const std::string& log_dir);

// Opens the state (when there is one). Returns -1 to go on, or the exit code
// to end with now: 2 another job on that state (message printed), 3 cannot
// open it, 0 a finished job with nothing left to do (says so).
int OpenDurableJob(const DurableJobFlags& flags, engine::Mode mode,
                   const config::Config& config,
                   const std::string& data_location, const std::string& log_dir,
                   std::unique_ptr<StateStore>* store);

// Leases, attempts and (when `store`) the journal and restored rows.
void ApplyDurableJob(const DurableJobFlags& flags, StateStore* store,
                     JobOptions* options);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_DURABLE_JOB_H_
