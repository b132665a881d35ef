// Test mode's environment checks, run once by the coordinator before the per-account
// logins: free disk against --min-free-gb, the output directory writable, and server
// reachability: `imapsync --justconnect` when imapsync is in PATH (never with a password
// on its command line; --justconnect needs none), else our own client's TLS connect and
// greeting.
#ifndef MIGRATOR_COORDINATOR_LOCAL_ENVIRONMENT_H_
#define MIGRATOR_COORDINATOR_LOCAL_ENVIRONMENT_H_

#include <string>
#include <vector>

#include "common/config/config.h"

namespace coordinator {

struct CheckResult {
  std::string name;
  bool ok = false;
  std::string detail;
  // A failed fatal check stops the run (exit 3); a failed reachability check does not:
  // every account's login then fails with its own error (exit 1).
  bool fatal = true;
};

std::vector<CheckResult> CheckEnvironment(const config::ServerConfig& server,
                                          const std::string& output_dir, double min_free_gb);

// "check  ok      free disk: ..." lines, one per result.
std::string FormatChecks(const std::vector<CheckResult>& checks);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_LOCAL_ENVIRONMENT_H_
