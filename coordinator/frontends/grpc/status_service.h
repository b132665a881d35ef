// The StatusService of migrator.v1 (GetStatus, ListAccounts, Watch): read-only
// views of the job for operators and scripts. Never carries a secret. Over mutual TLS only
// a certificate with the operator role may call it (common/rpc/peer_role.h). This
// header has no gRPC include; only status_service.cc does.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_GRPC_STATUS_SERVICE_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_GRPC_STATUS_SERVICE_H_

#include <memory>

#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace coordinator {

// `job` and `tracker` must outlive the service (register it with a server
// that is shut down before they go). Thread-safe.
std::unique_ptr<grpc::Service> NewStatusService(Job* job, StatusTracker* tracker);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_GRPC_STATUS_SERVICE_H_
