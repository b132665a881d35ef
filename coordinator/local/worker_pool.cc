#include "coordinator/local/worker_pool.h"

#include <signal.h>
#include <unistd.h>

#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/sys/subprocess.h"

namespace coordinator {

absl::StatusOr<std::string> FindWorkerBinary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return absl::InternalError("cannot read /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string path = self.substr(0, self.rfind('/') + 1) + "worker";
  if (::access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("worker executable not found at ", path,
                                            " (it must sit next to the coordinator)"));
  }
  return path;
}

namespace {

// "signal 9" / "status 1" (the tail of sys::ExitStatus::Describe).
std::string ShortHow(const std::string& how) {
  size_t space = how.rfind(' ', how.rfind(' ') - 1);
  return space == std::string::npos ? how : how.substr(space + 1);
}

}  // namespace

WorkerPool::WorkerPool(LocalWorkerSpec spec, StartCallback on_start, ExitCallback on_exit)
    : spec_(std::move(spec)), on_start_(std::move(on_start)), on_exit_(std::move(on_exit)) {
  reaper_ = std::thread([this] { ReapLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;  // no respawn from now on
    respawn_due_.clear();
  }
  SignalAll(SIGKILL);
  WaitAllExited(absl::Seconds(10));
  reaper_.join();
}

absl::Status WorkerPool::Spawn(int n) {
  for (int i = 1; i <= n; ++i) {
    std::string id = absl::StrCat("w", i);
    absl::MutexLock lock(&mu_);  // the reaper cannot report the child before on_start_
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
  if (!spec_.account_log_dir.empty()) {
    args.push_back("--log-per-account");
    args.push_back(spec_.account_log_dir);
  }
  // Own process group (a terminal ^C reaches the coordinator only), parent-death signal.
  sys::SpawnOptions options;
  options.new_process_group = true;
  options.die_with_parent = true;
  if (!spec_.stderr_level.empty()) options.env["MIGRATOR_STDERR_LEVEL"] = spec_.stderr_level;
  absl::StatusOr<sys::Subprocess> child = sys::Subprocess::Start(args, options);
  if (!child.ok()) return absl::InternalError(child.status().message());
  int pid = child->Release();  // reaped by ReapLocked
  LOG(INFO) << "spawned worker " << id << " (pid " << pid << ")";
  return pid;
}

void WorkerPool::ReapLoop() {
  while (true) {
    std::vector<WorkerExit> exited;
    {
      absl::MutexLock lock(&mu_);
      if (stop_ && alive_.empty()) return;
      RespawnDueLocked(&exited);
      if (!ReapLocked(&exited) && exited.empty()) {
        auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
        mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(50));
        continue;
      }
    }
    for (const WorkerExit& e : exited) Report(e);
  }
}

bool WorkerPool::ReapLocked(std::vector<WorkerExit>* exited) {
  bool any = false;
  for (auto it = alive_.begin(); it != alive_.end();) {
    sys::ExitStatus status;
    if (sys::TryReap(it->first, &status)) {
      bool can = !status.ok() && respawns_[it->second] < kMaxRespawns;
      exited->push_back(WorkerExit{it->second, it->first, status.Describe(), can});
      it = alive_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

void WorkerPool::RespawnDueLocked(std::vector<WorkerExit>* failed) {
  absl::Time now = absl::Now();
  for (auto it = respawn_due_.begin(); it != respawn_due_.end();) {
    if (stop_ || it->second > now) {
      ++it;
      continue;
    }
    const std::string id = it->first;
    it = respawn_due_.erase(it);
    absl::StatusOr<int> pid = SpawnOne(id);
    if (!pid.ok()) {
      LOG(ERROR) << "cannot respawn worker " << id << ": " << pid.status().message();
      failed->push_back(WorkerExit{
          id, 0, absl::StrCat("could not be respawned: ", pid.status().message()), false});
      continue;
    }
    alive_[*pid] = id;
    on_start_(id, *pid);  // under mu_: reported before it can be reaped
  }
}

void WorkerPool::Report(const WorkerExit& exit) {
  bool respawn = on_exit_(exit) && exit.can_respawn;
  if (!respawn) return;
  absl::MutexLock lock(&mu_);
  if (stop_) return;
  int n = ++respawns_[exit.id];
  LOG(WARNING) << "worker " << exit.id << " (pid " << exit.pid << ") died (" << ShortHow(exit.how)
               << "); respawning (" << n << " of " << kMaxRespawns << ")";
  respawn_due_[exit.id] = absl::Now() + kRespawnBackoff;
}

bool WorkerPool::WaitAllExited(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return alive_.empty() && respawn_due_.empty();
  };
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
