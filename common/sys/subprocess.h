// Child processes: one way to start a program (fork + execve, only
// async-signal-safe calls in the child), set up its standard descriptors, wait
// with a timeout and kill it. No shell is involved unless the caller runs one;
// nothing is logged (a child's output may be a secret: the caller decides what
// to show).
//
// Every child starts with an empty signal mask and SIGPIPE at its default
// action, whatever the parent blocks or ignores. Thread-compatible: a
// Subprocess is used by one thread at a time; starting children from several
// threads at once is safe.
#ifndef MIGRATOR_COMMON_SYS_SUBPROCESS_H_
#define MIGRATOR_COMMON_SYS_SUBPROCESS_H_

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sys {

// Where one of the child's standard descriptors comes from or goes to.
struct Redirect {
  enum class Kind { kInherit, kNull, kPipe, kFile, kStdout };
  Kind kind = Kind::kInherit;
  std::string path;  // kFile

  static Redirect Inherit() { return {}; }
  static Redirect Null() { return {Kind::kNull, ""}; }  // /dev/null
  // stdin or stdout only: the parent holds the other end.
  static Redirect Pipe() { return {Kind::kPipe, ""}; }
  // Opened by the parent (relative to its working directory): read-only for
  // stdin, else created or truncated, mode 0600.
  static Redirect File(std::string p) { return {Kind::kFile, std::move(p)}; }
  static Redirect ToStdout() { return {Kind::kStdout, ""}; }  // stderr only: 2>&1
};

struct SpawnOptions {
  Redirect stdin_from, stdout_to, stderr_to;
  std::string cwd;                         // "" keeps the parent's
  std::map<std::string, std::string> env;  // set on top of the parent's environment
  // argv[0] without a slash is looked up in $PATH (by the parent, before the
  // fork).
  bool search_path = false;
  // Its own process group (setpgid(0, 0)): a terminal's ^C does not reach it,
  // and Signal()/Kill() reach everything it started.
  bool new_process_group = false;
  // PR_SET_PDEATHSIG=SIGTERM: it is told when the spawning *thread* ends. When
  // the parent is already gone by then, the child exits 127 at once.
  bool die_with_parent = false;
};

// How a child ended. A child that cannot be started (exec fails) exits 127; one
// whose working directory cannot be entered, 126.
struct ExitStatus {
  int code = 0;    // exit status (when signal == 0)
  int signal = 0;  // the signal that killed it, else 0

  static ExitStatus FromWait(int wstatus);
  bool ok() const { return signal == 0 && code == 0; }
  // The shell's convention: the exit status, or 128 + the signal.
  int ShellCode() const { return signal != 0 ? 128 + signal : code; }
  // "exited with status 3" / "killed by signal 9".
  std::string Describe() const;
};

// The first executable "<dir>/<name>" of $PATH; "" when there is none.
std::string FindInPath(const std::string& name);

// Reaps `pid` if it has ended, without blocking; true then. A pid that is not
// our child (ECHILD: reaped elsewhere) counts as ended with status 0.
bool TryReap(int pid, ExitStatus* status);
// Waits for `pid` to end, at most `timeout`: kDeadlineExceeded when it still
// runs (it is left running).
absl::StatusOr<ExitStatus> WaitPid(int pid, absl::Duration timeout = absl::InfiniteDuration());

class Subprocess {
 public:
  // Starts argv[0] with `argv`. Fails (kInvalidArgument, or the errno's code)
  // when argv is empty or a redirect, pipe or fork fails.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                          const SpawnOptions& options = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Closes the pipes; a child still running (neither reaped nor released) is
  // killed with SIGKILL and reaped.
  ~Subprocess();

  int pid() const { return pid_; }
  // The parent's end of a kPipe redirect, else -1. Owned by this object.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  void CloseStdin();

  // Appends the child's stdout (a kPipe) to `*out` until EOF, then closes it.
  // kDeadlineExceeded "did not finish within <timeout> s" when `timeout` passes
  // first; kResourceExhausted "printed more than <max_bytes> bytes". The child
  // is left as it is; the messages never quote the output.
  absl::Status ReadStdout(std::string* out, size_t max_bytes,
                          absl::Duration timeout = absl::InfiniteDuration());

  // Reaps the child if it has ended (non-blocking): true then, with `*status`.
  bool TryWait(ExitStatus* status);
  // Waits at most `timeout`; kDeadlineExceeded leaves it running.
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout = absl::InfiniteDuration());
  // Sends `sig` to the child (to its group with new_process_group) unless
  // reaped.
  void Signal(int sig);
  // SIGKILL (as Signal) and reap.
  ExitStatus Kill();
  // Gives up the child: the caller signals and reaps the returned pid itself.
  int Release();

 private:
  Subprocess() = default;
  void CloseFds();

  int pid_ = -1;
  bool group_ = false;
  bool reaped_ = false;
  int stdin_fd_ = -1, stdout_fd_ = -1;
};

struct RunResult {
  ExitStatus exit;
  std::string output;  // stdout, when options.stdout_to is a pipe
};

// Start, read stdout to EOF (kPipe only), wait. Past `timeout` or `max_output`
// the child is killed (SIGKILL; its whole group with new_process_group) and
// reaped, and the status is the one of ReadStdout ("did not finish within ..."
// covers the wait too).
absl::StatusOr<RunResult> RunAndWait(const std::vector<std::string>& argv,
                                     const SpawnOptions& options,
                                     absl::Duration timeout = absl::InfiniteDuration(),
                                     size_t max_output = std::numeric_limits<size_t>::max());

}  // namespace sys

#endif  // MIGRATOR_COMMON_SYS_SUBPROCESS_H_
