#include "common/net/tls_util.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/net/socket_util.h"

namespace net {
namespace internal {
namespace {

struct CtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

bool IsRetriableErrno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

int FdOf(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

// A socket BIO writing with send(MSG_NOSIGNAL) so that a peer reset never
// raises SIGPIPE. The descriptor is kept in the BIO's num field and never
// closed by the BIO.
int SockWrite(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n = send(FdOf(bio), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && IsRetriableErrno(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SockRead(BIO* bio, char* data, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n = recv(FdOf(bio), data, static_cast<size_t>(len), 0);
  if (n < 0 && IsRetriableErrno(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long SockCtrl(BIO* bio, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_C_SET_FD:
      BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(*static_cast<int*>(ptr))));
      BIO_set_init(bio, 1);
      return 1;
    case BIO_C_GET_FD: {
      int fd = FdOf(bio);
      if (ptr != nullptr) *static_cast<int*>(ptr) = fd;
      return fd;
    }
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int SockPuts(BIO* bio, const char* str) {
  return SockWrite(bio, str, static_cast<int>(strlen(str)));
}

const BIO_METHOD* NoSigpipeSocketMethod() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "mig_socket");
    BIO_meth_set_write(m, SockWrite);
    BIO_meth_set_read(m, SockRead);
    BIO_meth_set_puts(m, SockPuts);
    BIO_meth_set_ctrl(m, SockCtrl);
    return m;
  }();
  return method;
}

absl::StatusOr<CtxPtr> NewClientContext(const TlsOptions& options, const std::string& where) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrorText()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!options.verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load CA file ", options.ca_file,
                                                     " for ", where, ": ", OpenSslErrorText()));
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot load the system CA store: ", OpenSslErrorText()));
  }
  return ctx;
}

}  // namespace

std::string OpenSslErrorText() {
  std::string text;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

absl::StatusOr<SslPtr> NewClientSsl(int fd, const TlsOptions& options, const std::string& host,
                                    const std::string& where) {
  ERR_clear_error();
  absl::StatusOr<CtxPtr> ctx = NewClientContext(options, where);
  if (!ctx.ok()) return ctx.status();
  SslPtr ssl(SSL_new(ctx->get()));  // takes its own reference on the context
  BIO* bio = BIO_new(NoSigpipeSocketMethod());
  if (ssl == nullptr || bio == nullptr) {
    BIO_free(bio);
    return absl::InternalError(absl::StrCat("SSL_new: ", OpenSslErrorText()));
  }
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO
  const std::string name = StripBrackets(options.server_name.empty() ? host : options.server_name);
  const bool ip = IsIpLiteral(name);
  if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl.get(), name.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid TLS server name '", name, "' for ", where));
  }
  if (!options.verify) {
    LOG(WARNING) << "TLS certificate verification is disabled for " << where
                 << ": the server's identity is not checked";
    return ssl;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
              : SSL_set1_host(ssl.get(), name.c_str());
  if (ok != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot verify TLS server name '", name, "' for ", where));
  }
  return ssl;
}

}  // namespace internal
}  // namespace net
