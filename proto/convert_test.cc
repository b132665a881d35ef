// Wire round trips: what the coordinator sends a worker arrives whole (a field missing from
// the proto would silently reset a setting on every remote worker).
#include "proto/convert.h"

#include "gtest/gtest.h"

namespace {

TEST(ConvertTest, ServerConfigRoundTripKeepsEveryField) {
  config::ServerConfig in;
  in.host = "imap.example.com";
  in.port = 1993;
  in.ssl = false;
  in.starttls = true;
  in.ca_file = "/etc/ssl/ca.pem";
  in.tls_verify = false;
  in.max_connections_per_account = 7;
  in.compress = true;
  migrator::v1::ServerConfig wire;
  fleetproto::ToProto(in, &wire);
  config::ServerConfig out = fleetproto::FromProto(wire);
  EXPECT_EQ(out.host, in.host);
  EXPECT_EQ(out.port, in.port);
  EXPECT_EQ(out.ssl, in.ssl);
  EXPECT_EQ(out.starttls, in.starttls);
  EXPECT_EQ(out.ca_file, in.ca_file);
  EXPECT_EQ(out.tls_verify, in.tls_verify);
  EXPECT_EQ(out.max_connections_per_account, in.max_connections_per_account);
  EXPECT_EQ(out.compress, in.compress);
}

}  // namespace
