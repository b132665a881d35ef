// Transport tests over real loopback sockets with an in-process (TLS) server.
#include "common/net/transport.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/net/testing/test_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace net {
namespace {

using ::net::testing::CertKey;
using ::net::testing::ServerConn;
using ::net::testing::TestPki;
using ::net::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = pki->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  std::unique_ptr<TestServer> StartServer(TestServer::Handler handler) {
    auto server = TestServer::Start(std::move(handler));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  ConnectOptions Options(int port, TlsMode tls = TlsMode::kNone,
                         const std::string& host = "127.0.0.1") {
    ConnectOptions o;
    o.host = host;
    o.port = port;
    o.tls = tls;
    o.tls_options.ca_file = pki_->ca_file();
    o.connect_timeout = std::chrono::milliseconds(5000);
    o.io_timeout = std::chrono::milliseconds(5000);
    return o;
  }

  static TestPki* pki_;
};

TestPki* TransportTest::pki_ = nullptr;

// Reads exactly `n` bytes (or fails the test).
std::string ReadN(ByteStream& s, size_t n) {
  std::string out;
  char buf[8192];
  while (out.size() < n) {
    auto got = s.Read(buf, std::min(sizeof(buf), n - out.size()));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || *got == 0) break;
    out.append(buf, *got);
  }
  return out;
}

// Writes `request` in pieces, flushes, and expects it echoed back.
void ExpectEcho(ByteStream& s, const std::string& request) {
  for (size_t i = 0; i < request.size(); i += 3) {
    ASSERT_TRUE(s.Write(request.substr(i, 3)).ok());
  }
  ASSERT_TRUE(s.Flush().ok());
  EXPECT_EQ(ReadN(s, request.size()), request);
}

TEST_F(TransportTest, PlainEcho) {
  auto server = StartServer(testing::EchoHandler);
  auto conn = Connect(Options(server->port()));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_FALSE((*conn)->IsTls());
  EXPECT_EQ((*conn)->Describe(), absl::StrCat("127.0.0.1:", server->port(), " (plain)"));
  ExpectEcho(**conn, "a1 CAPABILITY\r\n");
  ExpectEcho(**conn, "a2 NOOP\r\n");
}

TEST_F(TransportTest, ImplicitTlsWithCaFileByIpAddress) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->localhost()));
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_TRUE((*conn)->IsTls());
  EXPECT_EQ((*conn)->Describe(), absl::StrCat("127.0.0.1:", server->port(), " (TLS)"));
  ExpectEcho(**conn, "a1 LOGIN user pass\r\n");
}

// "localhost" may resolve to ::1 first, where nothing listens: every address is
// tried.
TEST_F(TransportTest, ImplicitTlsByHostNameTriesEveryAddress) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->localhost()));
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit, "localhost"));
  ASSERT_TRUE(conn.ok()) << conn.status();
  ExpectEcho(**conn, "hello\r\n");
}

TEST_F(TransportTest, LargeTransferBothWays) {
  const size_t kSize = 4 << 20;
  std::string payload(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) payload[i] = static_cast<char>((i * 131) ^ (i >> 9));
  auto server = StartServer([&](ServerConn& c) {
    if (!c.StartTls(pki_->localhost())) return;
    std::string got;
    if (!c.ReadExactly(kSize, &got)) return;
    c.WriteAll(got == payload ? "MATCH\r\n" : "DIFFER\r\n");
    c.WriteAll(payload);
    c.SendCloseNotify();
  });
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_TRUE(conn.ok()) << conn.status();
  for (size_t i = 0; i < kSize; i += 1000)
    ASSERT_TRUE((*conn)->Write(payload.substr(i, 1000)).ok());
  ASSERT_TRUE((*conn)->Flush().ok());
  EXPECT_EQ(ReadN(**conn, 7), "MATCH\r\n");
  EXPECT_TRUE(ReadN(**conn, kSize) == payload);
  char c;
  auto eof = (*conn)->Read(&c, 1);  // close_notify: orderly end of stream
  ASSERT_TRUE(eof.ok()) << eof.status();
  EXPECT_EQ(*eof, 0u);
}

TEST_F(TransportTest, WrongHostNameIsUnauthenticated) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->other_host()));
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit, "localhost"));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated) << conn.status();
  EXPECT_EQ(conn.status().message(),
            absl::StrCat("TLS certificate verification failed for localhost:", server->port(),
                         ": hostname mismatch"));
}

TEST_F(TransportTest, WrongIpAddressIsUnauthenticated) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->other_host()));
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated) << conn.status();
  EXPECT_EQ(conn.status().message(),
            absl::StrCat("TLS certificate verification failed for 127.0.0.1:", server->port(),
                         ": IP address mismatch"));
}

TEST_F(TransportTest, WrongHostNameAcceptedWithoutVerification) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->other_host()));
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit, "localhost");
  o.tls_options.verify = false;
  o.tls_options.ca_file.clear();
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ExpectEcho(**conn, "ok\r\n");
}

TEST_F(TransportTest, ServerNameOverridesTheVerifiedName) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->other_host()));
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit);
  o.tls_options.server_name = "other.example";
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ExpectEcho(**conn, "ok\r\n");
}

TEST_F(TransportTest, SelfSignedWithoutCaFileIsUnauthenticated) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->self_signed()));
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit, "localhost");
  o.tls_options.ca_file.clear();  // the system store does not know it
  auto conn = Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated) << conn.status();
  EXPECT_THAT(std::string(conn.status().message()),
              StartsWith(absl::StrCat("TLS certificate verification failed for localhost:",
                                      server->port(), ": self-signed certificate")));
}

TEST_F(TransportTest, CertificateFromAnotherCaIsUnauthenticated) {
  // The system store knows neither our CA nor its leaf.
  auto server = StartServer(testing::TlsEchoHandler(pki_->localhost()));
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit, "localhost");
  o.tls_options.ca_file.clear();
  auto conn = Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated) << conn.status();
}

TEST_F(TransportTest, MissingCaFileIsInvalidArgument) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->localhost()));
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit);
  o.tls_options.ca_file = "/nonexistent/ca.pem";
  auto conn = Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kInvalidArgument) << conn.status();
}

TEST_F(TransportTest, TlsClientAgainstPlainServerIsUnavailable) {
  auto server = StartServer([](ServerConn& c) {
    c.WriteAll("* OK plain IMAP here\r\n");
    c.DrainUntilEof();
  });
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable) << conn.status();
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr(absl::StrCat("127.0.0.1:", server->port())));
}

// Plain greeting, STARTTLS, then the same socket speaks TLS.
void StartTlsServer(ServerConn& c, const CertKey& cert) {
  std::string line;
  if (!c.WriteAll("* OK ready\r\n") || !c.ReadLine(&line) || line != "a1 STARTTLS\r\n") return;
  if (!c.WriteAll("a1 OK begin TLS\r\n") || !c.StartTls(cert)) return;
  testing::EchoHandler(c);
}

TEST_F(TransportTest, StartTlsUpgradesInPlace) {
  auto server = StartServer([](ServerConn& c) { StartTlsServer(c, pki_->localhost()); });
  auto conn = Connect(Options(server->port(), TlsMode::kStartTls, "localhost"));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_FALSE((*conn)->IsTls());
  EXPECT_EQ(ReadN(**conn, 12), "* OK ready\r\n");
  ASSERT_TRUE((*conn)->Write("a1 STARTTLS\r\n").ok());
  ASSERT_TRUE((*conn)->Flush().ok());
  EXPECT_EQ(ReadN(**conn, 17), "a1 OK begin TLS\r\n");
  TlsOptions tls;
  tls.ca_file = pki_->ca_file();
  ASSERT_TRUE((*conn)->StartTls(tls).ok());
  EXPECT_TRUE((*conn)->IsTls());
  EXPECT_EQ((*conn)->Describe(), absl::StrCat("localhost:", server->port(), " (STARTTLS)"));
  ExpectEcho(**conn, "a2 LOGIN u p\r\n");
  EXPECT_EQ((*conn)->StartTls(tls).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TransportTest, StartTlsVerificationFailureIsUnauthenticated) {
  auto server = StartServer([](ServerConn& c) { StartTlsServer(c, pki_->other_host()); });
  auto conn = Connect(Options(server->port(), TlsMode::kStartTls, "localhost"));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(ReadN(**conn, 12), "* OK ready\r\n");
  ASSERT_TRUE((*conn)->Write("a1 STARTTLS\r\n").ok());
  EXPECT_EQ(ReadN(**conn, 17), "a1 OK begin TLS\r\n");  // Read flushes first
  TlsOptions tls;
  tls.ca_file = pki_->ca_file();
  absl::Status s = (*conn)->StartTls(tls);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_EQ(s.message(), absl::StrCat("TLS certificate verification failed for localhost:",
                                      server->port(), ": hostname mismatch"));
  char c;
  EXPECT_EQ((*conn)->Read(&c, 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A port bound but not listening refuses connections.
TEST_F(TransportTest, ConnectionRefusedIsUnavailable) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  auto conn = Connect(Options(port));
  close(fd);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable) << conn.status();
  EXPECT_THAT(std::string(conn.status().message()), HasSubstr(absl::StrCat("127.0.0.1:", port)));
  EXPECT_THAT(std::string(conn.status().message()), HasSubstr("refused"));
}

TEST_F(TransportTest, InvalidPortIsInvalidArgument) {
  auto conn = Connect(Options(0));
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TransportTest, SilentServerGivesReadDeadlineExceeded) {
  auto server = StartServer([](ServerConn& c) { c.DrainUntilEof(); });
  ConnectOptions o = Options(server->port());
  o.io_timeout = std::chrono::milliseconds(200);
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  char buf[16];
  const auto start = std::chrono::steady_clock::now();
  auto r = (*conn)->Read(buf, sizeof(buf));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(r.status().message(),
            absl::StrCat("read from 127.0.0.1:", server->port(), " timed out after 200ms"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(TransportTest, SilentTlsServerGivesReadDeadlineExceeded) {
  auto server = StartServer([](ServerConn& c) {
    if (c.StartTls(pki_->localhost())) c.DrainUntilEof();
  });
  ConnectOptions o = Options(server->port(), TlsMode::kImplicit);
  o.io_timeout = std::chrono::milliseconds(200);
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  char buf[16];
  auto r = (*conn)->Read(buf, sizeof(buf));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("read from 127.0.0.1:"));
}

// A server that never reads: the socket buffers fill and Write/Flush time out.
TEST_F(TransportTest, StuckPeerGivesWriteDeadlineExceeded) {
  absl::Notification done;
  auto server = StartServer([&](ServerConn& c) { done.WaitForNotification(); });
  ConnectOptions o = Options(server->port());
  o.io_timeout = std::chrono::milliseconds(200);
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  const std::string chunk(1 << 20, 'x');
  absl::Status s;
  for (int i = 0; i < 256 && s.ok(); ++i) s = (*conn)->Write(chunk);
  done.Notify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("write to 127.0.0.1:", server->port())));
}

TEST_F(TransportTest, PlainEndOfStreamIsZero) {
  auto server = StartServer([](ServerConn& c) { c.WriteAll("* BYE\r\n"); });
  auto conn = Connect(Options(server->port()));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(ReadN(**conn, 7), "* BYE\r\n");
  char c;
  auto r = (*conn)->Read(&c, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 0u);
}

TEST_F(TransportTest, TlsCloseWithoutCloseNotifyIsUnavailable) {
  auto server = StartServer([](ServerConn& c) {
    if (c.StartTls(pki_->localhost())) c.WriteAll("* BYE\r\n");
    // The socket is closed with no close_notify: a truncation attack looks the
    // same.
  });
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(ReadN(**conn, 7), "* BYE\r\n");
  char c;
  auto r = (*conn)->Read(&c, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(r.status().message(), absl::StrCat("connection closed by 127.0.0.1:", server->port()));
}

// Writing to a peer that has gone must give an error, not kill the process with
// SIGPIPE.
TEST_F(TransportTest, WriteToClosedPeerIsUnavailableWithoutSigpipe) {
  for (TlsMode mode : {TlsMode::kNone, TlsMode::kImplicit}) {
    auto server = StartServer([mode](ServerConn& c) {
      if (mode == TlsMode::kImplicit && !c.StartTls(pki_->localhost())) return;
      c.WriteAll("bye\r\n");
    });
    auto conn = Connect(Options(server->port(), mode));
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_EQ(ReadN(**conn, 5), "bye\r\n");
    server.reset();  // the server closed its end (the handler returned)
    absl::Status s;
    const std::string chunk(64 * 1024, 'y');
    for (int i = 0; i < 64 && s.ok(); ++i) s = (*conn)->Write(chunk);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
}

TEST_F(TransportTest, CloseIsIdempotentAndLaterCallsFail) {
  auto server = StartServer(testing::TlsEchoHandler(pki_->localhost()));
  auto conn = Connect(Options(server->port(), TlsMode::kImplicit));
  ASSERT_TRUE(conn.ok()) << conn.status();
  (*conn)->Close();
  (*conn)->Close();
  char c;
  EXPECT_EQ((*conn)->Read(&c, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*conn)->Write("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*conn)->Flush().code(), absl::StatusCode::kFailedPrecondition);
}

// A listener whose accept queue is full never completes the handshake of a new
// client.
TEST_F(TransportTest, ConnectTimeoutIsDeadlineExceeded) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(lfd, 0), 0);
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  // Fill the accept queue (backlog 0 holds one connection); the next client
  // times out.
  ConnectOptions o = Options(port);
  o.connect_timeout = std::chrono::milliseconds(300);
  std::vector<std::unique_ptr<Connection>> queued;
  absl::StatusOr<std::unique_ptr<Connection>> conn;
  for (int i = 0; i < 4; ++i) {
    conn = Connect(o);
    if (!conn.ok()) break;
    queued.push_back(std::move(*conn));
  }
  ASSERT_FALSE(conn.ok()) << "the accept queue never filled";
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kDeadlineExceeded) << conn.status();
  EXPECT_THAT(std::string(conn.status().message()),
              HasSubstr(absl::StrCat("connect to 127.0.0.1:", port, " timed out")));
  close(lfd);
}

}  // namespace
}  // namespace net
