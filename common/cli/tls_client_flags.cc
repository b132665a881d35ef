// --tls-server-name: the clients' (worker, migratectl) flag on top of the shared ones.
#include <string>

#include "absl/flags/flag.h"
#include "common/cli/tls_flags.h"

ABSL_FLAG(std::string, tls_server_name, "",
          "name expected in the coordinator's certificate (default: the host of "
          "--coordinator)");

namespace cli {

rpc::TlsFlags ClientTlsFlags() {
  rpc::TlsFlags flags = ServerTlsFlags();
  flags.server_name = absl::GetFlag(FLAGS_tls_server_name);
  return flags;
}

}  // namespace cli
