// The durable job (--state PATH): a SQLite file that survives a SIGKILL of the
// coordinator. It holds the job's identity and one row per account (state,
// attempts, last error, counters, size, last epoch; the throttling counters are
// summed over every attempt). Running the same command again resumes from it; a
// different job on the same file is refused.
//
// Identity: the mode, the data location, and a SHA-256 over the server block
// (host, port, ssl, starttls) and the account list (email, login, auth,
// authzid). Passwords and tokens are never stored, not even hashed: fixing a
// password keeps the job, and its failed accounts run again.
//
// Budgets (README "Budgets"): per account, the byte budget's window, what was spent in it
// and until when the account is parked, in a table of its own keyed by the budget's scope
// (the mode and the server: what the provider counts) and the email. A new pass or --fresh
// starts the accounts over but keeps it: the provider's count does not start over.
//
// Durability: WAL journal; every change is committed (synchronous=NORMAL) before Record
// returns, so a process kill (what a coordinator crash is) keeps it. A WalSyncer
// (wal_syncer.h) checkpoints the WAL in the background every 100 ms, which syncs it to
// disk: no fsync per account under the job's lock, and a power loss loses at most the
// last 100 ms of changes (those accounts run again). Without a syncer (the file cannot
// be opened twice) a final state is committed with synchronous=FULL instead.
//
// Thread-safety: not thread-safe; Job serialises Record calls. Lifetime: must
// outlive the Job that writes to it.
#ifndef MIGRATOR_COORDINATOR_DURABLE_STATE_STORE_H_
#define MIGRATOR_COORDINATOR_DURABLE_STATE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "coordinator/core/journal.h"
#include "coordinator/durable/wal_syncer.h"

struct sqlite3;

namespace coordinator {

struct JobIdentity {
  std::string mode;
  std::string data_location;
  std::string hash;  // hex SHA-256 of the server block and account list
  // Whose budgets this job spends: "<mode> <host>:<port>" (not part of the identity).
  std::string budget_scope;
  // "export of config <hash12> with data <data_location>"
  std::string Describe() const;
};

JobIdentity MakeJobIdentity(engine::Mode mode, const config::Config& config,
                            const std::string& data_location);

class StateStore : public JobJournal {
 public:
  // Opens or creates `path` (mode 0600). A file holding another job is
  // kAlreadyExists (its message names both jobs and --fresh) unless
  // `fresh`, which starts the file over. kUnavailable when it cannot be opened
  // or written.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& path,
                                                          const JobIdentity& identity,
                                                          const std::vector<std::string>& emails,
                                                          bool fresh);
  ~StateStore() override;

  const std::string& path() const { return path_; }
  // False when this run created the job (new file, or --fresh).
  bool resumed() const { return resumed_; }
  // The rows as they were when opened, in account order.
  const std::vector<StoredAccount>& accounts() const { return accounts_; }
  uint64_t max_epoch() const;
  size_t CountState(TaskState state) const;

  void Record(const TaskInfo& task, const AccountTotals& totals, bool terminal) override;

 private:
  struct Statements;  // prepared once (state_store.cc)
  StateStore(sqlite3* db, std::string path);
  absl::Status Exec(const std::string& sql);
  absl::Status Init(const JobIdentity& identity, const std::vector<std::string>& emails,
                    bool fresh);
  absl::Status AddMissingColumns();
  absl::Status CheckIdentity(const JobIdentity& identity, bool* empty);
  absl::Status Create(const JobIdentity& identity, const std::vector<std::string>& emails);
  absl::Status Load();
  // Fills the accounts' budget fields from the budgets table.
  absl::Status LoadBudgets();
  void RecordBudget(const TaskInfo& task);

  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Statements> statements_;
  std::unique_ptr<WalSyncer> syncer_;  // null: a final state syncs itself
  std::string budget_scope_;
  bool resumed_ = false;
  bool write_failed_ = false;  // logged once
  std::vector<StoredAccount> accounts_;
};

// A stored state name (TaskStateName; "ok", the name before "succeeded", too)
// back to a TaskState: pending for "running"/unknown (such an account runs
// again).
TaskState ParseStoredState(const std::string& name);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_DURABLE_STATE_STORE_H_
