// TCP and TLS transport (OpenSSL). Connect() gives a Connection, a ByteStream
// that can be upgraded to TLS in place (STARTTLS).
//
// Certificate and host-name verification are on by default (system CA store, or
// `ca_file`). `verify = false` turns both off and logs a warning naming the
// host.
#ifndef MIGRATOR_COMMON_NET_TRANSPORT_H_
#define MIGRATOR_COMMON_NET_TRANSPORT_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/net/progress.h"
#include "common/net/stream.h"

namespace net {

enum class TlsMode {
  kNone,      // plain TCP
  kImplicit,  // TLS from the first byte (IMAPS, port 993)
  kStartTls,  // plain TCP; the caller upgrades with Connection::StartTls()
              // after STARTTLS
};

struct TlsOptions {
  bool verify = true;   // verify the certificate chain and the host name
  std::string ca_file;  // PEM bundle; empty = the system default store
  // Name to verify and to send as SNI; empty = the host connected to.
  std::string server_name;
};

struct ConnectOptions {
  std::string host;
  int port = 0;
  TlsMode tls = TlsMode::kNone;
  TlsOptions tls_options;
  std::chrono::milliseconds connect_timeout{15000};
  // Each Read/Write fails with kDeadlineExceeded when no progress is made for
  // this long.
  std::chrono::milliseconds io_timeout{120000};
  // The progress deadlines (progress.h: a minimum rate over io_timeout / 4 while a transfer
  // is under way, a deadline per command), in bytes per second; 0: the idle timeout alone.
  uint64_t min_rate = 1024;
};

// A connected socket, plain or TLS. Owns the socket and the TLS state; the
// destructor closes. Not thread-safe: use it from one thread at a time (Read
// and Write may not run concurrently).
//
// - Read waits at most `io_timeout` for data; it first flushes buffered output,
// so a command
//   written without Flush cannot deadlock the caller. It never reads ahead:
//   nothing received before StartTls is kept inside the connection. 0 = orderly
//   end of stream (FIN on plain, close_notify on TLS); a TLS peer vanishing
//   without close_notify is kUnavailable "connection closed by HOST:PORT".
// - Write buffers up to 64 KiB and sends when the buffer fills; larger writes
// go straight
//   out. Flush sends the rest. Each send waits at most `io_timeout` for
//   progress. Timeouts are kDeadlineExceeded "read from HOST:PORT timed out
//   after Nms" (or "write to").
// - Close discards unflushed output, sends a TLS close_notify when it can do so
// without
//   waiting, and closes the socket. Idempotent; later calls fail with
//   kFailedPrecondition.
// - SIGPIPE is never raised (MSG_NOSIGNAL, also under TLS).
// - The TLS handshake (implicit or StartTls) is bounded by `connect_timeout`. A
// failed
//   handshake closes the connection.
class Connection : public ByteStream {
 public:
  // Performs the TLS handshake on the open plain connection (after the server
  // said OK to STARTTLS). The caller must discard anything it read before this
  // call. Buffered output is flushed first. Fails with kUnavailable on
  // handshake errors, kUnauthenticated on verification failures (as Connect),
  // kFailedPrecondition when already TLS or closed. Afterwards Describe() says
  // "(STARTTLS)".
  virtual absl::Status StartTls(const TlsOptions& options) = 0;
  virtual bool IsTls() const = 0;
};

// Resolves and connects (trying every address, IPv4 and IPv6, each within
// `connect_timeout`), then does the TLS handshake for kImplicit. Errors name
// host and port: kUnavailable (refused, unreachable, DNS failure, handshake
// failure), kDeadlineExceeded (every address timed out), kInvalidArgument (bad
// port, unreadable ca_file). Certificate or host-name verification failures are
// kUnauthenticated (do not retry: the server is not who it should be) with "TLS
// certificate verification failed for HOST:PORT: <reason>" in the message.
absl::StatusOr<std::unique_ptr<Connection>> Connect(const ConnectOptions& options);

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_TRANSPORT_H_
