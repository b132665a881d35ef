// The roles of the fleet's client certificates (URI SANs), read from real certificates.
#include "common/rpc/peer_role.h"

#include "absl/strings/match.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"

namespace rpc {
namespace {

TEST(PeerRoleTest, EachCertificateGrantsItsRolesOnly) {
  auto pki = net::testing::TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  struct Case {
    const net::testing::CertKey& cert;
    bool worker, operator_;
  };
  const Case cases[] = {{(*pki)->worker(), true, false},
                        {(*pki)->operator_client(), false, true},
                        {(*pki)->no_role(), false, false},
                        {(*pki)->both_roles(), true, true},
                        {(*pki)->localhost(), false, false}};
  for (const Case& c : cases) {
    auto cert = ReadPeerCertificate(c.cert.cert_pem);
    ASSERT_TRUE(cert.ok()) << cert.status();
    EXPECT_EQ(CheckRole(*cert, PeerRole::kWorker).ok(), c.worker) << cert->subject;
    EXPECT_EQ(CheckRole(*cert, PeerRole::kOperator).ok(), c.operator_) << cert->subject;
  }
}

TEST(PeerRoleTest, ARefusalNamesTheCertificateAndTheRoleItNeeds) {
  auto pki = net::testing::TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  auto cert = ReadPeerCertificate((*pki)->operator_client().cert_pem);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->subject, "CN=operator");
  absl::Status st = CheckRole(*cert, PeerRole::kWorker);
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "'CN=operator' may not register as a worker")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "urn:imapsync-migrator:role:worker")) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "BEGIN CERTIFICATE")) << st;
  EXPECT_FALSE(ReadPeerCertificate("not a certificate").ok());
}

}  // namespace
}  // namespace rpc
