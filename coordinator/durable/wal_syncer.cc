#include "coordinator/durable/wal_syncer.h"

#include <sqlite3.h>

#include "common/log/log.h"

namespace coordinator {

std::unique_ptr<WalSyncer> WalSyncer::Start(const std::string& path, absl::Duration interval) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    LOG(WARNING) << "job state " << path << ": no background sync ("
                 << (db ? sqlite3_errmsg(db) : "out of memory") << "); syncing each change";
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  // A connection checkpoints only once it has read the database (and so opened its WAL).
  if (sqlite3_exec(db, "SELECT count(*) FROM job", nullptr, nullptr, nullptr) != SQLITE_OK) {
    LOG(WARNING) << "job state " << path << ": no background sync (" << sqlite3_errmsg(db)
                 << "); syncing each change";
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<WalSyncer> syncer(new WalSyncer(db, interval));
  syncer->thread_ = std::thread([s = syncer.get()] { s->Loop(); });
  return syncer;
}

WalSyncer::~WalSyncer() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  Checkpoint();  // what the last round did not see
  sqlite3_close(db_);
}

void WalSyncer::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(interval_)) Checkpoint();
}

void WalSyncer::Checkpoint() {
  const uint64_t written = written_.load(std::memory_order_relaxed);
  if (written == synced_) return;
  // PASSIVE: never blocks the writer; the frames committed so far are synced to disk.
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc == SQLITE_OK) {
    synced_ = written;
  } else if (rc != SQLITE_BUSY) {
    LOG(WARNING) << "job state: checkpoint failed: " << sqlite3_errmsg(db_);
  }
}

}  // namespace coordinator
