// The transport-security flags of the coordinator's gRPC endpoint, defined once for every
// executable (same names, same meaning; see common/rpc/transport_security.h):
//   --tls-cert F --tls-key F --tls-ca F --insecure   target mig_cli_tls (all three)
//   --tls-server-name N                              target mig_cli_tls_client (the clients)
// A binary gets a flag only when it links the target that defines it, so the coordinator
// (a server) has no --tls-server-name.
#ifndef MIGRATOR_COMMON_CLI_TLS_FLAGS_H_
#define MIGRATOR_COMMON_CLI_TLS_FLAGS_H_

#include "common/rpc/transport_security.h"

namespace cli {

// The coordinator's flags as given (server_name empty). Needs mig_cli_tls.
rpc::TlsFlags ServerTlsFlags();

// A client's flags as given (worker, migratectl), with --tls-server-name. Needs
// mig_cli_tls_client.
rpc::TlsFlags ClientTlsFlags();

}  // namespace cli

#endif  // MIGRATOR_COMMON_CLI_TLS_FLAGS_H_
