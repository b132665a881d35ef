// TCP and TLS transport: a non-blocking socket driven with poll() so that every
// Read, Write and handshake honours a timeout. See transport.h for the
// contract.
#include "common/net/transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/net/socket_util.h"
#include "common/net/tls_util.h"
#include "common/status/status_macros.h"

namespace net {
namespace {

using internal::Clock;
using internal::FormatMs;
using internal::OpenSslErrorText;

// Output is sent once this much is buffered, bounding memory per connection.
constexpr size_t kMaxWriteBuffer = 64 * 1024;

// What a wait is for: the handshake is bounded by connect_timeout alone, reads and writes
// also by the progress watch.
enum class Op { kHandshake, kRead, kWrite };

// A connected socket, plain or TLS. Owns the descriptor and the SSL object.
// Not thread-safe: use from one thread at a time.
class SocketConnection final : public Connection {
 public:
  SocketConnection(int fd, const ConnectOptions& options)
      : fd_(fd),
        host_(options.host),
        where_(internal::HostPort(options.host, options.port)),
        connect_timeout_(options.connect_timeout),
        io_timeout_(options.io_timeout),
        progress_(ProgressLimits{options.io_timeout, options.min_rate}) {}
  ~SocketConnection() override { Close(); }

  absl::StatusOr<size_t> Read(char* buf, size_t max) override;
  absl::Status Write(absl::string_view data) override;
  absl::Status Flush() override;
  void Close() override;
  std::string Describe() const override { return absl::StrCat(where_, " (", mode_, ")"); }
  absl::Status StartTls(const TlsOptions& options) override;
  bool IsTls() const override { return ssl_ != nullptr; }
  ProgressWatch* progress() override { return &progress_; }

  // Performs the client handshake; on success the connection speaks TLS as
  // `mode`.
  absl::Status Handshake(const TlsOptions& options, const char* mode);

 private:
  absl::Status CheckOpen() const;
  // Waits for `events` until `deadline`; kDeadlineExceeded "<what> timed out
  // after N", or the progress watch's error (reads and writes).
  absl::Status Wait(short events, absl::string_view what, Clock::time_point deadline,
                    std::chrono::milliseconds timeout, Op op);
  // Runs `op` (an SSL call, > 0 on success) until it completes, polling on
  // WANT_READ and WANT_WRITE. Sets `*ssl_error` to SSL_ERROR_NONE or the final
  // SSL_get_error() code.
  template <typename Call>
  absl::Status RunSsl(Call call, absl::string_view what, Clock::time_point deadline,
                      std::chrono::milliseconds timeout, Op op, int* ssl_error);
  // Converts a fatal SSL_get_error() code (after a read or write) to a status.
  absl::Status SslIoError(int ssl_error, absl::string_view what);
  absl::StatusOr<size_t> ReadPlain(char* buf, size_t max);
  absl::StatusOr<size_t> ReadTls(char* buf, size_t max);
  absl::Status SendAll(absl::string_view data);
  absl::StatusOr<size_t> SendSomePlain(absl::string_view data);
  absl::StatusOr<size_t> SendSomeTls(absl::string_view data);

  int fd_;
  const std::string host_;
  const std::string where_;  // "host:port"
  const std::chrono::milliseconds connect_timeout_;
  const std::chrono::milliseconds io_timeout_;
  ProgressWatch progress_;
  const char* mode_ = "plain";
  internal::SslPtr ssl_;
  bool ssl_failed_ = false;  // a fatal SSL error happened: no close_notify on Close
  bool closed_ = false;
  std::string write_buffer_;  // at most kMaxWriteBuffer bytes
};

absl::Status SocketConnection::CheckOpen() const {
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(where_, ": stream is closed"));
  return absl::OkStatus();
}

absl::Status SocketConnection::Wait(short events, absl::string_view what,
                                    Clock::time_point deadline, std::chrono::milliseconds timeout,
                                    Op op) {
  const bool watched = op != Op::kHandshake;
  const bool writing = op == Op::kWrite;
  for (;;) {
    const Clock::time_point start = Clock::now();
    Clock::time_point until = deadline;
    if (watched) {
      const ProgressWatch::Duration allowed = progress_.Allowance(writing);
      if (allowed < deadline - start) until = start + std::max(allowed, Clock::duration(0));
    }
    ASSIGN_OR_RETURN(bool ready, internal::PollUntil(fd_, events, until));
    if (watched) {
      progress_.Waited(Clock::now() - start, writing);
      RETURN_IF_ERROR(progress_.Check(writing, what));
    }
    if (ready) return absl::OkStatus();
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " timed out after ", FormatMs(timeout)));
    }
  }
}

template <typename Call>
absl::Status SocketConnection::RunSsl(Call call, absl::string_view what, Clock::time_point deadline,
                                      std::chrono::milliseconds timeout, Op op, int* ssl_error) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int ret = call();
    if (ret > 0) {
      *ssl_error = SSL_ERROR_NONE;
      return absl::OkStatus();
    }
    int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(
          Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, what, deadline, timeout, op));
      continue;
    }
    *ssl_error = err;
    return absl::OkStatus();
  }
}

absl::Status SocketConnection::SslIoError(int ssl_error, absl::string_view what) {
  const int saved_errno = errno;
  ssl_failed_ = true;
  const bool handshake = what == "handshake with";
  const unsigned long first = ERR_peek_error();
  std::string text = OpenSslErrorText();
  const bool unexpected_eof = (ssl_error == SSL_ERROR_SYSCALL && first == 0 && saved_errno == 0) ||
                              (ERR_GET_LIB(first) == ERR_LIB_SSL &&
                               ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (unexpected_eof) {
    return absl::UnavailableError(absl::StrCat("connection closed by ", where_,
                                               handshake ? " during the TLS handshake" : ""));
  }
  if (text.empty()) text = saved_errno != 0 ? strerror(saved_errno) : "unknown error";
  return absl::UnavailableError(absl::StrCat("TLS ", what, " ", where_, " failed: ", text));
}

absl::Status SocketConnection::Handshake(const TlsOptions& options, const char* mode) {
  RETURN_IF_ERROR(CheckOpen());
  absl::StatusOr<internal::SslPtr> ssl = internal::NewClientSsl(fd_, options, host_, where_);
  if (!ssl.ok()) {
    Close();
    return ssl.status();
  }
  ssl_ = std::move(*ssl);
  int err = SSL_ERROR_NONE;
  const std::string what = absl::StrCat("TLS handshake with ", where_);
  absl::Status s = RunSsl([this] { return SSL_connect(ssl_.get()); }, what,
                          Clock::now() + connect_timeout_, connect_timeout_, Op::kHandshake, &err);
  if (s.ok() && err == SSL_ERROR_NONE) {
    mode_ = mode;
    return absl::OkStatus();
  }
  const long verify_result = SSL_get_verify_result(ssl_.get());
  if (s.ok() && options.verify && verify_result != X509_V_OK) {
    s = absl::UnauthenticatedError(absl::StrCat("TLS certificate verification failed for ", where_,
                                                ": ",
                                                X509_verify_cert_error_string(verify_result)));
  } else if (s.ok()) {
    s = SslIoError(err, "handshake with");
  }
  ERR_clear_error();
  ssl_failed_ = true;
  Close();  // the connection is in an unknown state: nobody may use it any more
  return s;
}

absl::Status SocketConnection::StartTls(const TlsOptions& options) {
  RETURN_IF_ERROR(CheckOpen());
  if (ssl_ != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(where_, " already uses TLS"));
  }
  RETURN_IF_ERROR(Flush());
  return Handshake(options, "STARTTLS");
}

absl::StatusOr<size_t> SocketConnection::Read(char* buf, size_t max) {
  RETURN_IF_ERROR(CheckOpen());
  if (max == 0) return absl::InvalidArgumentError("Read with an empty buffer");
  // Never wait for an answer to a command that is still sitting in our buffer.
  RETURN_IF_ERROR(Flush());
  return ssl_ != nullptr ? ReadTls(buf, max) : ReadPlain(buf, max);
}

absl::StatusOr<size_t> SocketConnection::ReadPlain(char* buf, size_t max) {
  const Clock::time_point deadline = Clock::now() + io_timeout_;
  for (;;) {
    ssize_t n = recv(fd_, buf, max, 0);
    if (n >= 0) {
      progress_.Moved(static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      RETURN_IF_ERROR(
          Wait(POLLIN, absl::StrCat("read from ", where_), deadline, io_timeout_, Op::kRead));
      continue;
    }
    if (errno == ECONNRESET) {
      return absl::UnavailableError(absl::StrCat("connection reset by ", where_));
    }
    return absl::UnavailableError(absl::StrCat("read from ", where_, " failed: ", strerror(errno)));
  }
}

absl::StatusOr<size_t> SocketConnection::ReadTls(char* buf, size_t max) {
  size_t got = 0;
  int err = SSL_ERROR_NONE;
  // SSL_read_ex serves records OpenSSL already holds (SSL_pending) before
  // touching the socket, so we only poll when it asks for more input.
  RETURN_IF_ERROR(RunSsl([&] { return SSL_read_ex(ssl_.get(), buf, max, &got); },
                         absl::StrCat("read from ", where_), Clock::now() + io_timeout_,
                         io_timeout_, Op::kRead, &err));
  if (err == SSL_ERROR_NONE) {
    progress_.Moved(got);
    return got;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify: orderly end of stream
  return SslIoError(err, "read from");
}

absl::Status SocketConnection::Write(absl::string_view data) {
  RETURN_IF_ERROR(CheckOpen());
  while (!data.empty()) {
    if (write_buffer_.empty() && data.size() >= kMaxWriteBuffer) return SendAll(data);
    const size_t take = std::min(kMaxWriteBuffer - write_buffer_.size(), data.size());
    write_buffer_.append(data.data(), take);
    data.remove_prefix(take);
    if (write_buffer_.size() >= kMaxWriteBuffer) RETURN_IF_ERROR(Flush());
  }
  return absl::OkStatus();
}

absl::Status SocketConnection::Flush() {
  RETURN_IF_ERROR(CheckOpen());
  if (write_buffer_.empty()) return absl::OkStatus();
  absl::Status s = SendAll(write_buffer_);
  write_buffer_.clear();
  return s;
}

absl::Status SocketConnection::SendAll(absl::string_view data) {
  while (!data.empty()) {
    absl::StatusOr<size_t> n = ssl_ != nullptr ? SendSomeTls(data) : SendSomePlain(data);
    if (!n.ok()) return n.status();
    data.remove_prefix(*n);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> SocketConnection::SendSomePlain(absl::string_view data) {
  const Clock::time_point deadline = Clock::now() + io_timeout_;
  for (;;) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      progress_.Moved(static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      RETURN_IF_ERROR(
          Wait(POLLOUT, absl::StrCat("write to ", where_), deadline, io_timeout_, Op::kWrite));
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      return absl::UnavailableError(absl::StrCat("connection closed by ", where_));
    }
    return absl::UnavailableError(absl::StrCat("write to ", where_, " failed: ", strerror(errno)));
  }
}

absl::StatusOr<size_t> SocketConnection::SendSomeTls(absl::string_view data) {
  size_t written = 0;
  int err = SSL_ERROR_NONE;
  // Partial writes are enabled: each successful call is progress and restarts
  // the timeout.
  RETURN_IF_ERROR(
      RunSsl([&] { return SSL_write_ex(ssl_.get(), data.data(), data.size(), &written); },
             absl::StrCat("write to ", where_), Clock::now() + io_timeout_, io_timeout_, Op::kWrite,
             &err));
  if (err == SSL_ERROR_NONE) {
    progress_.Moved(written);
    return written;
  }
  return SslIoError(err, "write to");
}

void SocketConnection::Close() {
  if (closed_) return;
  closed_ = true;
  write_buffer_.clear();
  if (ssl_ != nullptr && !ssl_failed_ && SSL_is_init_finished(ssl_.get())) {
    // Best effort close_notify; the socket is non-blocking so this never waits.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  ssl_.reset();
  close(fd_);
  fd_ = -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connect(const ConnectOptions& options) {
  ASSIGN_OR_RETURN(int fd,
                   internal::ConnectTcp(options.host, options.port, options.connect_timeout));
  auto conn = std::make_unique<SocketConnection>(fd, options);
  if (options.tls == TlsMode::kImplicit) {
    RETURN_IF_ERROR(conn->Handshake(options.tls_options, "TLS"));
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace net
