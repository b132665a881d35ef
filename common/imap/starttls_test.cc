// STARTTLS against a scripted TLS-capable server: bytes a man in the middle injects before
// the handshake (RFC 3207/CVE-2011-0411 style) are discarded, and capabilities are learnt
// again over TLS.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

std::string Tag(const std::string& line) { return line.substr(0, line.find(' ')); }

TEST(StartTlsTest, DataInjectedBeforeTheHandshakeIsDiscarded) {
  auto pki = net::testing::TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  const net::testing::CertKey cert = (*pki)->localhost();
  std::string after_tls;
  auto server = net::testing::TestServer::Start([&](net::testing::ServerConn& c) {
    std::string line;
    c.WriteAll("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n");
    if (!c.ReadLine(&line)) return;  // A1 STARTTLS
    // The OK and an injected response arrive in one segment, before the handshake.
    c.WriteAll(absl::StrCat(Tag(line), " OK begin TLS\r\n",
                            "* CAPABILITY IMAP4rev1 INJECTED\r\nA2 OK done\r\n"));
    if (!c.StartTls(cert)) return;
    if (!c.ReadLine(&line)) return;  // A2 CAPABILITY over TLS
    after_tls = line;
    c.WriteAll(absl::StrCat("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n", Tag(line), " OK\r\n"));
    c.ReadLine(&line);
  });
  ASSERT_TRUE(server.ok()) << server.status();
  SessionOptions o;
  o.connect.host = "127.0.0.1";
  o.connect.port = (*server)->port();
  o.connect.tls = net::TlsMode::kStartTls;
  o.connect.tls_options.ca_file = (*pki)->ca_file();
  auto s = Session::Connect(o);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE((*s)->HasCapability("INJECTED"));
  EXPECT_FALSE((*s)->HasCapability("LOGINDISABLED"));  // pre-TLS capabilities forgotten
  EXPECT_TRUE((*s)->HasCapability("AUTH=PLAIN"));
  EXPECT_EQ(after_tls, "A2 CAPABILITY\r\n");
  (*s)->Close();
}

TEST(StartTlsTest, ServerWithoutStartTlsIsRefusedNotDowngraded) {
  auto server = net::testing::TestServer::Start([](net::testing::ServerConn& c) {
    c.WriteAll("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n");
    c.DrainUntilEof();
  });
  ASSERT_TRUE(server.ok());
  SessionOptions o;
  o.connect.host = "127.0.0.1";
  o.connect.port = (*server)->port();
  o.connect.tls = net::TlsMode::kStartTls;
  auto s = Session::Connect(o);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("STARTTLS"), std::string::npos);
}

}  // namespace
}  // namespace imap
