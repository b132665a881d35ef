// The coordinator's gRPC server: Coordinator.WorkerSession (one reactor per
// worker, adapting the stream to Job), StatusService (read-only views), health
// checking and server reflection. This header has no gRPC include; only
// coordinator_service.cc does.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_GRPC_COORDINATOR_SERVICE_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_GRPC_COORDINATOR_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/rpc/transport_security.h"
#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"

namespace coordinator {

class CoordinatorServer {
 public:
  // One address to serve on ("unix:/path", "host:port", port 0 picks one),
  // plaintext or mutual TLS (clients must present a certificate chained to the CA
  // of `tls`, and the role of what they call: a worker's to register as a worker, an
  // operator's to read the status; common/rpc/peer_role.h).
  struct Endpoint {
    std::string address;
    rpc::TlsMaterial tls;
  };
  // Serves on every endpoint (all must be bound, else kUnavailable). `job` and
  // `tracker` (the status read model every front end shares) must outlive the server.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      const std::vector<Endpoint>& endpoints, Job* job, StatusTracker* tracker);
  ~CoordinatorServer();

  // The address to give workers (TCP: with the port actually bound): of the
  // first endpoint, or of endpoint `i`.
  const std::string& address() const;
  const std::string& address(size_t i) const;
  size_t endpoints() const;
  // Stops accepting, cancels what is still open after `grace`, waits for
  // handlers.
  void Shutdown(absl::Duration grace);

 private:
  struct Impl;
  explicit CoordinatorServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_GRPC_COORDINATOR_SERVICE_H_
