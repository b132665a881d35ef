#include "coordinator/frontends/grpc/authorize.h"

#include <string>

#include "common/log/log.h"
#include "grpc/grpc_security_constants.h"

namespace coordinator {

grpc::Status Authorize(const grpc::ServerContextBase& context, rpc::PeerRole role) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return grpc::Status::OK;
  const auto type = auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (type.empty() ||
      std::string(type[0].data(), type[0].size()) != GRPC_SSL_TRANSPORT_SECURITY_TYPE) {
    return grpc::Status::OK;  // plaintext: no certificate
  }
  const auto pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  absl::Status st = absl::PermissionDeniedError("no client certificate");
  if (!pem.empty()) {
    absl::StatusOr<rpc::PeerCertificate> cert =
        rpc::ReadPeerCertificate(absl::string_view(pem[0].data(), pem[0].size()));
    st = cert.ok() ? rpc::CheckRole(*cert, role) : cert.status();
  }
  if (st.ok()) return grpc::Status::OK;
  LOG(WARNING) << "refused " << context.peer() << ": " << st.message();
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, std::string(st.message()));
}

}  // namespace coordinator
