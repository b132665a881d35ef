// Selecting folders and messages against real Dovecots: server A with '.' as its
// separator, server B with '/'. Export keeps only the folders the rules select (RE2
// include / exclude on the UTF-8 name, a special use skipped; non-selectable parents are
// never an error) and only the messages of a date and size window (UID SEARCH on A);
// --just-folders builds B's tree without a message; an import with a narrower window
// appends only its messages, and validate with that window reports nothing missing.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace {

using testing_fixtures::DovecotOptions;
using testing_fixtures::DovecotServer;
using Counts = std::map<std::string, uint64_t>;

using testing_fixtures::ServerConfigOf;

absl::Time Day(int y, int m, int d, int hour = 12) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hour, 0, 0), absl::UTCTimeZone());
}

class SelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DovecotOptions oa;
    oa.separator = '.';
    auto a = DovecotServer::Start(oa);
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    auto b = DovecotServer::Start(DovecotOptions{});
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
    auto store = storage::OpenStore(a_->dir() + "/export");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    // Per folder, messages on days across 2019-2021 and sizes 1-9 KB; the window below
    // (2020, at most 6000 bytes) keeps some of each.
    const std::string& email = a_->users()[0].email;
    int n = 0;
    for (const char* folder : {"INBOX", "Work", "Work.Clients", "Junk", "Archive.2019"}) {
      for (int i = 0; i < 12; ++i, ++n) {
        const absl::Time date = Day(2019 + i % 3, 1 + i % 12, 1 + (n * 7) % 28);
        const size_t size = 1000 + (n * 761) % 8000;
        ASSERT_TRUE(a_->SeedMessage(email, folder, testing_fixtures::GenerateMessage(n, size),
                                    {i % 2 ? "\\Seen" : "$Label1"}, date)
                        .ok());
        seeded_[folder].push_back({date, size});
      }
    }
  }

  // Messages of `folder` seeded on A within [since, before) and at most max_size bytes.
  uint64_t Expected(const std::string& folder, absl::Time since, absl::Time before,
                    size_t max_size) const {
    uint64_t n = 0;
    for (const Seeded& m : seeded_.at(folder)) {
      n += m.date >= since && m.date < before && m.size <= max_size ? 1 : 0;
    }
    return n;
  }

  engine::AccountResult Run(engine::Mode mode, const DovecotServer& server,
                            const config::Selection& selection) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = ServerConfigOf(server);
    t.account.email = server.users()[0].email;
    t.account.password = server.users()[0].password;
    t.selection = selection;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  }

  struct Seeded {
    absl::Time date;
    size_t size;
  };
  std::map<std::string, std::vector<Seeded>> seeded_;
  std::unique_ptr<DovecotServer> a_, b_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(SelectionTest, FoldersAndMessagesAreSelectedOnEverySide) {
  // Export: not the archive (by name), not \Junk (by use), only Work's subtree besides the
  // INBOX and the other special-use folders; 2020's messages of at most 6000 bytes.
  config::Selection exp;
  exp.exclude_folders = "^Archive";
  exp.skip_special_use = {"\\Junk"};
  exp.since = "2020-01-01";
  exp.before = "2021-01-01";
  exp.max_size = 6000;
  auto exported = Run(engine::Mode::kExport, *a_, exp);
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  std::map<std::string, engine::FolderResult> by_name;
  for (const auto& f : exported.folders) by_name[f.name] = f;
  EXPECT_EQ(by_name.count("Junk"), 0u);
  EXPECT_EQ(by_name.count("Archive.2019"), 0u);
  EXPECT_EQ(by_name.count("Archive"), 0u);  // excluded by name too (its parent)
  const absl::Time since = Day(2020, 1, 1, 0), before = Day(2021, 1, 1, 0);
  uint64_t total = 0;
  for (const char* folder : {"INBOX", "Work", "Work.Clients"}) {
    ASSERT_EQ(by_name.count(folder), 1u) << folder;
    const uint64_t want = Expected(folder, since, before, 6000);
    EXPECT_GT(want, 0u) << folder;
    EXPECT_LT(want, 12u) << folder;  // the window left some out
    EXPECT_EQ(by_name[folder].transferred, want) << folder;
    EXPECT_EQ(by_name[folder].source_messages, want) << folder;
    total += want;
  }
  EXPECT_EQ(exported.messages, total);
  // An export of the same window again finds nothing new.
  auto again = Run(engine::Mode::kExport, *a_, exp);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);

  // --just-folders: B gets the tree ('/' as its separator), no message.
  config::Selection tree;
  tree.just_folders = true;
  auto built = Run(engine::Mode::kImport, *b_, tree);
  ASSERT_TRUE(built.status.ok()) << built.status;
  EXPECT_EQ(built.messages, 0u);
  Counts on_b = testing_fixtures::FolderCounts(*b_, 0);
  for (const char* folder : {"INBOX", "Work", "Work/Clients", "Sent", "Trash"}) {
    ASSERT_EQ(on_b.count(folder), 1u) << folder;
    EXPECT_EQ(on_b[folder], 0u) << folder;
  }

  // An import narrower than the export: only the first half of 2020, and not Work/Clients.
  config::Selection half;
  half.before = "2020-07-01";
  half.exclude_folders = "Clients$";
  auto imported = Run(engine::Mode::kImport, *b_, half);
  ASSERT_TRUE(imported.status.ok()) << imported.status;
  on_b = testing_fixtures::FolderCounts(*b_, 0);
  const absl::Time july = Day(2020, 7, 1, 0);
  EXPECT_EQ(on_b["INBOX"], Expected("INBOX", since, july, 6000));
  EXPECT_EQ(on_b["Work"], Expected("Work", since, july, 6000));
  EXPECT_EQ(on_b["Work/Clients"], 0u);
  // Validate with the same window: nothing missing (the rest was never meant for B).
  auto checked = Run(engine::Mode::kValidate, *b_, half);
  ASSERT_TRUE(checked.status.ok()) << checked.status;
  for (const auto& f : checked.folders) {
    EXPECT_EQ(f.missing, 0u) << f.name;
    EXPECT_NE(f.name, "Work.Clients");
  }
  // Validate of the whole export does see the rest as missing (the filter is what hid it).
  auto whole = Run(engine::Mode::kValidate, *b_, config::Selection());
  ASSERT_TRUE(whole.status.ok() || absl::IsFailedPrecondition(whole.status)) << whole.status;
  uint64_t missing = 0;
  for (const auto& f : whole.folders) missing += f.missing;
  EXPECT_EQ(missing, total - on_b["INBOX"] - on_b["Work"]);
}

}  // namespace

namespace {

// folder_map on real servers: a case-collision pair refused before anything moves on an
// "exchange" target, then merged by a rule; a localized special-use folder ("[Gmail].Gesendet"
// on A, no special-use attribute) lands in B's \Sent folder.
TEST_F(SelectionTest, FolderMapCollisionsAndLocalizedNamesOnRealServers) {
  const std::string& email = a_->users()[0].email;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a_->SeedMessage(email, "work", testing_fixtures::GenerateMessage(900 + i, 1500), {},
                                Day(2020, 3, 1 + i))
                    .ok());
    ASSERT_TRUE(a_->SeedMessage(email, "[Gmail].Gesendet",
                                testing_fixtures::GenerateMessage(950 + i, 1700), {"\\Seen"},
                                Day(2020, 4, 1 + i))
                    .ok());
  }
  config::Selection only;
  only.include_folders = "^(Work|work|\\[Gmail\\]\\.Gesendet)$";  // not A's own Sent folder
  auto exported = Run(engine::Mode::kExport, *a_, only);
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  const Counts before = testing_fixtures::FolderCounts(*b_, 0);

  auto import = [&](const config::FolderMap& map) {
    engine::AccountTask t;
    t.mode = engine::Mode::kImport;
    t.server = ServerConfigOf(*b_);
    t.account.email = b_->users()[0].email;
    t.account.password = b_->users()[0].password;
    t.folder_map = map;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  };
  config::FolderMap exchange;
  exchange.target = "exchange";
  auto refused = import(exchange);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status)) << refused.status;
  EXPECT_NE(refused.status.ToString().find("would both land in"), std::string::npos)
      << refused.status;
  EXPECT_EQ(testing_fixtures::FolderCounts(*b_, 0), before);  // nothing moved

  exchange.rules = {{"", "(?i)^work$", "Work", true}};
  auto merged = import(exchange);
  ASSERT_TRUE(merged.status.ok()) << merged.status;
  const Counts after = testing_fixtures::FolderCounts(*b_, 0);
  EXPECT_EQ(after.at("Work"), seeded_["Work"].size() + 3);  // both folders, merged
  EXPECT_EQ(after.count("work"), 0u);
  EXPECT_EQ(after.at("Sent"), 3u);  // the localized \Sent folder
  EXPECT_EQ(after.count("[Gmail]/Gesendet"), 0u);
  for (const auto& f : merged.folders) {
    if (f.name == "[Gmail].Gesendet") EXPECT_EQ(f.mapping, "localized name of \\Sent");
    if (f.name == "work") EXPECT_EQ(f.mapping, "rule 1");
  }
}

}  // namespace
