// --tls-cert, --tls-key, --tls-ca, --insecure: shared by the coordinator (server) and its
// clients (worker, migratectl).
#include "common/cli/tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert, "",
          "certificate (PEM): the coordinator's server certificate for --listen, or a "
          "client's certificate for mutual TLS, signed by the coordinator's --tls-ca and "
          "carrying its role: the URI SAN urn:imapsync-migrator:role:worker (worker) or "
          "urn:imapsync-migrator:role:operator (migratectl)");
ABSL_FLAG(std::string, tls_key, "", "the private key (PEM) of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "",
          "CA (PEM): the coordinator requires client certificates chained to it; a "
          "client verifies the coordinator with it (turns on TLS)");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext to or on a non-loopback address (passwords in clear!)");

namespace cli {

rpc::TlsFlags ServerTlsFlags() {
  return rpc::TlsFlags{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                       absl::GetFlag(FLAGS_tls_ca), "", absl::GetFlag(FLAGS_insecure)};
}

}  // namespace cli
