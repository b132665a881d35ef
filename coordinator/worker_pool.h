// Local worker processes: spawns `worker` children (fork + exec, no secret on
// their command lines), reaps them with waitpid and reports each exit through a
// callback.
//
// Children get their own process group (a terminal ^C reaches the coordinator
// only, which then cancels cleanly), an empty signal mask, and
// PR_SET_PDEATHSIG=SIGTERM (they die if the coordinator dies). Spawn() must be
// called from the thread that lives longest (the main thread): the parent-death
// signal is tied to the spawning thread.
//
// Thread-safety: all methods may be called from any thread; the exit callback
// runs on the pool's reaper thread.
#ifndef MIGRATOR_COORDINATOR_WORKER_POOL_H_
#define MIGRATOR_COORDINATOR_WORKER_POOL_H_

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coordinator {

struct LocalWorkerSpec {
  std::string binary;       // path of the worker executable
  std::string coordinator;  // "unix:/path" the children connect to
  int max_parallel = 4;     // --max-workers of each child
  std::string log_file;     // --log-file of each child (may be empty)
  std::vector<std::string> extra_args;  // e.g. the TEST ONLY --test-hold-tasks
};

// "<dir of /proc/self/exe>/worker"; kNotFound when it is not there / not
// executable.
absl::StatusOr<std::string> FindWorkerBinary();

class WorkerPool {
 public:
  // (worker id, pid, "exited with status 0" / "killed by signal 9")
  using ExitCallback =
      std::function<void(const std::string&, int, const std::string&)>;
  // Called after each successful spawn, before the child can possibly be
  // reaped.
  using StartCallback = std::function<void(const std::string&, int)>;

  WorkerPool(LocalWorkerSpec spec, StartCallback on_start,
             ExitCallback on_exit);
  // Kills (SIGKILL) and reaps whatever still runs.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Spawns `n` workers with ids "w1".."wn".
  absl::Status Spawn(int n);
  // True when every child has been reaped within `timeout`.
  bool WaitAllExited(absl::Duration timeout);
  void SignalAll(int sig);
  std::map<std::string, int> Alive() const;  // id → pid

 private:
  absl::StatusOr<int> SpawnOne(const std::string& id);
  void ReapLoop();

  const LocalWorkerSpec spec_;
  const StartCallback on_start_;
  const ExitCallback on_exit_;
  mutable absl::Mutex mu_;
  std::map<int, std::string> alive_ ABSL_GUARDED_BY(mu_);  // pid → id
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_WORKER_POOL_H_
