// The job: the scheduler plus everything the coordinator knows about a run
// (connected workers, per-account progress and results), thread-safe. The gRPC
// adapter (coordinator_service.cc) turns stream events into calls here; Job
// answers through WorkerLink, an interface the adapter implements. No gRPC in
// here.
//
// Leases: every assignment is leased for `lease_timeout`, renewed by the
// worker's heartbeats (and by its progress). Tick() (called by an internal
// ticker thread, or by tests with a fake clock) expires leases: their tasks go
// back to the queue. A broken stream alone does not release its tasks before
// the lease expires (the worker may still be running them); a local worker
// process that exited does, at once (the same requeue as a lease expiry), and
// may be respawned under the same id while the job has work. Stale results and
// progress (an old epoch) are rejected, counted, and answered with a Cancel for
// that epoch.
//
// Thread-safety: every method may be called from any thread. Job calls
// WorkerLink methods while holding its own lock: links must only enqueue (never
// block, never call back into Job). Lifetime: a link is used from Connect()
// until Disconnect() for it returns, or until its local worker process is
// reported exited; never after.
#ifndef MIGRATOR_COORDINATOR_CORE_JOB_H_
#define MIGRATOR_COORDINATOR_CORE_JOB_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "coordinator/core/journal.h"
#include "coordinator/core/scheduler.h"
#include "proto/assignment.h"

namespace coordinator {

// The worker stream's domain types (plain structs shared with the worker): one assignment
// as sent to a worker (carries the account's secret: never log it), a (task, epoch) a
// worker says it runs, a worker's introduction.
using TaskOrder = fleetproto::Assignment;
using HeldLease = fleetproto::Lease;  // (task_id, epoch)
using WorkerHello = fleetproto::Registration;

// How often a worker heartbeats: five times per lease, between 50 ms and 60 s.
absl::Duration HeartbeatInterval(absl::Duration lease);

class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  virtual void SendTask(const TaskOrder& order) = 0;
  virtual void SendCancel(uint64_t task_id, uint64_t epoch, const std::string& reason) = 0;
  virtual void SendNoMoreTasks() = 0;
  virtual void SendShutdown(const std::string& reason) = 0;
  // The heartbeat `seq` was received (the worker measures its lease from it).
  virtual void SendHeartbeatAck(uint64_t seq) {}
};

struct JobOptions {
  std::string job_id;
  engine::Mode mode = engine::Mode::kTest;
  config::Config config;      // with secrets; they leave only inside TaskOrders
  std::string data_location;  // output dir (export) or input dir (others)
  bool resync_missing = false;
  bool strict = false;          // import/validate: a refused message fails the account
  bool fix_messages = false;    // import: what server B would refuse is sent repaired
  config::Selection selection;  // resolved (config::ResolveSelection)
  bool dry_run = false;         // export/import/validate: plan only (engine::AccountTask)
  bool sizes = false;           // test: every folder's messages and bytes
  // test --sizes --import-config: server B, the import config's folder_map, and its
  // accounts by email: a task of an account found there carries its login on B
  // (engine::AccountTask::map_to) and that folder_map.
  std::optional<config::ServerConfig> map_server;
  config::FolderMap map_folder_map;
  std::map<std::string, config::Account> map_accounts;
  double min_free_gb = 0;
  int store_concurrency = 0;  // store requests per worker in flight; 0: the default
  bool fail_fast = true;
  uint32_t max_attempts = 3;  // assignments per account (retries included)
  absl::Duration lease_timeout = absl::Seconds(30);
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(30);
  int local_workers = 0;  // spawned processes; when all are gone and no worker
                          // is connected, the remaining accounts fail (no hang)
  // At the start of a job with local workers, no account is handed out until
  // every spawned worker has connected and asked for all its slots (or exited),
  // or until this much time has passed since the Job was created: so the first
  // accounts are spread round robin over all the local workers instead of all
  // going to the first one to connect. Zero: no wait. Remote-only jobs
  // (local_workers == 0) never wait.
  absl::Duration start_grace = absl::Seconds(2);
  // Non-empty: the lines about an account (started, folders, refusals, result, retry)
  // also go to its own file here (logging::AccountLogPath; --log-per-account), opened
  // for each line group and closed again (no descriptor held per account).
  std::string account_log_dir;
  // ---- durable job and testing seams ----
  JobJournal* journal = nullptr;        // not owned; outlives the Job
  std::vector<StoredAccount> restored;  // rows of a resumed job (may be empty)
  uint64_t min_epoch = 0;               // epochs start above this
  std::function<absl::Time()> clock;    // empty: absl::Now
  bool run_ticker = true;               // false: nobody calls Tick() but the caller
};

// Fencing and failover counters, for the status API and the report.
struct FleetCounters {
  uint64_t rejected_results = 0;   // results with a stale epoch
  uint64_t rejected_progress = 0;  // progress reports with a stale epoch
  uint64_t leases_expired = 0;
  uint64_t retries = 0;  // tasks requeued after a retriable failure or loss
};

// ---- read-only views (no secrets) ----
struct AccountView {
  TaskInfo task;
  engine::Progress progress;
  std::vector<engine::FolderResult> folders;
  uint64_t messages = 0, bytes = 0, skipped = 0;
  uint64_t refused = 0;   // messages server B refused (import, validate)
  uint64_t repaired = 0;  // messages appended repaired (import --fix-messages)
  // Throttling (engine::AccountResult's time paused, throttles, reconnects), summed over
  // every attempt: retries, lost attempts (up to their last progress) and, with a durable
  // job, earlier runs.
  uint64_t throttled_ms = 0, throttles = 0, reconnects = 0;
  std::map<std::string, uint64_t> imap_errors;  // the servers' NO/BAD/BYE by class
  std::vector<std::string> notes;
  absl::Duration elapsed;  // of the last attempt (running: so far)
  uint64_t version = 0;    // job version of its last change
};

struct WorkerView {
  WorkerHello hello;
  bool connected = false;
  bool local = false;
  uint32_t running = 0;
  absl::Time connected_at, last_seen;
};

// Counts and sums over every account, as their views count them (AccountView): what the
// status summary needs, without a view per account.
struct JobTotals {
  size_t accounts = 0;
  size_t by_state[5] = {};  // indexed by TaskState
  size_t parked = 0;        // pending accounts whose byte budget is spent (at `now`)
  size_t earlier_run = 0;   // succeeded in an earlier run
  uint64_t messages = 0, bytes = 0, skipped = 0, refused = 0;  // done
  // Announced so far: a running account's listed totals (at least what it did), a
  // finished account's done; a lower bound until `totals_known`.
  uint64_t messages_total = 0, bytes_total = 0;
  bool totals_known = true;  // nothing pending, every running account has listed its folders
  // Adds one account: its state, whether parked, done and announced figures.
  void Add(TaskState state, bool parked, bool earlier_run, uint64_t messages, uint64_t bytes,
           uint64_t skipped, uint64_t refused, const engine::Progress& progress);
  void Add(const AccountView& a, absl::Time now);
};

// How much of each account a snapshot holds.
enum class SnapshotDetail {
  kFull,       // every account with its folders and notes
  kNoFolders,  // every account, without folders and notes
  kSummary,    // no account: the totals and the workers only
};

// One page of accounts (Job::ListAccounts).
struct AccountPage {
  std::vector<AccountView> accounts;  // in account order
  size_t next = 0;                    // where the next page starts; 0: this was the last
  size_t matching = 0;                // accounts matching the filter in the whole job
};

struct JobSnapshot {
  std::string job_id;
  engine::Mode mode = engine::Mode::kTest;
  bool dry_run = false, sizes = false;  // as in JobOptions
  absl::Time started, now;
  bool finished = false, stopping = false;
  std::string stop_reason;
  std::vector<AccountView> accounts;
  std::vector<WorkerView> workers;
  FleetCounters fleet;
  size_t earlier_run = 0;  // accounts that succeeded in an earlier run
  uint64_t version = 0;
  // Filled by Job::Snapshot (at every detail); empty in a snapshot built by hand, whose
  // totals are then those of `accounts`.
  std::optional<JobTotals> totals;
  JobTotals Totals() const;
  size_t Count(TaskState s) const;
  size_t Parked() const;  // pending accounts whose byte budget is spent (at `now`)
  uint64_t TotalMessages() const;
  uint64_t TotalBytes() const;
  size_t ConnectedWorkers() const;
};

class Job {
 public:
  explicit Job(JobOptions options);
  ~Job();  // stops the ticker

  const JobOptions& options() const { return options_; }

  // ---- from worker sessions ----
  // kAlreadyExists when a live worker has that id (or its local process has
  // exited and is not being respawned); kInvalidArgument for an empty id.
  absl::Status Connect(const WorkerHello& hello, WorkerLink* link);
  // Ignored unless `link` is the worker's current link (nullptr: any link).
  void Disconnect(const std::string& worker_id, const WorkerLink* link = nullptr);
  void RequestTask(const std::string& worker_id);
  // Renews the listed leases held by this worker, cancels stale ones, acks.
  void Heartbeat(const std::string& worker_id, uint64_t seq, const std::vector<HeldLease>& held);
  // Expires leases and starts tasks whose backoff has passed.
  void Tick();
  void Progress(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
                const engine::Progress& progress);
  void Result(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
              const engine::AccountResult& result, absl::Duration elapsed);

  // ---- from the local process pool ----
  // Also the start of a respawned process (same id).
  void LocalWorkerStarted(const std::string& worker_id, int pid);
  // Its running tasks are requeued at once (a lease expiry). With
  // `can_respawn` (the pool allows it), returns true when the job still has
  // work for a replacement: the id is then kept for it (no "no live workers"
  // meanwhile). Also called when that replacement could not be started.
  bool LocalWorkerExited(const std::string& worker_id, const std::string& how,
                         bool can_respawn = false);

  // ---- control ----
  void Stop(const std::string& reason);       // no new work, cancel running
  void ForceStop(const std::string& reason);  // fail everything left now
  void ShutdownWorkers(const std::string& reason);

  // ---- waiting and views ----
  bool WaitFinished(absl::Duration timeout) const;
  bool WaitNoConnectedWorkers(absl::Duration timeout) const;
  // Blocks until the version differs from `seen`, the job finishes, or timeout.
  uint64_t WaitChange(uint64_t seen, absl::Duration timeout) const;
  // Everything (kFull); kNoFolders leaves out each account's folders and notes (the bulk
  // of a big job's snapshot, taken under the job's lock); kSummary every account (its
  // totals only: what the status summary and the rate sampler need, several times a
  // second, also for 100,000 accounts).
  JobSnapshot Snapshot(SnapshotDetail detail = SnapshotDetail::kFull) const;
  // Up to `limit` accounts (with their folders) from index `start` on, in account order,
  // those in `state` only when given; `next` is the index after the last one returned
  // when more may follow.
  AccountPage ListAccounts(std::optional<TaskState> state, size_t start, size_t limit) const;
  bool finished() const;

 private:
  struct WorkerState {
    WorkerView view;
    WorkerLink* link = nullptr;  // non-null while connected (never if dead)
    int parked_requests = 0;     // RequestTasks not yet answered
    bool dead = false;           // its (local) process exited, none runs now
    bool respawning = false;     // dead, and a replacement is on its way
    int respawns = 0;            // replacements started
  };
  struct AccountState {
    engine::Progress progress;
    engine::AccountResult result;
    bool result_in = false;  // `result` is the current attempt's (it has ended)
    ThrottleTotals before;   // throttling of the earlier attempts (and runs)
    absl::Time started;
    absl::Duration elapsed;
    uint64_t version = 0;
    AccountTotals earlier;            // counters of an earlier run (restored accounts)
    uint64_t logged_stale_epoch = 0;  // last stale progress epoch logged
  };

  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }
  void Restore();
  void TickerLoop();
  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HoldingStartLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AssignLocked(WorkerState& w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ResponsiveLocked(const WorkerState& w, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RejectLocked(const std::string& worker_id, uint64_t task_id, uint64_t epoch, bool result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordLocked(uint64_t task_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogLostLocked(const std::vector<uint64_t>& ids) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendCancelsLocked(const std::vector<CancelOrder>& cancels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LoseWorkerLocked(const std::string& worker_id, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckLivenessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AfterChangeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TouchLocked(uint64_t task_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogResultLocked(const TaskInfo& t, const engine::AccountResult& r, absl::Duration elapsed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  AccountView ViewLocked(const TaskInfo& t, absl::Time now, bool with_folders = true) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  JobTotals TotalsLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // JobTotals are kept as they change (a status call must not walk 100,000 accounts under
  // the lock): each account's share of the sums as last counted, counted again for the
  // accounts changed since (TouchLocked, the scheduler's state changes) before a read.
  struct Share {
    uint64_t messages = 0, bytes = 0, skipped = 0, refused = 0;
    uint64_t messages_total = 0, bytes_total = 0;
    bool unlisted = false;     // running, its folders not listed yet
    bool earlier_run = false;  // succeeded in an earlier run
    bool may_park = false;     // pending with a park time set (parked or not, by now)
  };
  Share ShareLocked(const TaskInfo& t) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StaleLocked(size_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecountLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Earlier attempts' throttling plus the current attempt's (its result once it ended,
  // else its last progress).
  static ThrottleTotals Throttling(const AccountState& a);

  const JobOptions options_;
  const absl::Time started_;
  mutable absl::Mutex mu_;
  Scheduler scheduler_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WorkerState> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<AccountState> accounts_ ABSL_GUARDED_BY(mu_);
  // RecountLocked's state: the shares, which of them are stale (flag and list), their sums
  // (earlier_run included), how many are unlisted, the accounts that may be parked.
  mutable std::vector<Share> shares_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<bool> stale_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<size_t> stale_list_ ABSL_GUARDED_BY(mu_);
  mutable JobTotals sums_ ABSL_GUARDED_BY(mu_);
  mutable size_t unlisted_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::set<size_t> may_park_ ABSL_GUARDED_BY(mu_);
  int local_alive_ ABSL_GUARDED_BY(mu_) = 0;
  int local_respawning_ ABSL_GUARDED_BY(mu_) = 0;
  int local_started_ ABSL_GUARDED_BY(mu_) = 0;
  bool start_held_ ABSL_GUARDED_BY(mu_) = true;  // see start_grace
  bool no_more_sent_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  FleetCounters fleet_ ABSL_GUARDED_BY(mu_);
  bool ticker_stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;  // last: started once everything else is built
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_CORE_JOB_H_
