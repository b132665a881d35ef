// Test helpers for mig_net (tests only, library mig_net_testing): a throwaway
// PKI made with the OpenSSL API, and a tiny in-process TCP/TLS server on
// 127.0.0.1 that runs a handler per accepted connection on its own thread.
//
// Thread-safety: TestPki is immutable after creation. TestServer's public
// methods are called from the test thread; the handler runs on the server
// thread, one connection at a time. ServerConn is used by the handler only.
#ifndef MIGRATOR_COMMON_NET_TESTING_TEST_SERVER_H_
#define MIGRATOR_COMMON_NET_TESTING_TEST_SERVER_H_

#include <openssl/ssl.h>
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace net {
namespace testing {

struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};

// A CA, three server certificates and four client certificates (EC P-256); the
// CA is written under a fresh temporary directory that the destructor removes.
class TestPki {
 public:
  static absl::StatusOr<std::unique_ptr<TestPki>> Create();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }  // the CA certificate (PEM)
  const CertKey& localhost() const { return localhost_; }  // CA-signed: localhost, 127.0.0.1, ::1
  const CertKey& other_host() const { return other_; }     // CA-signed: other.example
  const CertKey& self_signed() const { return self_; }     // self-signed: localhost, 127.0.0.1
  // CA-signed clientAuth certificates of the fleet's roles (URI SANs, README "Security"):
  // CN worker-1 (role worker), CN operator (role operator), CN no-role (none), CN
  // both-roles (both).
  const CertKey& worker() const { return worker_; }
  const CertKey& operator_client() const { return operator_; }
  const CertKey& no_role() const { return no_role_; }
  const CertKey& both_roles() const { return both_roles_; }

 private:
  TestPki() = default;
  std::string dir_;
  std::string ca_file_;
  CertKey localhost_, other_, self_;
  CertKey worker_, operator_, no_role_, both_roles_;
};

// One accepted connection (blocking socket, 10 s receive timeout so a test
// never hangs), plain until StartTls. Owned by the server loop; valid during
// the handler call.
class ServerConn {
 public:
  explicit ServerConn(int fd);
  ~ServerConn();
  ServerConn(const ServerConn&) = delete;
  ServerConn& operator=(const ServerConn&) = delete;

  // Server-side TLS handshake with `cert`. False on failure (e.g. the client
  // refused it).
  bool StartTls(const CertKey& cert);
  bool WriteAll(absl::string_view data);
  // Up to `max` bytes: > 0 read, 0 end of stream, < 0 error.
  ssize_t Read(char* buf, size_t max);
  // Reads through the next "\n" (included). False on EOF or error before it.
  bool ReadLine(std::string* line);
  // Reads exactly `n` bytes. False on EOF or error before that.
  bool ReadExactly(size_t n, std::string* out);
  // Reads until end of stream or error, discarding the data.
  void DrainUntilEof();
  // Sends a TLS close_notify (no-op when plain).
  void SendCloseNotify();
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string pending_;  // read ahead by ReadLine
};

class TestServer {
 public:
  using Handler = std::function<void(ServerConn&)>;
  // Listens on 127.0.0.1 (ephemeral port) and serves connections with
  // `handler`.
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(Handler handler);
  // Stops accepting and joins the server thread (after the current handler
  // returns).
  ~TestServer();

  int port() const { return port_; }
  // Number of connections whose handler has returned.
  int served() const;

 private:
  TestServer() = default;
  void Loop();

  Handler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> served_{0};
  std::thread thread_;
};

// Common handlers.
void EchoHandler(ServerConn& conn);                             // echoes until EOF
std::function<void(ServerConn&)> TlsEchoHandler(CertKey cert);  // handshake, then echo

}  // namespace testing
}  // namespace net

#endif  // MIGRATOR_COMMON_NET_TESTING_TEST_SERVER_H_
