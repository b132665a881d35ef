// The engine on an S3-compatible object store (s3rver behind a SigV4 verifier): export
// from Dovecot A into s3://bucket/prefix, incremental re-export, import into Dovecot B,
// validate. The object store has no rename and no fsync: CommitAs is one PUT.
#include <memory>
#include <string>

#include "common/engine/engine.h"
#include "common/storage/s3_store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"
#include "tests/s3/s3_test_server.h"

namespace {

using testing_fixtures::DovecotServer;

engine::AccountResult RunMode(engine::Mode mode, const DovecotServer& s, storage::Store& store) {
  engine::AccountTask t;
  t.mode = mode;
  t.server.host = s.host();
  t.server.port = s.imaps_port();
  t.server.ssl = true;
  t.server.ca_file = s.ca_file();
  t.account.email = s.users()[0].email;
  t.account.password = s.users()[0].password;
  engine::CancelToken cancel;
  return engine::RunAccount(t, store, nullptr, cancel);
}

TEST(S3EngineTest, ExportImportValidateThroughAnObjectStore) {
  auto s3 = testing_s3::S3TestServer::Start("mail-export");
  if (absl::IsUnavailable(s3.status())) GTEST_SKIP() << s3.status().message();
  ASSERT_TRUE(s3.ok()) << s3.status();
  auto store = storage::S3Store::Create((*s3)->Options("job-1"));
  ASSERT_TRUE(store.ok()) << store.status();
  testing_fixtures::DovecotOptions o;
  o.users = 1;
  auto servers = testing_fixtures::DovecotPair::Start(o);
  ASSERT_TRUE(servers.ok()) << servers.status();
  DovecotServer &a = *servers->a, &b = *servers->b;
  testing_fixtures::SeedOptions so;
  so.random_flags = true;
  so.seed = 4;
  const std::string email = a.users()[0].email;
  ASSERT_TRUE(a.SeedGenerated(email, "INBOX", 40, so).ok());
  ASSERT_TRUE(a.SeedGenerated(email, "Projects/R\xC3\xA9sum\xC3\xA9", 15, so).ok());

  auto ex = RunMode(engine::Mode::kExport, a, **store);
  ASSERT_TRUE(ex.status.ok()) << ex.status;
  EXPECT_EQ(ex.messages, 55u);
  auto again = RunMode(engine::Mode::kExport, a, **store);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  auto im = RunMode(engine::Mode::kImport, b, **store);
  ASSERT_TRUE(im.status.ok()) << im.status;
  EXPECT_EQ(im.messages, 55u);
  auto va = RunMode(engine::Mode::kValidate, b, **store);
  EXPECT_TRUE(va.status.ok()) << va.status;
  auto ca = testing_fixtures::FolderCounts(a, 0), cb = testing_fixtures::FolderCounts(b, 0);
  EXPECT_EQ(testing_fixtures::TotalCount(ca), 55u);
  for (const auto& [name, n] : ca) EXPECT_EQ(cb[name], n) << name;
  auto stats = (*s3)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected, 0);  // every request carried a valid signature
  EXPECT_GT(stats->verified, 110);
}

// 503 SlowDown, resets and timeouts are retried request by request, with backoff: the
// export and the import succeed without restarting a folder (no reconnect, which a failed
// step would cost), exact on B.
TEST(S3EngineTest, SlowDownAndResetsAreRetriedPerRequestNotPerFolder) {
  auto s3 = testing_s3::S3TestServer::Start("mail-slow");
  if (absl::IsUnavailable(s3.status())) GTEST_SKIP() << s3.status().message();
  ASSERT_TRUE(s3.ok()) << s3.status();
  storage::S3Options options = (*s3)->Options("slow");
  options.http.request_timeout = absl::Seconds(1);
  options.max_attempts = 6;  // the injections may all hit one request (a sequential one)
  auto store = storage::S3Store::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();
  testing_fixtures::DovecotOptions o;
  o.users = 1;
  auto servers = testing_fixtures::DovecotPair::Start(o);
  ASSERT_TRUE(servers.ok()) << servers.status();
  DovecotServer &a = *servers->a, &b = *servers->b;
  testing_fixtures::SeedOptions so;
  so.seed = 9;
  ASSERT_TRUE(a.SeedGenerated(a.users()[0].email, "INBOX", 30, so).ok());

  ASSERT_TRUE((*s3)->Inject(503, "SlowDown", 4, "PUT").ok());
  ASSERT_TRUE((*s3)->Inject(0, "", 1, "PUT").ok());  // a reset
  auto ex = RunMode(engine::Mode::kExport, a, **store);
  ASSERT_TRUE(ex.status.ok()) << ex.status;
  EXPECT_EQ(ex.messages, 30u);
  EXPECT_EQ(ex.reconnects, 0u) << "a folder was restarted";
  ASSERT_TRUE((*s3)->Inject(503, "SlowDown", 3, "GET").ok());
  ASSERT_TRUE((*s3)->Inject(0, "", 1, "GET", 2500).ok());  // later than the request timeout
  auto im = RunMode(engine::Mode::kImport, b, **store);
  ASSERT_TRUE(im.status.ok()) << im.status;
  EXPECT_EQ(im.messages, 30u);
  EXPECT_EQ(im.reconnects, 0u) << "a folder was restarted";
  auto stats = (*s3)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->injected, 9);
  EXPECT_GE((*store)->request_counts().retries, 8u);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(b, 0)), 30u);
}

}  // namespace
