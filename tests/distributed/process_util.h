// Helpers for process-level tests: run the real binaries with a bounded wait,
// poll with deadlines, inspect files and /proc. Test-only; Linux-only.
#ifndef MIGRATOR_TESTS_DISTRIBUTED_PROCESS_UTIL_H_
#define MIGRATOR_TESTS_DISTRIBUTED_PROCESS_UTIL_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fleettest {

// $MIGRATOR_BINARY_DIR/bin/<name> (set by ctest).
std::string Binary(const std::string& name);
// For programs run by hand (benchmarks in build/tests/): MIGRATOR_BINARY_DIR, when unset,
// becomes the build directory this program is in.
void DefaultBinaryDirToThisProgram();

// A fresh directory under /tmp (short: Unix socket paths are limited to 107
// bytes).
std::string MakeTempDir();

// A loopback TCP port nothing listens on (bound, then closed).
int UnusedLoopbackPort();

struct Process {
  int pid = -1;
  std::string stdout_path, stderr_path;
};

// Starts argv[0] (looked up in $PATH when it has no slash) with args in `cwd`,
// extra environment `env`, output to files in cwd ("<tag>.stdout",
// "<tag>.stderr"). pid -1 when it cannot be started.
Process Start(const std::vector<std::string>& argv, const std::string& cwd,
              const std::map<std::string, std::string>& env, const std::string& tag);

// Waits up to `timeout`; returns the exit code, 128+signal, or -1 on timeout
// (then the process is killed with SIGKILL and reaped).
int Wait(const Process& p, absl::Duration timeout);

// Start + Wait.
int RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
               const std::map<std::string, std::string>& env, const std::string& tag,
               absl::Duration timeout, Process* out = nullptr);

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes
// (false).
bool PollUntil(const std::function<bool()>& condition, absl::Duration timeout);

std::string ReadFile(const std::string& path);
// Creates or replaces `path` with `text` (permissions `mode`); false on any error.
bool WriteFile(const std::string& path, const std::string& text, int mode = 0600);
// Every byte the runs under `dir` wrote: the .stdout and .stderr of Start, and every file
// under a logs/ folder (run logs, reports). For searching them for secrets.
std::string AllRunOutput(const std::string& dir);
// Every regular file under `dir`, recursively.
std::vector<std::string> FilesUnder(const std::string& dir);
// Files matching "<dir>/*<suffix>".
std::vector<std::string> Glob(const std::string& dir, const std::string& suffix);
// The JSON report of the latest run of `mode` in `log_dir` (the newest file: names of runs
// within the same second get a "-2" suffix, which does not sort after the first); "" when
// there is none.
std::string NewestReport(const std::string& log_dir, const std::string& mode);
int FileMode(const std::string& path);  // -1 when missing
// PIDs of live (non-zombie) processes whose command line contains `needle`.
std::vector<int> ProcessesMentioning(const std::string& needle);

}  // namespace fleettest

#endif  // MIGRATOR_TESTS_DISTRIBUTED_PROCESS_UTIL_H_
