#include "coordinator/core/connection_ledger.h"

#include <algorithm>

namespace coordinator {

void ConnectionLedger::SetLimit(const std::string& key, int max_connections) {
  const int limit = std::max(1, max_connections);
  auto [it, inserted] = limits_.emplace(key, limit);
  if (!inserted) it->second = std::min(it->second, limit);
}

int ConnectionLedger::Held(const std::string& key) const {
  auto it = held_.find(key);
  return it == held_.end() ? 0 : it->second;
}

int ConnectionLedger::Available(const std::string& key, int own_max) const {
  auto it = limits_.find(key);
  if (it == limits_.end()) return own_max;
  return std::max(0, std::min(own_max, it->second - Held(key)));
}

void ConnectionLedger::Grant(const std::string& key, const Lease& lease,
                             const std::string& worker_id, int connections) {
  Release(lease);
  grants_[lease] = Entry{key, worker_id, connections};
  held_[key] += connections;
}

bool ConnectionLedger::Release(const Lease& lease) {
  auto it = grants_.find(lease);
  if (it == grants_.end()) return false;
  int& held = held_[it->second.key];
  held -= it->second.connections;
  if (held <= 0) held_.erase(it->second.key);
  grants_.erase(it);
  return true;
}

void ConnectionLedger::MarkStale(const Lease& lease, absl::Time until) {
  auto it = grants_.find(lease);
  if (it == grants_.end()) return;
  it->second.stale = true;
  it->second.hold_until = until;
}

bool ConnectionLedger::ReleaseWorker(const std::string& worker_id) {
  std::vector<Lease> gone;
  for (const auto& [lease, g] : grants_) {
    if (g.worker_id == worker_id) gone.push_back(lease);
  }
  for (const Lease& l : gone) Release(l);
  return !gone.empty();
}

bool ConnectionLedger::OnHeartbeat(const std::string& worker_id, const std::set<Lease>& held,
                                   absl::Time until) {
  std::vector<Lease> gone;
  for (auto& [lease, g] : grants_) {
    if (!g.stale || g.worker_id != worker_id) continue;
    if (held.count(lease)) {
      g.hold_until = std::max(g.hold_until, until);
    } else {
      gone.push_back(lease);
    }
  }
  for (const Lease& l : gone) Release(l);
  return !gone.empty();
}

bool ConnectionLedger::ExpireStale(absl::Time now) {
  std::vector<Lease> gone;
  for (const auto& [lease, g] : grants_) {
    if (g.stale && g.hold_until <= now) gone.push_back(lease);
  }
  for (const Lease& l : gone) Release(l);
  return !gone.empty();
}

absl::Time ConnectionLedger::NextExpiry() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [lease, g] : grants_) {
    if (g.stale) next = std::min(next, g.hold_until);
  }
  return next;
}

}  // namespace coordinator
