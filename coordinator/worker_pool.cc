#include "coordinator/worker_pool.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace coordinator {

absl::StatusOr<std::string> FindWorkerBinary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return absl::InternalError("cannot read /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string path = self.substr(0, self.rfind('/') + 1) + "worker";
  if (::access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("worker executable not found at ", path,
                     " (it must sit next to the coordinator)"));
  }
  return path;
}

namespace {

std::string DescribeWait(int status) {
  if (WIFEXITED(status))
    return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  return "ended";
}

}  // namespace

WorkerPool::WorkerPool(LocalWorkerSpec spec, StartCallback on_start,
                       ExitCallback on_exit)
    : spec_(std::move(spec)),
      on_start_(std::move(on_start)),
      on_exit_(std::move(on_exit)) {
  reaper_ = std::thread([this] { ReapLoop(); });
}

WorkerPool::~WorkerPool() {
  SignalAll(SIGKILL);
  WaitAllExited(absl::Seconds(10));
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  reaper_.join();
}

absl::Status WorkerPool::Spawn(int n) {
  for (int i = 1; i <= n; ++i) {
    std::string id = absl::StrCat("w", i);
    absl::MutexLock lock(
        &mu_);  // the reaper cannot report the child before on_start_
    absl::StatusOr<int> pid = SpawnOne(id);
    if (!pid.ok()) return pid.status();
    alive_[*pid] = id;
    on_start_(id, *pid);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> WorkerPool::SpawnOne(const std::string& id) {
  std::vector<std::string> args = {spec_.binary,
                                   "--coordinator",
                                   spec_.coordinator,
                                   "--max-workers",
                                   absl::StrCat(spec_.max_parallel),
                                   "--id",
                                   id};
  if (!spec_.log_file.empty()) {
    args.push_back("--log-file");
    args.push_back(spec_.log_file);
  }
  for (const std::string& a : spec_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {  // child: async-signal-safe calls only
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  LOG(INFO) << "spawned worker " << id << " (pid " << pid << ")";
  return static_cast<int>(pid);
}

void WorkerPool::ReapLoop() {
  while (true) {
    std::vector<std::pair<int, std::string>> exited;
    {
      absl::MutexLock lock(&mu_);
      if (stop_ && alive_.empty()) return;
      for (auto it = alive_.begin(); it != alive_.end();) {
        int status = 0;
        pid_t r = ::waitpid(it->first, &status, WNOHANG);
        if (r == it->first || (r < 0 && errno == ECHILD)) {
          exited.emplace_back(it->first,
                              it->second + "\n" + DescribeWait(status));
          it = alive_.erase(it);
        } else {
          ++it;
        }
      }
      if (exited.empty()) {
        auto wake = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
        mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(50));
        continue;
      }
    }
    for (auto& [pid, text] : exited) {
      size_t nl = text.find('\n');
      on_exit_(text.substr(0, nl), pid, text.substr(nl + 1));
    }
  }
}

bool WorkerPool::WaitAllExited(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto none = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return alive_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

void WorkerPool::SignalAll(int sig) {
  absl::MutexLock lock(&mu_);
  for (const auto& [pid, id] : alive_) ::kill(pid, sig);
}

std::map<std::string, int> WorkerPool::Alive() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int> out;
  for (const auto& [pid, id] : alive_) out[id] = pid;
  return out;
}

}  // namespace coordinator
