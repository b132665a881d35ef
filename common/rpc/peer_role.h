// Who may do what on the coordinator's mutual-TLS port (README "Security: mutual TLS between
// hosts"): a client certificate names its roles as URI subject alternative names,
//   urn:imapsync-migrator:role:worker     may register as a worker (and so receive tasks,
//                                         account passwords included);
//   urn:imapsync-migrator:role:operator   may read the status API (migratectl).
// A certificate may carry both; one with neither is refused both. Plain code (OpenSSL):
// the gRPC front end hands in the peer's certificate.
// Thread-safe; no state.
#ifndef MIGRATOR_COMMON_RPC_PEER_ROLE_H_
#define MIGRATOR_COMMON_RPC_PEER_ROLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rpc {

inline constexpr char kWorkerRoleUri[] = "urn:imapsync-migrator:role:worker";
inline constexpr char kOperatorRoleUri[] = "urn:imapsync-migrator:role:operator";

enum class PeerRole { kWorker, kOperator };

// The URI of `role`.
const char* RoleUri(PeerRole role);

struct PeerCertificate {
  std::string subject;            // RFC 2253, e.g. "CN=operator"
  std::vector<std::string> uris;  // its URI subject alternative names
};

// Reads a PEM certificate. kInvalidArgument when it does not parse.
absl::StatusOr<PeerCertificate> ReadPeerCertificate(absl::string_view pem);

// OK when the certificate grants `role`; else kPermissionDenied naming its subject, what
// was refused and the URI SAN that role needs (never the certificate itself).
absl::Status CheckRole(const PeerCertificate& cert, PeerRole role);

}  // namespace rpc

#endif  // MIGRATOR_COMMON_RPC_PEER_ROLE_H_
