// Local worker processes: spawns `worker` children (fork + exec, no secret on
// their command lines), reaps them with waitpid and reports each exit through a
// callback. A child that ended abnormally (non-zero status or a signal) is
// started again with the same id when the exit callback asks for it, after
// kRespawnBackoff, at most kMaxRespawns times per id.
//
// Children get their own process group (a terminal ^C reaches the coordinator
// only, which then cancels cleanly), an empty signal mask, and
// PR_SET_PDEATHSIG=SIGTERM (they die if the coordinator dies). Spawn() must be
// called from the thread that lives longest (the main thread): the parent-death
// signal is tied to the spawning thread. Respawns run on the reaper thread,
// which outlives every child (it ends only once all are reaped).
//
// Thread-safety: all methods may be called from any thread; the exit callback
// runs on the pool's reaper thread.
#ifndef MIGRATOR_COORDINATOR_LOCAL_WORKER_POOL_H_
#define MIGRATOR_COORDINATOR_LOCAL_WORKER_POOL_H_

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
  std::string binary;           // path of the worker executable
  std::string coordinator;      // "unix:/path" the children connect to
  int max_parallel = 4;         // --max-workers of each child
  std::string log_file;         // --log-file of each child (may be empty)
  std::string account_log_dir;  // --log-per-account of each child (may be empty)
  // MIGRATOR_STDERR_LEVEL of each child (common/log/log.h), e.g. "error": the children's
  // detailed log then goes to log_file only, not to the terminal they share with the
  // coordinator. Empty: inherited.
  std::string stderr_level;
};

// "<dir of /proc/self/exe>/worker"; kNotFound when it is not there / not
// executable.
absl::StatusOr<std::string> FindWorkerBinary();

// Respawns of one worker id over the pool's life, and the wait before each.
inline constexpr int kMaxRespawns = 3;
inline constexpr absl::Duration kRespawnBackoff = absl::Milliseconds(500);

// One reaped (or unstartable) child.
struct WorkerExit {
  std::string id;
  int pid = 0;
  std::string how;  // "exited with status 0" / "killed by signal 9"
  // Abnormal end and respawns left: the callback may ask for a respawn.
  bool can_respawn = false;
};

class WorkerPool {
 public:
  // Returns true to have the pool start `id` again (honoured only when
  // can_respawn).
  using ExitCallback = std::function<bool(const WorkerExit&)>;
  // Called after each successful spawn, before the child can possibly be
  // reaped.
  using StartCallback = std::function<void(const std::string&, int)>;

  WorkerPool(LocalWorkerSpec spec, StartCallback on_start, ExitCallback on_exit);
  // Kills (SIGKILL) and reaps whatever still runs.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Spawns `n` workers with ids "w1".."wn".
  absl::Status Spawn(int n);
  // True when every child has been reaped (and no respawn is due) within
  // `timeout`.
  bool WaitAllExited(absl::Duration timeout);
  void SignalAll(int sig);
  std::map<std::string, int> Alive() const;  // id → pid

 private:
  absl::StatusOr<int> SpawnOne(const std::string& id);
  void ReapLoop();
  // Reaps the children that ended; true when some did.
  bool ReapLocked(std::vector<WorkerExit>* exited) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the respawns that are due; a failed one is reported in `failed`.
  void RespawnDueLocked(std::vector<WorkerExit>* failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reports an exit and schedules its respawn when asked for.
  void Report(const WorkerExit& exit);

  const LocalWorkerSpec spec_;
  const StartCallback on_start_;
  const ExitCallback on_exit_;
  mutable absl::Mutex mu_;
  std::map<int, std::string> alive_ ABSL_GUARDED_BY(mu_);  // pid → id
  std::map<std::string, absl::Time> respawn_due_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> respawns_ ABSL_GUARDED_BY(mu_);  // id → count
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_LOCAL_WORKER_POOL_H_
