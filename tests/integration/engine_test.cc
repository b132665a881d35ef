// The engine's four modes for single accounts against real Dovecot A and B and a real
// filesystem store: export byte-exactness, incremental export, idempotent import,
// validate, hostile folder names, UIDVALIDITY changes, bad passwords, free-space guard,
// budgets (an import stopped by its byte budget and finished in the next window; the
// message pace).
#include "common/engine/engine.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/engine/connect.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "common/storage/fs_store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace {

namespace fs = std::filesystem;
using testing_fixtures::DovecotServer;

using testing_fixtures::AccountConfigOf;
using testing_fixtures::ServerConfigOf;

using Seen = testing_fixtures::ServedMessage;

// Every selectable folder of an account: UTF-8 name → messages sorted by body.
std::map<std::string, std::vector<Seen>> Snapshot(const DovecotServer& s, int user) {
  return testing_fixtures::MailboxSnapshot(s, user);
}

class EngineTest : public ::testing::Test {
 protected:
  // Servers offering COMPRESS=DEFLATE, and a config turning it on.
  bool compress_ = false;

  void SetUp() override {
    testing_fixtures::DovecotOptions o;
    o.users = 4;
    o.compress = compress_;
    auto servers = testing_fixtures::DovecotPair::Start(o);
    ASSERT_TRUE(servers.ok()) << servers.status();
    a_ = std::move(servers->a);
    b_ = std::move(servers->b);
    dir_ = a_->dir() + "/export";
    auto store = storage::OpenStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  engine::AccountResult Run(engine::Mode mode, const DovecotServer& server, int user,
                            double min_free_gb = 0, bool resync = false,
                            const engine::AccountTask& limits = engine::AccountTask()) {
    engine::AccountTask t = limits;  // the budget and pace fields (README "Budgets")
    t.mode = mode;
    t.server = ServerConfigOf(server);
    t.server.compress = compress_;
    t.server.messages_per_second = limits.server.messages_per_second;
    t.account = AccountConfigOf(server, user);
    t.min_free_gb = min_free_gb;
    t.resync_missing = resync;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  }

  // Seeds `n` messages into a folder of A (creating it over IMAP when not INBOX).
  void Seed(int user, const std::string& folder, int n, int salt) {
    const std::string& email = a_->users()[user].email;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> flags;
      if (i % 2) flags.push_back("\\Seen");
      if (i % 3 == 0) flags.push_back("$Forwarded");
      if (i % 5 == 0) flags.push_back("Project-X");
      ASSERT_TRUE(a_->SeedMessage(
                        email, folder,
                        testing_fixtures::GenerateMessage(salt * 1000 + i, 600 + (i * 131) % 5000),
                        flags, absl::FromUnixSeconds(1650000000 + salt * 100 + i))
                      .ok());
    }
  }

  size_t CountFiles(const std::string& suffix) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file() && absl::EndsWith(e.path().string(), suffix)) ++n;
    }
    return n;
  }

  std::unique_ptr<DovecotServer> a_, b_;
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(EngineTest, ExportImportValidateRoundTripIsExact) {
  for (int u = 0; u < 3; ++u) {
    Seed(u, "INBOX", 30, u * 10 + 1);
    Seed(u, "Work/Projects", 12, u * 10 + 2);
    Seed(u, "Sent", 7, u * 10 + 3);
    Seed(u, "R\xC3\xA9sum\xC3\xA9", 3, u * 10 + 4);
  }
  for (int u = 0; u < 3; ++u) {
    auto r = Run(engine::Mode::kExport, *a_, u);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.messages, 52u);
  }
  // Every .eml is byte-identical to what A serves; .json carries A's flags and dates.
  for (int u = 0; u < 3; ++u) {
    auto snap = Snapshot(*a_, u);
    const std::string base = dir_ + "/" + a_->users()[u].email;
    ASSERT_TRUE(fs::exists(base + "/Work/Projects/.folder.json"));
    ASSERT_TRUE(fs::exists(base + "/R\xC3\xA9sum\xC3\xA9/.folder.json"));
    auto meta =
        engine::FolderMetaFromJson(*store_->Get(a_->users()[u].email + "/Sent/.folder.json"));
    ASSERT_TRUE(meta.ok());
    EXPECT_EQ(meta->special_use, "\\Sent");
    EXPECT_EQ(meta->delimiter, "/");
  }
  for (int u = 0; u < 3; ++u) {
    auto r = Run(engine::Mode::kImport, *b_, u);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.messages, 52u);
    auto v = Run(engine::Mode::kValidate, *b_, u);
    EXPECT_TRUE(v.status.ok()) << v.status;
    // B's folders hold exactly A's messages, flags, keywords and dates.
    auto sa = Snapshot(*a_, u), sb = Snapshot(*b_, u);
    for (const auto& [name, msgs] : sa) {
      ASSERT_TRUE(sb.count(name)) << name;
      ASSERT_EQ(sb[name].size(), msgs.size()) << name;
      for (size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(sb[name][i].body, msgs[i].body) << name;
        EXPECT_EQ(sb[name][i].flags, msgs[i].flags) << name;
        EXPECT_EQ(sb[name][i].internaldate, msgs[i].internaldate) << name;
      }
    }
  }
}

class CompressedEngineTest : public EngineTest {
 protected:
  void SetUp() override {
    compress_ = true;
    EngineTest::SetUp();
  }
};

TEST_F(CompressedEngineTest, RoundTripOverDeflateIsExact) {
  // The sessions the engine opens really are compressed.
  config::ServerConfig server = ServerConfigOf(*a_);
  server.compress = true;
  auto s = engine::ConnectAccount(server, AccountConfigOf(*a_, 0), a_->users()[0].password);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->compressed());
  Seed(0, "INBOX", 25, 7);
  Seed(0, "Sent", 9, 8);
  auto e = Run(engine::Mode::kExport, *a_, 0);
  ASSERT_TRUE(e.status.ok()) << e.status;
  EXPECT_EQ(e.messages, 34u);
  auto i = Run(engine::Mode::kImport, *b_, 0);
  ASSERT_TRUE(i.status.ok()) << i.status;
  EXPECT_EQ(i.messages, 34u);
  auto v = Run(engine::Mode::kValidate, *b_, 0);
  EXPECT_TRUE(v.status.ok()) << v.status;
  auto sa = Snapshot(*a_, 0), sb = Snapshot(*b_, 0);
  for (const auto& [name, msgs] : sa) {
    ASSERT_EQ(sb[name].size(), msgs.size()) << name;
    for (size_t k = 0; k < msgs.size(); ++k) {
      EXPECT_EQ(sb[name][k].body, msgs[k].body) << name;
      EXPECT_EQ(sb[name][k].flags, msgs[k].flags) << name;
      EXPECT_EQ(sb[name][k].internaldate, msgs[k].internaldate) << name;
    }
  }
}

TEST_F(EngineTest, IncrementalExportAndIdempotentImport) {
  Seed(0, "INBOX", 20, 1);
  Seed(0, "Archive", 10, 2);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 0).status.ok());
  EXPECT_EQ(CountFiles(".eml"), 30u);
  auto again = Run(engine::Mode::kExport, *a_, 0);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  Seed(0, "INBOX", 5, 3);
  auto more = Run(engine::Mode::kExport, *a_, 0);
  ASSERT_TRUE(more.status.ok());
  EXPECT_EQ(more.messages, 5u);
  EXPECT_EQ(CountFiles(".eml"), 35u);

  ASSERT_TRUE(Run(engine::Mode::kImport, *b_, 0).status.ok());
  auto second = Run(engine::Mode::kImport, *b_, 0);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.messages, 0u);
  auto snap = Snapshot(*b_, 0);
  EXPECT_EQ(snap["INBOX"].size(), 25u);
  EXPECT_EQ(snap["Archive"].size(), 10u);
}

TEST_F(EngineTest, ImportAfterPartialAppendCreatesNoDuplicate) {
  Seed(1, "INBOX", 10, 7);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 1).status.ok());
  // As if an earlier import appended 4 messages and died before it saw the OKs.
  auto a = Snapshot(*a_, 1);
  auto b = testing_fixtures::LoginAs(*b_, 1);
  ASSERT_TRUE(b.ok()) << b.status();
  for (int i = 0; i < 4; ++i) {
    imap::AppendMessage m;
    m.flags = a["INBOX"][i].flags;
    m.internaldate = a["INBOX"][i].internaldate;
    m.body = std::make_shared<imap::StringLiteralSource>(a["INBOX"][i].body);
    ASSERT_TRUE(imap::Append(**b, "INBOX", m).ok());
  }
  auto r = Run(engine::Mode::kImport, *b_, 1);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 6u);
  auto snap = Snapshot(*b_, 1);
  ASSERT_EQ(snap["INBOX"].size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(snap["INBOX"][i].body, a["INBOX"][i].body);
}

TEST_F(EngineTest, MessageRewrittenByServerBStillCountsAsPresent) {
  Seed(1, "INBOX", 3, 8);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 1).status.ok());
  auto a = Snapshot(*a_, 1);
  auto b = testing_fixtures::LoginAs(*b_, 1);
  ASSERT_TRUE(b.ok()) << b.status();
  // B holds message 0 with the same Message-ID and date but other bytes (as a server that
  // normalises line endings would store it).
  imap::AppendMessage m;
  m.internaldate = a["INBOX"][0].internaldate;
  m.body = std::make_shared<imap::StringLiteralSource>(a["INBOX"][0].body + "\r\n");
  ASSERT_TRUE(imap::Append(**b, "INBOX", m).ok());
  auto r = Run(engine::Mode::kImport, *b_, 1);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 2u);
  auto v = Run(engine::Mode::kValidate, *b_, 1, 0, /*resync=*/true);
  EXPECT_TRUE(v.status.ok()) << v.status;
  EXPECT_EQ(v.messages, 0u);  // nothing appended again
  EXPECT_EQ(Snapshot(*b_, 1)["INBOX"].size(), 3u);
}

TEST_F(EngineTest, ValidateReportsMissingAndResyncFixesIt) {
  Seed(2, "INBOX", 8, 9);
  Seed(2, "Projects/Deep", 3, 10);  // a folder B does not have at all
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 2).status.ok());
  auto before = Run(engine::Mode::kValidate, *b_, 2);
  EXPECT_FALSE(before.status.ok());
  ASSERT_FALSE(before.folders.empty());
  uint64_t missing = 0;
  for (const auto& f : before.folders) {
    missing += f.missing;
    if (f.name == "Projects/Deep") {
      EXPECT_EQ(f.missing, 3u);
    }
  }
  EXPECT_EQ(missing, 11u);
  auto fixed = Run(engine::Mode::kValidate, *b_, 2, 0, /*resync=*/true);
  EXPECT_TRUE(fixed.status.ok()) << fixed.status;
  EXPECT_EQ(fixed.messages, 11u);
  EXPECT_EQ(Snapshot(*b_, 2)["INBOX"].size(), 8u);
  EXPECT_EQ(Snapshot(*b_, 2)["Projects/Deep"].size(), 3u);
}

TEST_F(EngineTest, WrongPasswordFailsWithAccountNamedAndNoSecret) {
  engine::AccountTask t;
  t.mode = engine::Mode::kExport;
  t.server = ServerConfigOf(*a_);
  t.account = AccountConfigOf(*a_, 0);
  t.account.password = "N0t-The-Passw0rd";
  engine::CancelToken cancel;
  auto r = engine::RunAccount(t, *store_, nullptr, cancel);
  EXPECT_TRUE(absl::IsUnauthenticated(r.status)) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), t.account.email)) << r.status;
  EXPECT_FALSE(absl::StrContains(r.status.message(), "N0t-The-Passw0rd"));
}

TEST_F(EngineTest, MinFreeSpaceAboveFreeRefusesExport) {
  Seed(0, "INBOX", 2, 1);
  auto r = Run(engine::Mode::kExport, *a_, 0, /*min_free_gb=*/1e9);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status)) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "min-free-gb")) << r.status;
  EXPECT_EQ(CountFiles(".eml"), 0u);
}

TEST_F(EngineTest, UidValidityChangeLosesNothingAndDuplicatesNothing) {
  Seed(3, "INBOX", 6, 5);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 3).status.ok());
  // Make Dovecot forget its UIDs: a new UIDVALIDITY for the same messages.
  auto path = a_->FolderPath(a_->users()[3].email, "INBOX");
  ASSERT_TRUE(path.ok());
  for (auto& e : fs::directory_iterator(*path)) {
    const std::string n = e.path().filename().string();
    if (absl::StartsWith(n, "dovecot-uidlist") || absl::StartsWith(n, "dovecot.index")) {
      fs::remove(e.path());
    }
  }
  Seed(3, "INBOX", 2, 6);
  auto r = Run(engine::Mode::kExport, *a_, 3);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 2u);          // only the new ones are written
  EXPECT_EQ(CountFiles(".eml"), 8u);  // nothing lost, nothing doubled
  auto again = Run(engine::Mode::kExport, *a_, 3);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.messages, 0u);
  ASSERT_TRUE(Run(engine::Mode::kImport, *b_, 3).status.ok());
  EXPECT_EQ(Snapshot(*b_, 3)["INBOX"].size(), 8u);
}

TEST_F(EngineTest, ImportStoppedByItsBudgetFinishesInTheNextWindowExactly) {
  Seed(0, "INBOX", 24, 7);
  ASSERT_TRUE(Run(engine::Mode::kExport, *a_, 0).status.ok());
  uint64_t total = 0;
  auto before = Snapshot(*a_, 0);
  for (const auto& m : before["INBOX"]) total += m.body.size();
  ASSERT_GT(total, 0u);
  engine::AccountTask limits;
  limits.budget_bytes = total / 2;
  limits.budget_spent = 1000;  // an earlier run of this window
  limits.budget_resume_at = absl::FromUnixSeconds(1'900'000'000);
  auto r = Run(engine::Mode::kImport, *b_, 0, 0, false, limits);
  // A budget stop: not a failure, the resume time handed back, nothing half-done counted.
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(),
                                "account user1@example.com: byte budget "
                                "spent"))
      << r.status;
  EXPECT_EQ(r.parked_until, limits.budget_resume_at);
  EXPECT_GT(r.messages, 0u);
  EXPECT_LT(r.messages, 24u);
  EXPECT_EQ(r.budget_used, r.bytes);  // exactly what went to B
  EXPECT_LE(r.budget_used + limits.budget_spent, limits.budget_bytes);
  for (const auto& f : r.folders) EXPECT_EQ(f.error, "") << f.name;  // not a folder error
  EXPECT_EQ(Snapshot(*b_, 0)["INBOX"].size(), r.messages);
  // The next window (with room for the rest): the rest goes, nothing twice.
  limits.budget_spent = 0;
  limits.budget_bytes = total;
  auto rest = Run(engine::Mode::kImport, *b_, 0, 0, false, limits);
  ASSERT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.parked_until, absl::InfinitePast());
  EXPECT_EQ(r.messages + rest.messages, 24u);
  EXPECT_EQ(r.bytes + rest.bytes, total);
  auto sa = Snapshot(*a_, 0), sb = Snapshot(*b_, 0);
  ASSERT_EQ(sb["INBOX"].size(), sa["INBOX"].size());
  for (size_t i = 0; i < sa["INBOX"].size(); ++i) {
    EXPECT_EQ(sb["INBOX"][i].body, sa["INBOX"][i].body);
  }
}

TEST_F(EngineTest, MessagesPerSecondPacesTheExport) {
  Seed(1, "INBOX", 30, 9);
  engine::AccountTask limits;
  limits.server.messages_per_second = 20;  // one second's burst (20), then 20/s
  const absl::Time start = absl::Now();
  auto r = Run(engine::Mode::kExport, *a_, 1, 0, false, limits);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 30u);
  // A lower bound only (never faster than the pace): 10 messages past the burst at 20/s.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
