// Group commit for the job state: the StateStore commits every change with
// synchronous=NORMAL (in the WAL: a SIGKILL of the coordinator keeps it, no fsync under
// the job's lock), and this syncer, on a thread and a SQLite connection of its own,
// checkpoints the WAL every `interval` when something was written since (the checkpoint
// fsyncs the WAL, then the database): a power loss loses at most the last interval's
// changes, which run again (the engine is idempotent).
//
// Thread-safety: Written() from any thread. Lifetime: stop (destroy) it before the
// writer's connection closes; the destructor runs a last checkpoint.
#ifndef MIGRATOR_COORDINATOR_DURABLE_WAL_SYNCER_H_
#define MIGRATOR_COORDINATOR_DURABLE_WAL_SYNCER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

struct sqlite3;

namespace coordinator {

class WalSyncer {
 public:
  // Null (the writer then syncs itself) when `path` cannot be opened a second time.
  static std::unique_ptr<WalSyncer> Start(const std::string& path, absl::Duration interval);
  ~WalSyncer();
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  // Something was committed: the next round checkpoints.
  void Written() { written_.fetch_add(1, std::memory_order_relaxed); }

 private:
  WalSyncer(sqlite3* db, absl::Duration interval) : db_(db), interval_(interval) {}
  void Loop();
  void Checkpoint();

  sqlite3* const db_;
  const absl::Duration interval_;
  std::atomic<uint64_t> written_{0};
  uint64_t synced_ = 0;  // written_ at the last checkpoint (the thread's own)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_DURABLE_WAL_SYNCER_H_
