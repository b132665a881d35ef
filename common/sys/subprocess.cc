// Child processes (see subprocess.h).
#include "common/sys/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace sys {
namespace {

absl::Status ErrnoError(absl::string_view what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case ENOMEM:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

std::string TimeoutMessage(absl::Duration timeout) {
  return absl::StrFormat("did not finish within %g s", absl::ToDoubleSeconds(timeout));
}

// The parent's environment with `overrides` set.
std::vector<std::string> Environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (overrides.count(name) == 0) out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(absl::StrCat(name, "=", value));
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The descriptors a child gets, prepared by the parent (all close-on-exec on
// its side).
struct Plumbing {
  int child_fd[3] = {-1, -1, -1};   // what becomes 0, 1, 2 (-1: inherit)
  int parent_fd[3] = {-1, -1, -1};  // the parent's end of a pipe
  bool stderr_to_stdout = false;

  ~Plumbing() {
    for (int fd : child_fd) {
      if (fd >= 0) ::close(fd);
    }
    for (int fd : parent_fd) {
      if (fd >= 0) ::close(fd);
    }
  }

  absl::Status Set(int target, const Redirect& r) {
    bool input = target == 0;
    switch (r.kind) {
      case Redirect::Kind::kInherit:
        return absl::OkStatus();
      case Redirect::Kind::kStdout:
        if (target != 2) return absl::InvalidArgumentError("only stderr can go to stdout");
        stderr_to_stdout = true;
        return absl::OkStatus();
      case Redirect::Kind::kNull:
      case Redirect::Kind::kFile: {
        const std::string path = r.kind == Redirect::Kind::kNull ? "/dev/null" : r.path;
        int flags = input ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
        child_fd[target] = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
        if (child_fd[target] < 0) return ErrnoError(absl::StrCat("cannot open ", path), errno);
        return absl::OkStatus();
      }
      case Redirect::Kind::kPipe: {
        // Only one pipe is read at a time: a stderr pipe could fill up and
        // block the child.
        if (target == 2) return absl::InvalidArgumentError("stderr cannot be a pipe");
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe", errno);
        child_fd[target] = input ? fds[0] : fds[1];
        parent_fd[target] = input ? fds[1] : fds[0];
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }
};

// The child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void RunChild(const SpawnOptions& o, pid_t parent, const Plumbing& p,
                           const char* program, char** argv, char** envp) {
  if (o.new_process_group) ::setpgid(0, 0);
  if (o.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  for (int target = 0; target < 3; ++target) {
    int fd = p.child_fd[target];
    if (fd < 0) continue;
    if (fd == target) {
      ::fcntl(fd, F_SETFD, 0);  // keep it across exec
    } else if (::dup2(fd, target) < 0) {
      ::_exit(127);
    }
  }
  if (p.stderr_to_stdout && ::dup2(1, 2) < 0) ::_exit(127);
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
  ::execve(program, argv, envp);
  ::_exit(127);
}

}  // namespace

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

ExitStatus ExitStatus::FromWait(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) s.code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) s.signal = WTERMSIG(wstatus);
  return s;
}

std::string ExitStatus::Describe() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal);
  return absl::StrCat("exited with status ", code);
}

bool TryReap(int pid, ExitStatus* status) {
  int wstatus = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &wstatus, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) {
    *status = ExitStatus::FromWait(wstatus);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    *status = ExitStatus{};
    return true;
  }
  return false;
}

absl::StatusOr<ExitStatus> WaitPid(int pid, absl::Duration timeout) {
  ExitStatus status;
  if (timeout == absl::InfiniteDuration()) {
    int wstatus = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &wstatus, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid ? ExitStatus::FromWait(wstatus) : ExitStatus{};
  }
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration nap = absl::Milliseconds(1);
  while (!TryReap(pid, &status)) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError(TimeoutMessage(timeout));
    absl::SleepFor(std::min(nap, left));  // polling: a short first nap, then every 20 ms
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
  return status;
}

absl::StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                             const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to run");
  Plumbing plumbing;
  const Redirect* redirects[3] = {&options.stdin_from, &options.stdout_to, &options.stderr_to};
  for (int target = 0; target < 3; ++target) {
    absl::Status s = plumbing.Set(target, *redirects[target]);
    if (!s.ok()) return s;
  }
  // Everything the child needs is allocated here: after fork it may not
  // allocate.
  std::string program = argv[0];
  if (options.search_path && program.find('/') == std::string::npos) {
    std::string found = FindInPath(program);
    if (!found.empty()) program = found;
  }
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs = Pointers(args);
  std::vector<std::string> env;
  std::vector<char*> env_ptrs;
  char** envp = environ;
  if (!options.env.empty()) {
    env = Environment(options.env);
    env_ptrs = Pointers(env);
    envp = env_ptrs.data();
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork", errno);
  if (pid == 0) RunChild(options, parent, plumbing, program.c_str(), arg_ptrs.data(), envp);
  Subprocess child;
  child.pid_ = pid;
  child.group_ = options.new_process_group;
  std::swap(child.stdin_fd_, plumbing.parent_fd[0]);
  std::swap(child.stdout_fd_, plumbing.parent_fd[1]);
  return child;
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    std::swap(pid_, other.pid_);
    std::swap(group_, other.group_);
    std::swap(reaped_, other.reaped_);
    std::swap(stdin_fd_, other.stdin_fd_);
    std::swap(stdout_fd_, other.stdout_fd_);
  }
  return *this;
}

Subprocess::~Subprocess() {
  CloseFds();
  if (pid_ > 0 && !reaped_) Kill();
}

void Subprocess::CloseFds() {
  CloseStdin();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

void Subprocess::CloseStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

absl::Status Subprocess::ReadStdout(std::string* out, size_t max_bytes, absl::Duration timeout) {
  if (stdout_fd_ < 0) return absl::FailedPreconditionError("stdout is not a pipe");
  absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  size_t got = 0;
  for (;;) {
    int wait_ms = -1;
    if (timeout != absl::InfiniteDuration()) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError(TimeoutMessage(timeout));
      wait_ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
    }
    struct pollfd p = {stdout_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoError("poll", errno);
    if (r == 0) continue;
    ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read", errno);
    if (n == 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      return absl::OkStatus();
    }
    got += static_cast<size_t>(n);
    if (got > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("printed more than ", max_bytes, " bytes"));
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

bool Subprocess::TryWait(ExitStatus* status) {
  if (reaped_ || pid_ <= 0) return false;
  reaped_ = sys::TryReap(pid_, status);
  return reaped_;
}

absl::StatusOr<ExitStatus> Subprocess::Wait(absl::Duration timeout) {
  if (reaped_ || pid_ <= 0) return absl::FailedPreconditionError("no child to wait for");
  absl::StatusOr<ExitStatus> s = WaitPid(pid_, timeout);
  if (s.ok()) reaped_ = true;
  return s;
}

void Subprocess::Signal(int sig) {
  if (reaped_ || pid_ <= 0) return;
  ::kill(group_ ? -pid_ : pid_, sig);
}

ExitStatus Subprocess::Kill() {
  Signal(SIGKILL);
  absl::StatusOr<ExitStatus> s = Wait();
  return s.ok() ? *s : ExitStatus{};
}

int Subprocess::Release() {
  int pid = pid_;
  CloseFds();
  pid_ = -1;
  return pid;
}

absl::StatusOr<RunResult> RunAndWait(const std::vector<std::string>& argv,
                                     const SpawnOptions& options, absl::Duration timeout,
                                     size_t max_output) {
  absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<Subprocess> child = Subprocess::Start(argv, options);
  if (!child.ok()) return child.status();
  RunResult result;
  if (child->stdout_fd() >= 0) {
    absl::Status read = child->ReadStdout(&result.output, max_output, timeout);
    if (!read.ok()) {
      child->Kill();
      return read;
    }
  }
  absl::Duration left = timeout == absl::InfiniteDuration()
                            ? timeout
                            : std::max(deadline - absl::Now(), absl::ZeroDuration());
  absl::StatusOr<ExitStatus> exit = child->Wait(left);
  if (!exit.ok()) {
    child->Kill();
    return absl::DeadlineExceededError(TimeoutMessage(timeout));
  }
  result.exit = *exit;
  return result;
}

}  // namespace sys
