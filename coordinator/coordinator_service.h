// The coordinator's gRPC server: Coordinator.WorkerSession (one reactor per
// worker, adapting the stream to Job), StatusService (read-only views), health
// checking and server reflection. This header has no gRPC include; only
// coordinator_service.cc does.
#ifndef MIGRATOR_COORDINATOR_COORDINATOR_SERVICE_H_
#define MIGRATOR_COORDINATOR_COORDINATOR_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/job.h"

namespace coordinator {

class CoordinatorServer {
 public:
  // Serves on `address` ("unix:/path", "host:port", port 0 picks one). `job`
  // must outlive the server. kUnavailable when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      const std::string& address, Job* job);
  ~CoordinatorServer();

  // The address to give workers (TCP: with the port actually bound).
  const std::string& address() const;
  // Stops accepting, cancels what is still open after `grace`, waits for
  // handlers.
  void Shutdown(absl::Duration grace);

 private:
  struct Impl;
  explicit CoordinatorServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_COORDINATOR_SERVICE_H_
