// Private helpers of mig_net: address formatting, poll with a deadline, and a
// TCP connect with a timeout over every resolved address. Not part of the
// public API.
//
// Thread-safety: all functions are thread-safe (they keep no state).
#ifndef MIGRATOR_COMMON_NET_SOCKET_UTIL_H_
#define MIGRATOR_COMMON_NET_SOCKET_UTIL_H_

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace net {
namespace internal {

using Clock = std::chrono::steady_clock;

// "host:port", or "[v6]:port" for an IPv6 literal.
std::string HostPort(absl::string_view host, int port);

// True when `host` is an IPv4 or IPv6 address literal (no brackets).
bool IsIpLiteral(const std::string& host);

// "[::1]" -> "::1"; anything else unchanged.
std::string StripBrackets(absl::string_view host);

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or `deadline` passes.
// Returns true when ready (also on POLLERR/POLLHUP: the next I/O call reports
// the error), false on timeout, kUnavailable when poll() itself fails. Retries
// on EINTR.
absl::StatusOr<bool> PollUntil(int fd, short events, Clock::time_point deadline);

// Resolves `host` (IPv4 and IPv6) and connects to each address in turn, each
// attempt bounded by `timeout`. Returns a connected, non-blocking,
// close-on-exec socket with TCP_NODELAY set; the caller owns it. Errors name
// host:port: kUnavailable (DNS failure, refused, unreachable),
// kDeadlineExceeded (every attempt timed out).
absl::StatusOr<int> ConnectTcp(const std::string& host, int port,
                               std::chrono::milliseconds timeout);

// Milliseconds as text, e.g. "200ms".
std::string FormatMs(std::chrono::milliseconds ms);

}  // namespace internal
}  // namespace net

#endif  // MIGRATOR_COMMON_NET_SOCKET_UTIL_H_
