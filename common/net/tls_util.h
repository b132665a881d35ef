// Private OpenSSL helpers of mig_net: client SSL objects configured for
// verification, a socket BIO that never raises SIGPIPE, and OpenSSL error text.
// Not part of the public API.
//
// Thread-safety: all functions are thread-safe. The returned SSL objects are
// not.
#ifndef MIGRATOR_COMMON_NET_TLS_UTIL_H_
#define MIGRATOR_COMMON_NET_TLS_UTIL_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/transport.h"

namespace net {
namespace internal {

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// Drains this thread's OpenSSL error queue into one line ("" when empty).
std::string OpenSslErrorText();

// Creates a client SSL over the connected socket `fd` (borrowed: the SSL does
// not close it) with TLS >= 1.2, SNI (unless the name is an IP literal) and,
// when `options.verify`, chain verification against `options.ca_file` or the
// system store plus host-name or IP verification of `options.server_name` (or
// `host` when empty). `where` ("host:port") is used in messages. Logs a warning
// when verification is off. A ca_file that cannot be loaded is
// kInvalidArgument.
absl::StatusOr<SslPtr> NewClientSsl(int fd, const TlsOptions& options, const std::string& host,
                                    const std::string& where);

}  // namespace internal
}  // namespace net

#endif  // MIGRATOR_COMMON_NET_TLS_UTIL_H_
