// Transport security of the coordinator's gRPC endpoint, decided before any
// gRPC object exists (plain code: the *_service.cc / *_client.cc files turn a
// TlsMaterial into gRPC credentials).
//
// Policy (both sides): account passwords travel to workers inside Task
// messages, so between hosts the stream must be mutual TLS.
//   * --tls-cert/--tls-key/--tls-ca: TLS. The coordinator (server) needs all
//     three and requires client certificates chained to --tls-ca; a client
//     (worker, migratectl) needs --tls-ca to verify the coordinator (whose name
//     must match the address's host or --tls-server-name) and presents
//     --tls-cert/--tls-key.
//   * no TLS flags: plaintext, allowed only on a Unix socket or a loopback
//     address; anywhere else only with --insecure (and a loud warning).
// Thread-compatible; no global state.
#ifndef MIGRATOR_COMMON_RPC_TRANSPORT_SECURITY_H_
#define MIGRATOR_COMMON_RPC_TRANSPORT_SECURITY_H_

#include <string>

#include "absl/status/statusor.h"

namespace rpc {

// As given on the command line.
struct TlsFlags {
  std::string cert_file, key_file, ca_file;
  std::string server_name;  // client only: expected name in the server's cert
  bool insecure = false;    // plaintext to a non-local address
};

// What the credentials are built from. Holds a private key: never log it.
struct TlsMaterial {
  bool tls = false;  // false: plaintext
  std::string cert_pem, key_pem, ca_pem;
  std::string server_name;  // client: override of the name checked (may be "")
};

enum class Role { kServer, kClient };

// True for "unix:...", "unix-abstract:...", and host:port / ipv4: / ipv6: /
// dns: targets whose host is localhost, 127.0.0.0/8 or ::1.
bool IsLocalAddress(const std::string& address);

// Checks the combination of flags for `role` at `address` and reads the PEM
// files. kInvalidArgument: a bad combination, or plaintext to a non-local
// address without --insecure (the message says what to do). kNotFound /
// kPermissionDenied: a file cannot be read. `*warning` is set (else cleared)
// when the caller must warn loudly (--insecure in effect off loopback, a
// private key readable by others).
absl::StatusOr<TlsMaterial> ResolveTransport(const TlsFlags& flags, Role role,
                                             const std::string& address, std::string* warning);

}  // namespace rpc

#endif  // MIGRATOR_COMMON_RPC_TRANSPORT_SECURITY_H_
