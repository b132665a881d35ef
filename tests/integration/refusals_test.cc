// Messages server B refuses, against a real Dovecot B with quota_max_mail_size (NO [LIMIT]),
// an advertised APPENDLIMIT and its refusal of zero-byte messages: import skips and records
// them and ends ok, every other message is exact on B, validate reports them as refused (not
// missing), a re-run appends nothing, --strict fails the account.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace {

using testing_fixtures::DovecotOptions;
using testing_fixtures::DovecotServer;

constexpr uint64_t kMaxMailSize = 20000;  // B's quota_max_mail_size: NO [LIMIT] above
constexpr uint64_t kAppendLimit = 60000;  // B's advertised APPENDLIMIT: never sent above

using testing_fixtures::ServerConfigOf;

using Seen = testing_fixtures::ServedMessage;

std::vector<Seen> Messages(const DovecotServer& s, const std::string& folder) {
  auto session = testing_fixtures::LoginAs(s, 0);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  return testing_fixtures::MessagesIn(**session, folder);
}

class RefusalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = DovecotServer::Start(DovecotOptions{});
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    DovecotOptions ob;
    ob.max_mail_size = kMaxMailSize;
    ob.append_limit = kAppendLimit;
    auto b = DovecotServer::Start(ob);
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
    auto store = storage::OpenStore(a_->dir() + "/export");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  engine::AccountResult Run(engine::Mode mode, const DovecotServer& server, bool strict = false,
                            bool resync = false) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = ServerConfigOf(server);
    t.account.email = server.users()[0].email;
    t.account.password = server.users()[0].password;
    t.strict = strict;
    t.resync_missing = resync;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  }

  // Normal messages with flags and keywords, and among them (by index) the ones B refuses.
  void Seed(const std::string& folder, int n, const std::map<int, size_t>& special, int salt) {
    const std::string& email = a_->users()[0].email;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> flags;
      if (i % 2) flags.push_back("\\Seen");
      if (i % 3 == 0) flags.push_back("$Forwarded");
      auto it = special.find(i);
      const size_t size = it != special.end() ? it->second : 600 + (i * 131) % 5000;
      const std::string body =
          size == 0 ? std::string() : testing_fixtures::GenerateMessage(salt * 1000 + i, size);
      ASSERT_TRUE(a_->SeedMessage(email, folder, body, flags,
                                  absl::FromUnixSeconds(1650000000 + salt * 100 + i))
                      .ok());
    }
  }

  std::unique_ptr<DovecotServer> a_, b_;
  std::unique_ptr<storage::Store> store_;
};

std::map<std::string, const engine::FolderResult*> ByName(const engine::AccountResult& r) {
  std::map<std::string, const engine::FolderResult*> out;
  for (const auto& f : r.folders) out[f.name] = &f;
  return out;
}

TEST_F(RefusalsTest, RefusedMessagesAreSkippedRecordedAndReportedAsRefused) {
  // INBOX: 30 messages; #4 over B's size limit (refused by B: [LIMIT]), #11 empty (refused
  // by B), #20 over APPENDLIMIT (never sent). Work: 12 messages, #0 over the size limit.
  Seed("INBOX", 30, {{4, 25000}, {11, 0}, {20, 80000}}, 1);
  Seed("Work", 12, {{0, 30000}}, 2);
  auto exp = Run(engine::Mode::kExport, *a_);
  ASSERT_TRUE(exp.status.ok()) << exp.status;
  ASSERT_EQ(exp.messages, 42u);

  auto imp = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(imp.status.ok()) << imp.status;
  EXPECT_EQ(imp.messages, 38u);
  EXPECT_EQ(imp.refused, 4u);
  auto folders = ByName(imp);
  ASSERT_TRUE(folders.count("INBOX") && folders.count("Work"));
  const engine::FolderResult& inbox = *folders["INBOX"];
  EXPECT_EQ(inbox.refused, 3u);
  EXPECT_EQ(inbox.missing, 0u);
  std::map<uint32_t, engine::RefusedMessage> by_uid;
  for (const auto& m : inbox.refused_messages) by_uid[m.uid] = m;
  ASSERT_EQ(by_uid.size(), 3u);
  // Seeded UIDs are 1-based in seeding order.
  EXPECT_EQ(by_uid[5].size, 25000u);
  EXPECT_EQ(by_uid[5].kind, "too big");
  EXPECT_NE(by_uid[5].reason.find("[LIMIT] Mail size is larger"), std::string::npos)
      << by_uid[5].reason;
  EXPECT_EQ(by_uid[12].size, 0u);
  EXPECT_EQ(by_uid[12].kind, "zero length");
  EXPECT_NE(by_uid[12].reason.find("zero byte message"), std::string::npos) << by_uid[12].reason;
  EXPECT_EQ(by_uid[21].size, 80000u);
  EXPECT_NE(by_uid[21].reason.find("not sent"), std::string::npos) << by_uid[21].reason;
  EXPECT_NE(by_uid[21].reason.find("APPENDLIMIT=60000"), std::string::npos);
  EXPECT_FALSE(by_uid[21].internaldate.empty());
  ASSERT_EQ(folders["Work"]->refused_messages.size(), 1u);
  EXPECT_EQ(folders["Work"]->refused_messages[0].uid, 1u);

  // Every other message is on B exactly once, byte for byte, with its flags and date.
  for (const std::string folder : {"INBOX", "Work"}) {
    std::vector<Seen> want;
    for (const Seen& s : Messages(*a_, folder)) {
      if (s.body.size() <= kMaxMailSize && !s.body.empty()) want.push_back(s);
    }
    EXPECT_EQ(Messages(*b_, folder), want) << folder;
  }

  // Validate: refused, not missing; the account is fine.
  auto val = Run(engine::Mode::kValidate, *b_);
  EXPECT_TRUE(val.status.ok()) << val.status;
  EXPECT_EQ(val.refused, 4u);
  for (const auto& f : val.folders) EXPECT_EQ(f.missing, 0u) << f.name;
  EXPECT_EQ(ByName(val)["INBOX"]->refused, 3u);

  // A re-run appends nothing new (the refused ones are refused again).
  auto again = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  EXPECT_EQ(again.refused, 4u);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)), 38u);

  // --strict: any refusal fails the account (import and validate).
  auto strict = Run(engine::Mode::kImport, *b_, /*strict=*/true);
  EXPECT_TRUE(absl::IsFailedPrecondition(strict.status)) << strict.status;
  EXPECT_NE(std::string(strict.status.message()).find("--strict"), std::string::npos);
  EXPECT_EQ(strict.messages, 0u);
  EXPECT_FALSE(Run(engine::Mode::kValidate, *b_, /*strict=*/true).status.ok());

  // Without the record, validate still knows what the known limit explains (the message over
  // APPENDLIMIT); the others are missing.
  ASSERT_TRUE(store_->Delete(a_->users()[0].email + "/" + engine::kRefusedName).ok());
  auto bare = Run(engine::Mode::kValidate, *b_);
  EXPECT_FALSE(bare.status.ok());
  EXPECT_EQ(ByName(bare)["INBOX"]->refused, 1u);
  EXPECT_EQ(ByName(bare)["INBOX"]->missing, 2u);
  // --resync-missing imports again (refused again, recorded again): validate is fine.
  auto resync = Run(engine::Mode::kValidate, *b_, /*strict=*/false, /*resync=*/true);
  EXPECT_TRUE(resync.status.ok()) << resync.status;
  EXPECT_EQ(resync.refused, 4u);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)), 38u);
}

TEST_F(RefusalsTest, ConfigMaxMessageSizeIsAppliedBeforeSending) {
  Seed("INBOX", 6, {{2, 15000}}, 3);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_).status.ok());
  engine::AccountTask t;
  t.mode = engine::Mode::kImport;
  t.server = ServerConfigOf(*b_);
  t.server.max_message_size = 10000;
  t.account.email = b_->users()[0].email;
  t.account.password = b_->users()[0].password;
  engine::CancelToken cancel;
  auto r = engine::RunAccount(t, *store_, nullptr, cancel);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 5u);
  ASSERT_EQ(r.refused, 1u);
  ASSERT_EQ(ByName(r)["INBOX"]->refused_messages.size(), 1u);
  const auto& m = ByName(r)["INBOX"]->refused_messages[0];
  EXPECT_EQ(m.uid, 3u);
  EXPECT_NE(m.reason.find("max_message_size 10000 of the config"), std::string::npos) << m.reason;
}

}  // namespace
