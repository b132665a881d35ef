#include "common/rpc/transport_security.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace rpc {
namespace {

TEST(IsLocalAddress, UnixAndLoopbackOnly) {
  EXPECT_TRUE(IsLocalAddress("unix:/tmp/x.sock"));
  EXPECT_TRUE(IsLocalAddress("unix-abstract:foo"));
  EXPECT_TRUE(IsLocalAddress("127.0.0.1:7000"));
  EXPECT_TRUE(IsLocalAddress("127.5.6.7:1"));
  EXPECT_TRUE(IsLocalAddress("localhost:7000"));
  EXPECT_TRUE(IsLocalAddress("[::1]:7000"));
  EXPECT_TRUE(IsLocalAddress("ipv4:127.0.0.1:7000"));
  EXPECT_TRUE(IsLocalAddress("dns:///localhost:7000"));
  EXPECT_FALSE(IsLocalAddress("0.0.0.0:7000"));
  EXPECT_FALSE(IsLocalAddress("[::]:7000"));
  EXPECT_FALSE(IsLocalAddress("10.231.1.1:7000"));
  EXPECT_FALSE(IsLocalAddress("127.0.0.1.evil.example:7000"));
  EXPECT_FALSE(IsLocalAddress("coordinator.migrate.svc:7000"));
}

std::string WriteTemp(const std::string& text, int mode) {
  char path[] = "/tmp/tls-test-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::fchmod(fd, mode);
  ::close(fd);
  return path;
}

TEST(ResolveTransport, PlaintextOffLoopbackNeedsInsecure) {
  std::string warning;
  auto refused = ResolveTransport({}, Role::kServer, "0.0.0.0:7000", &warning);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--insecure"), std::string::npos);
  TlsFlags insecure;
  insecure.insecure = true;
  auto ok = ResolveTransport(insecure, Role::kClient, "10.0.0.1:7000", &warning);
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->tls);
  EXPECT_NE(warning.find("INSECURE"), std::string::npos);
  auto local = ResolveTransport({}, Role::kClient, "127.0.0.1:7000", &warning);
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(warning.empty());
}

TEST(ResolveTransport, CombinationsAndFiles) {
  std::string warning;
  std::string pem = "-----BEGIN X-----\nAA==\n-----END X-----\n";
  std::string ca = WriteTemp(pem, 0644), cert = WriteTemp(pem, 0644);
  std::string key = WriteTemp(pem, 0644);
  TlsFlags server{cert, key, "", "", false};
  EXPECT_FALSE(ResolveTransport(server, Role::kServer, "0.0.0.0:1", &warning).ok());
  server.ca_file = ca;
  auto m = ResolveTransport(server, Role::kServer, "0.0.0.0:1", &warning);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->tls);
  EXPECT_EQ(m->key_pem, pem);
  EXPECT_NE(warning.find("readable by other users"), std::string::npos);
  TlsFlags both = server;
  both.insecure = true;
  EXPECT_FALSE(ResolveTransport(both, Role::kServer, "0.0.0.0:1", &warning).ok());
  TlsFlags half{cert, "", ca, "", false};
  EXPECT_FALSE(ResolveTransport(half, Role::kClient, "h:1", &warning).ok());
  TlsFlags missing{"", "", "/nonexistent/ca.pem", "", false};
  EXPECT_EQ(ResolveTransport(missing, Role::kClient, "h:1", &warning).status().code(),
            absl::StatusCode::kNotFound);
  TlsFlags client{"", "", ca, "coord.example", false};
  auto c = ResolveTransport(client, Role::kClient, "10.0.0.1:1", &warning);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server_name, "coord.example");
  for (const std::string& p : {ca, cert, key}) ::unlink(p.c_str());
}

}  // namespace
}  // namespace rpc
