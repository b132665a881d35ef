// A plaintext, health-only gRPC endpoint: the standard grpc.health.v1.Health service and
// nothing else (no status, no reflection, no secrets), for probes that cannot present a
// client certificate, such as kubelet's `grpc:` probes. This header has no gRPC include.
#ifndef MIGRATOR_COMMON_RPC_HEALTH_SERVER_H_
#define MIGRATOR_COMMON_RPC_HEALTH_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace rpc {

class HealthServer {
 public:
  // Serves on `address` ("host:port", port 0 picks one; "unix:/path"). Starts SERVING.
  // kUnavailable when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(const std::string& address);
  ~HealthServer();

  // "host:port" with the port actually bound (or the unix: address).
  const std::string& address() const;
  // The overall status ("" service) probes see: SERVING or NOT_SERVING. Thread-safe.
  void SetServing(bool serving);

 private:
  struct Impl;
  explicit HealthServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rpc

#endif  // MIGRATOR_COMMON_RPC_HEALTH_SERVER_H_
