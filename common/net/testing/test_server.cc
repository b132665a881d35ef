#include "common/net/testing/test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace net {
namespace testing {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Makes a certificate for `key`, signed by `issuer`/`issuer_key` (self-signed
// when null); a leaf is for `eku` (extended key usage).
X509Ptr MakeCert(EVP_PKEY* key, const char* cn, const char* san, bool is_ca, X509* issuer,
                 EVP_PKEY* issuer_key, long serial, const char* eku = "serverAuth") {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = AddExt(cert.get(), signer, NID_basic_constraints,
                   is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            AddExt(cert.get(), signer, NID_key_usage,
                   is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            AddExt(cert.get(), signer, NID_subject_key_identifier, "hash") &&
            (issuer == nullptr ||
             AddExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always")) &&
            (san == nullptr || AddExt(cert.get(), signer, NID_subject_alt_name, san)) &&
            (is_ca || AddExt(cert.get(), signer, NID_ext_key_usage, eku));
  if (!ok) return nullptr;
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    return nullptr;
  }
  return cert;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

absl::StatusOr<CertKey> MakeLeaf(const char* cn, const char* san, X509* ca, EVP_PKEY* ca_key,
                                 long serial, const char* eku = "serverAuth") {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return absl::InternalError("EC key generation failed");
  X509Ptr cert = MakeCert(key.get(), cn, san, false, ca, ca_key, serial, eku);
  if (cert == nullptr) return absl::InternalError(absl::StrCat("cannot make certificate ", cn));
  return CertKey{CertPem(cert.get()), KeyPem(key.get())};
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create() {
  std::unique_ptr<TestPki> pki(new TestPki());
  const char* tmp = getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/mig_net_pki_XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  pki->dir_ = templ;
  PkeyPtr ca_key(EVP_EC_gen("P-256"));
  if (ca_key == nullptr) return absl::InternalError("EC key generation failed");
  X509Ptr ca = MakeCert(ca_key.get(), "mig_net test CA", nullptr, true, nullptr, nullptr, 1);
  if (ca == nullptr) return absl::InternalError("cannot make the CA certificate");
  pki->ca_file_ = pki->dir_ + "/ca.pem";
  std::ofstream(pki->ca_file_) << CertPem(ca.get());
  auto localhost =
      MakeLeaf("localhost", "DNS:localhost,IP:127.0.0.1,IP:::1", ca.get(), ca_key.get(), 2);
  auto other = MakeLeaf("other.example", "DNS:other.example", ca.get(), ca_key.get(), 3);
  auto self = MakeLeaf("localhost", "DNS:localhost,IP:127.0.0.1", nullptr, nullptr, 4);
  if (!localhost.ok()) return localhost.status();
  if (!other.ok()) return other.status();
  if (!self.ok()) return self.status();
  pki->localhost_ = *localhost;
  pki->other_ = *other;
  pki->self_ = *self;
  // Clients of the fleet (README "Security"): the role is a URI SAN.
  const std::pair<CertKey*, const char*> clients[] = {
      {&pki->worker_, "URI:urn:imapsync-migrator:role:worker,DNS:worker-1.test"},
      {&pki->operator_, "URI:urn:imapsync-migrator:role:operator"},
      {&pki->no_role_, "DNS:client.test"},
      {&pki->both_roles_,
       "URI:urn:imapsync-migrator:role:operator,URI:urn:imapsync-migrator:role:worker"}};
  const char* names[] = {"worker-1", "operator", "no-role", "both-roles"};
  for (size_t i = 0; i < 4; ++i) {
    auto c = MakeLeaf(names[i], clients[i].second, ca.get(), ca_key.get(),
                      10 + static_cast<long>(i), "clientAuth");
    if (!c.ok()) return c.status();
    *clients[i].first = *c;
  }
  return pki;
}

TestPki::~TestPki() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

ServerConn::ServerConn(int fd) : fd_(fd) {
  timeval tv{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

ServerConn::~ServerConn() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  close(fd_);
}

bool ServerConn::StartTls(const CertKey& cert) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  X509Ptr x(PEM_read_bio_X509(cb, nullptr, nullptr, nullptr));
  PkeyPtr k(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
  BIO_free(cb);
  BIO_free(kb);
  if (x == nullptr || k == nullptr || SSL_CTX_use_certificate(ctx_, x.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx_, k.get()) != 1) {
    return false;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  bool ok = SSL_accept(ssl_) == 1;
  ERR_clear_error();
  return ok;
}

bool ServerConn::WriteAll(absl::string_view data) {
  while (!data.empty()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      size_t w = 0;
      n = SSL_write_ex(ssl_, data.data(), data.size(), &w) == 1 ? static_cast<ssize_t>(w) : -1;
    } else {
      n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ssize_t ServerConn::Read(char* buf, size_t max) {
  if (!pending_.empty()) {
    size_t n = std::min(max, pending_.size());
    pending_.copy(buf, n);
    pending_.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  if (ssl_ != nullptr) {
    size_t got = 0;
    if (SSL_read_ex(ssl_, buf, max, &got) == 1) return static_cast<ssize_t>(got);
    int err = SSL_get_error(ssl_, 0);
    ERR_clear_error();
    return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  for (;;) {
    ssize_t n = recv(fd_, buf, max, 0);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

bool ServerConn::ReadLine(std::string* line) {
  line->clear();
  char c;
  for (;;) {
    ssize_t n = Read(&c, 1);
    if (n <= 0) return false;
    line->push_back(c);
    if (c == '\n') return true;
  }
}

bool ServerConn::ReadExactly(size_t n, std::string* out) {
  out->clear();
  char buf[16384];
  while (out->size() < n) {
    ssize_t got = Read(buf, std::min(sizeof(buf), n - out->size()));
    if (got <= 0) return false;
    out->append(buf, static_cast<size_t>(got));
  }
  return true;
}

void ServerConn::DrainUntilEof() {
  char buf[16384];
  while (Read(buf, sizeof(buf)) > 0) {
  }
}

void ServerConn::SendCloseNotify() {
  if (ssl_ != nullptr) SSL_shutdown(ssl_);
  ERR_clear_error();
}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(Handler handler) {
  std::unique_ptr<TestServer> server(new TestServer());
  server->handler_ = std::move(handler);
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (server->listen_fd_ < 0 ||
      bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(server->listen_fd_, 16) != 0 ||
      getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(server->wake_pipe_, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("test server setup: ", strerror(errno)));
  }
  server->port_ = ntohs(addr.sin_port);
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

TestServer::~TestServer() {
  if (thread_.joinable()) {
    char c = 'x';
    (void)!write(wake_pipe_[1], &c, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) close(fd);
  }
}

int TestServer::served() const { return served_.load(); }

void TestServer::Loop() {
  // SIGPIPE raised by this thread's writes stays pending instead of killing the
  // process; the client under test runs on other threads with the default
  // disposition.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      ServerConn conn(fd);
      handler_(conn);
    }
    served_.fetch_add(1);
  }
}

void EchoHandler(ServerConn& conn) {
  char buf[16384];
  for (;;) {
    ssize_t n = conn.Read(buf, sizeof(buf));
    if (n <= 0 || !conn.WriteAll(absl::string_view(buf, static_cast<size_t>(n)))) return;
  }
}

std::function<void(ServerConn&)> TlsEchoHandler(CertKey cert) {
  return [cert = std::move(cert)](ServerConn& conn) {
    if (conn.StartTls(cert)) EchoHandler(conn);
  };
}

}  // namespace testing
}  // namespace net
