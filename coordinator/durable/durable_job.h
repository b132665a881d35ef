// Wiring of the durable job into the coordinator's run: where the state lives,
// refusing another job, "nothing to do", and what a resumed Job starts from.
// No gRPC, no flag parsing (the app's options.cc parses the flags).
#ifndef MIGRATOR_COORDINATOR_DURABLE_DURABLE_JOB_H_
#define MIGRATOR_COORDINATOR_DURABLE_DURABLE_JOB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "coordinator/core/job.h"
#include "coordinator/durable/state_store.h"

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
std::string StatePath(const DurableJobFlags& flags, engine::Mode mode, const std::string& log_dir);

// Opens the state, or returns null when the job is not durable. When the earlier run of
// the same job finished, the state starts over (a new pass). Errors: kInvalidArgument for
// bad flags, kAlreadyExists when the state holds another job (the message names both and
// --fresh), kUnavailable when it cannot be opened.
absl::StatusOr<std::unique_ptr<StateStore>> OpenDurableJob(const DurableJobFlags& flags,
                                                           engine::Mode mode,
                                                           const config::Config& config,
                                                           const std::string& data_location,
                                                           const std::string& log_dir);

// Leases, attempts and (when `store`) the journal and restored rows.
//
// `subset` (--only / --accounts-file): the config indices of the accounts the Job runs, in
// the Job's order (its config holds only those); empty: all of them. The job's identity and
// state file stay those of the whole config: the Job gets the rows of its accounts, and
// its journal writes map back to their rows in the state (the returned adapter, which the
// caller keeps alive as long as the Job; null without a subset). The other accounts' rows
// are left as they are.
std::unique_ptr<JobJournal> ApplyDurableJob(const DurableJobFlags& flags, StateStore* store,
                                            const std::vector<int>& subset, JobOptions* options);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_DURABLE_DURABLE_JOB_H_
