// Fleet-wide max_connections (README "Budgets"): the IMAP connections granted to
// assignments, per connection key (config::ConnectionKey: the user the server counts
// connections by; accounts sharing it share the limit). An assignment gets at most what its
// key has left, so the fleet never holds more than the key's limit, also after a lease
// change: the grant of an assignment whose lease ran out stays counted (stale) while its old
// worker may still run it, until that worker says it stopped (its stale result, or a
// heartbeat that no longer names it), its process exits, or a hold time passes.
//
// Plain logic: no clock (time is passed in), no I/O. Not thread-safe; Scheduler owns it.
#ifndef MIGRATOR_COORDINATOR_CORE_CONNECTION_LEDGER_H_
#define MIGRATOR_COORDINATOR_CORE_CONNECTION_LEDGER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace coordinator {

class ConnectionLedger {
 public:
  using Lease = std::pair<uint64_t, uint64_t>;  // (task_id, epoch)

  // The limit of `key`: the smallest any account under it asks for (at least 1).
  void SetLimit(const std::string& key, int max_connections);
  // Connections a new assignment under `key` may get now: its own maximum, less what the
  // key's grants hold; 0 when none is free. A key without a limit: `own_max`.
  int Available(const std::string& key, int own_max) const;
  // Connections the grants of `key` hold (stale ones included).
  int Held(const std::string& key) const;

  void Grant(const std::string& key, const Lease& lease, const std::string& worker_id,
             int connections);
  // The run of `lease` ended (its result came, or its worker process is gone): its grant,
  // stale or not, is released. False when there was none.
  bool Release(const Lease& lease);
  // The lease ran out but its worker may still run it: the grant stays counted until `until`
  // (or a release).
  void MarkStale(const Lease& lease, absl::Time until);
  // Every grant of `worker_id` (its process exited: its connections are closed).
  bool ReleaseWorker(const std::string& worker_id);
  // A heartbeat of `worker_id` naming the leases it runs: its stale grants it names are held
  // on until `until`; the ones it no longer names are released. True when one was released.
  bool OnHeartbeat(const std::string& worker_id, const std::set<Lease>& held, absl::Time until);
  // Releases stale grants held past their time; true when one was.
  bool ExpireStale(absl::Time now);
  // The earliest time a stale grant runs out; InfiniteFuture when none.
  absl::Time NextExpiry() const;

 private:
  struct Entry {
    std::string key;
    std::string worker_id;
    int connections = 0;
    bool stale = false;
    absl::Time hold_until = absl::InfiniteFuture();
  };
  std::map<std::string, int> limits_;
  std::map<Lease, Entry> grants_;
  std::map<std::string, int> held_;  // by key
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_CORE_CONNECTION_LEDGER_H_
