// Roles on the coordinator's gRPC port (common/rpc/peer_role.h): gRPC adapter only, used by
// the worker sessions and the status service of this folder.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_GRPC_AUTHORIZE_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_GRPC_AUTHORIZE_H_

#include "common/rpc/peer_role.h"
#include "grpcpp/grpcpp.h"

namespace coordinator {

// OK when the caller may act as `role`. Over TLS its client certificate must carry the
// role's URI SAN (else PERMISSION_DENIED, logged as a warning with the caller's address);
// a plaintext endpoint (a Unix socket or loopback, or --insecure) has no certificate, and
// no role to check: who reaches it may do both.
grpc::Status Authorize(const grpc::ServerContextBase& context, rpc::PeerRole role);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_GRPC_AUTHORIZE_H_
