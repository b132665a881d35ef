// The coordinator's preflight hook: environment checks before any account is
// handed out (a failure means exit code 3). The engine's own checks (IMAP
// reachability, per-account login) run per account on the workers; this is only
// what the coordinator can see.
//   export:          the output dir is created (unless s3:// or a dry run,
//                    which creates nothing); with --min-free-gb F, at least F GB
//                    free there
//   import/validate: the input dir exists (unless s3://)
//   test:            with --min-free-gb F, F GB free at the output dir (or its
//                    nearest existing parent)
#ifndef MIGRATOR_COORDINATOR_LOCAL_PREFLIGHT_H_
#define MIGRATOR_COORDINATOR_LOCAL_PREFLIGHT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/engine.h"

namespace coordinator {

struct PreflightInput {
  engine::Mode mode = engine::Mode::kTest;
  std::string output_dir;
  std::string input_dir;
  double min_free_gb = 0;
  bool dry_run = false;  // nothing is created
};

absl::Status Preflight(const PreflightInput& in);

// Free bytes (for an unprivileged user) on the filesystem holding `path`, or
// its nearest existing ancestor.
absl::StatusOr<uint64_t> FreeBytesAt(const std::string& path);

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& path, int mode);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_LOCAL_PREFLIGHT_H_
