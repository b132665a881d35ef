// migratectl's connection to a coordinator's StatusService. This header has no
// gRPC include; only migratectl_client.cc does.
#ifndef MIGRATOR_COORDINATOR_MIGRATECTL_MIGRATECTL_CLIENT_H_
#define MIGRATOR_COORDINATOR_MIGRATECTL_MIGRATECTL_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/rpc/transport_security.h"
#include "migrator/v1/migrator.pb.h"

namespace migratectl {

namespace pb = ::migrator::v1;

// One channel to the coordinator. Calls are thread-safe. Errors carry the
// gRPC code mapped onto absl::StatusCode and name the address.
class StatusClient {
 public:
  StatusClient(const std::string& address, const rpc::TlsMaterial& tls);
  ~StatusClient();

  // Waits up to `timeout` for the channel (so an unreachable coordinator
  // fails fast with a clear error) and the answer.
  absl::Status GetStatus(absl::Duration timeout, pb::GetStatusResponse* out);
  // Every page (`page_size` rows a call; 0: the coordinator's default), appended to
  // `out` in account order; `timeout` is per call.
  absl::Status ListAccounts(pb::AccountState state, uint32_t page_size, absl::Duration timeout,
                            pb::ListAccountsResponse* out);
  // Streams events to `on_event` until the job finishes (the server ends the
  // stream) or on_event returns false. `connect_timeout` bounds the wait for
  // the channel only.
  absl::Status Watch(uint32_t min_interval_ms, absl::Duration connect_timeout,
                     const std::function<bool(const pb::WatchEvent&)>& on_event);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migratectl

#endif  // MIGRATOR_COORDINATOR_MIGRATECTL_MIGRATECTL_CLIENT_H_
