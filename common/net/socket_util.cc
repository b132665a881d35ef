#include "common/net/socket_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace net {
namespace internal {
namespace {

// Text for an address, e.g. "127.0.0.1" or "[::1]".
std::string AddressText(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof(buf));
    return absl::StrCat("[", buf, "]");
  }
  return "?";
}

enum class AttemptResult { kConnected, kFailed, kTimedOut };

// One non-blocking connect attempt. On kConnected `*fd_out` holds the socket;
// otherwise
// `*error` describes the failure.
AttemptResult ConnectOne(const addrinfo* ai, std::chrono::milliseconds timeout, int* fd_out,
                         std::string* error) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *error = strerror(errno);
    return AttemptResult::kFailed;
  }
  int rc;
  do {
    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    *error = strerror(errno);
    close(fd);
    return AttemptResult::kFailed;
  }
  if (rc != 0) {
    absl::StatusOr<bool> ready = PollUntil(fd, POLLOUT, Clock::now() + timeout);
    if (!ready.ok() || !*ready) {
      *error = ready.ok() ? absl::StrCat("timed out after ", FormatMs(timeout))
                          : std::string(ready.status().message());
      close(fd);
      return ready.ok() ? AttemptResult::kTimedOut : AttemptResult::kFailed;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
    if (so_error != 0) {
      *error = strerror(so_error);
      close(fd);
      return AttemptResult::kFailed;
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *fd_out = fd;
  return AttemptResult::kConnected;
}

}  // namespace

std::string HostPort(absl::string_view host, int port) {
  if (host.find(':') != absl::string_view::npos && !host.empty() && host.front() != '[') {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string StripBrackets(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host.remove_prefix(1);
    host.remove_suffix(1);
  }
  return std::string(host);
}

std::string FormatMs(std::chrono::milliseconds ms) { return absl::StrCat(ms.count(), "ms"); }

absl::StatusOr<bool> PollUntil(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    // Round up so a sub-millisecond remainder still waits instead of spinning.
    int wait_ms = left.count() <= 0 ? 0 : static_cast<int>(left.count()) + 1;
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, wait_ms);
    if (rc > 0) return true;
    if (rc == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    if (errno == EINTR) continue;
    return absl::UnavailableError(absl::StrCat("poll failed: ", strerror(errno)));
  }
}

absl::StatusOr<int> ConnectTcp(const std::string& host, int port,
                               std::chrono::milliseconds timeout) {
  const std::string where = HostPort(host, port);
  if (host.empty() || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid address ", where));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* res = nullptr;
  const std::string port_text = std::to_string(port);
  int gai = getaddrinfo(StripBrackets(host).c_str(), port_text.c_str(), &hints, &res);
  if (gai != 0) {
    std::string reason = gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai);
    return absl::UnavailableError(absl::StrCat("cannot resolve ", where, ": ", reason));
  }
  std::vector<std::string> errors;
  bool all_timed_out = true;
  int fd = -1;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    std::string error;
    AttemptResult r = ConnectOne(ai, timeout, &fd, &error);
    if (r == AttemptResult::kConnected) break;
    if (r != AttemptResult::kTimedOut) all_timed_out = false;
    errors.push_back(absl::StrCat(AddressText(ai->ai_addr), ": ", error));
  }
  freeaddrinfo(res);
  if (fd >= 0) return fd;
  std::string detail = absl::StrJoin(errors, "; ");
  if (errors.empty()) detail = "no address";
  if (all_timed_out && !errors.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat("connect to ", where, " timed out (", detail, ")"));
  }
  return absl::UnavailableError(absl::StrCat("cannot connect to ", where, ": ", detail));
}

}  // namespace internal
}  // namespace net
