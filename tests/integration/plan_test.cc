// Sizes (test --sizes) and dry runs of the engine against real Dovecot A (separator '/')
// and B (separator '.'), and a real filesystem store: counts and bytes equal what was
// seeded, the folder each maps to on B, and dry runs that plan exactly what the real run
// then does while the export tree and server B stay unchanged, byte for byte.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/tree_snapshot.h"

namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::TreeSnapshot;

constexpr char kResume[] = "R\xC3\xA9sum\xC3\xA9";  // "Résumé"

using testing_fixtures::AccountConfigOf;
using testing_fixtures::ServerConfigOf;

std::map<std::string, engine::FolderResult> ByName(const engine::AccountResult& r) {
  std::map<std::string, engine::FolderResult> out;
  for (const engine::FolderResult& f : r.folders) out[f.name] = f;
  return out;
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing_fixtures::DovecotOptions o;
    o.users = 1;
    auto a = DovecotServer::Start(o);
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    o.separator = '.';
    auto b = DovecotServer::Start(o);
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
    dir_ = a_->dir() + "/exported";
  }

  // Seeds messages of these sizes into a folder of `server`; returns their bytes.
  uint64_t Seed(DovecotServer& server, const std::string& folder, std::vector<size_t> sizes) {
    uint64_t bytes = 0;
    for (size_t size : sizes) {
      const uint64_t salt = ++seeded_;
      EXPECT_TRUE(server
                      .SeedMessage(server.users()[0].email, folder,
                                   testing_fixtures::GenerateMessage(salt, size), {"\\Seen"},
                                   absl::FromUnixSeconds(1700000000 + salt * 60))
                      .ok());
      bytes += size;
    }
    return bytes;
  }

  engine::AccountTask Task(engine::Mode mode, const DovecotServer& server) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = ServerConfigOf(server);
    t.account = AccountConfigOf(server, 0);
    return t;
  }

  engine::AccountResult Run(const engine::AccountTask& task, bool read_only) {
    auto store = read_only ? storage::OpenStoreReadOnly(dir_) : storage::OpenStore(dir_);
    EXPECT_TRUE(store.ok()) << store.status();
    engine::CancelToken cancel;
    return engine::RunAccount(task, **store, nullptr, cancel);
  }
  engine::AccountResult Real(engine::Mode mode, const DovecotServer& server) {
    return Run(Task(mode, server), /*read_only=*/false);
  }
  engine::AccountResult Dry(engine::Mode mode, const DovecotServer& server, bool resync = false) {
    engine::AccountTask t = Task(mode, server);
    t.dry_run = true;
    t.resync_missing = resync;
    return Run(t, /*read_only=*/true);
  }

  std::unique_ptr<DovecotServer> a_, b_;
  std::string dir_;
  uint64_t seeded_ = 0;
};

// The sizes of `server`'s folders as test --sizes reports them, and how they were learnt.
void ExpectSeededSizes(const engine::AccountResult& r, uint64_t inbox, uint64_t resume,
                       uint64_t work) {
  ASSERT_TRUE(r.status.ok()) << r.status;
  auto f = ByName(r);
  EXPECT_EQ(f["INBOX"].source_messages, 3u);
  EXPECT_EQ(f["INBOX"].source_bytes, inbox);
  EXPECT_EQ(f[kResume].source_messages, 2u);
  EXPECT_EQ(f[kResume].source_bytes, resume);
  EXPECT_EQ(f["Work/2024"].source_messages, 1u);
  EXPECT_EQ(f["Work/2024"].source_bytes, work);
  EXPECT_EQ(f["Empty"].source_messages, 0u);
  EXPECT_EQ(f["Empty"].source_bytes, 0u);
  EXPECT_EQ(f.count("Work"), 0u);  // not selectable (a missing parent)
}

std::string Notes(const engine::AccountResult& r) { return absl::StrJoin(r.notes, "\n"); }

TEST_F(PlanTest, SizesCountWhatWasSeededAndMapEveryFolderToServerB) {
  const uint64_t inbox = Seed(*a_, "INBOX", {600, 1200, 2400});
  const uint64_t resume = Seed(*a_, kResume, {700, 900});
  const uint64_t work = Seed(*a_, "Work/2024", {1000});
  ASSERT_TRUE(a_->CreateFolder(a_->users()[0].email, "Empty").ok());
  engine::AccountTask t = Task(engine::Mode::kTest, *a_);
  t.sizes = true;
  t.map_to = engine::AccountTask::Target{ServerConfigOf(*b_), AccountConfigOf(*b_, 0)};
  engine::AccountResult r = Run(t, /*read_only=*/true);
  ExpectSeededSizes(r, inbox, resume, work);
  EXPECT_TRUE(absl::StrContains(Notes(r), "from LIST-STATUS")) << Notes(r);
  EXPECT_TRUE(absl::StrContains(Notes(r), "6 message(s), 6800 byte(s)")) << Notes(r);
  auto f = ByName(r);
  // Import's mapping: B's delimiter, INBOX as such, special use; what B lacks is created.
  EXPECT_EQ(f["Work/2024"].target, "Work.2024");
  EXPECT_TRUE(f["Work/2024"].create);
  EXPECT_EQ(f[kResume].target, kResume);
  EXPECT_TRUE(f[kResume].create);
  EXPECT_EQ(f["INBOX"].target, "INBOX");
  EXPECT_FALSE(f["INBOX"].create);
  EXPECT_EQ(f["Sent"].target, "Sent");
  EXPECT_FALSE(f["Sent"].create);
  EXPECT_FALSE(TreeSnapshot(dir_).has_value());  // test mode wrote nothing
}

// Servers that do not offer LIST-STATUS, then STATUS=SIZE either: the same figures from
// STATUS (MESSAGES SIZE), then from EXAMINE and UID FETCH RFC822.SIZE.
TEST_F(PlanTest, SizesFallBackToStatusThenToFetchingSizes) {
  for (const std::vector<std::string>& without :
       {std::vector<std::string>{"LIST-STATUS"},
        std::vector<std::string>{"LIST-STATUS", "STATUS=SIZE"}}) {
    testing_fixtures::DovecotOptions o;
    o.users = 1;
    o.without_capabilities = without;
    auto server = DovecotServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    const uint64_t inbox = Seed(**server, "INBOX", {500, 800, 3000});
    const uint64_t resume = Seed(**server, kResume, {650, 2100});
    const uint64_t work = Seed(**server, "Work/2024", {4000});
    ASSERT_TRUE((*server)->CreateFolder((*server)->users()[0].email, "Empty").ok());
    engine::AccountTask t = Task(engine::Mode::kTest, **server);
    t.sizes = true;
    engine::AccountResult r = Run(t, /*read_only=*/true);
    ExpectSeededSizes(r, inbox, resume, work);
    const char* how = without.size() == 1 ? "from STATUS)" : "from FETCH RFC822.SIZE)";
    EXPECT_TRUE(absl::StrContains(Notes(r), how)) << Notes(r);
  }
}

TEST_F(PlanTest, DryRunExportWritesNothingAndPlansWhatTheExportFetches) {
  const uint64_t inbox = Seed(*a_, "INBOX", {900, 1500, 2200, 700, 3100});
  const uint64_t resume = Seed(*a_, kResume, {800, 1100});
  // Nothing exported yet: everything to fetch, every folder new; the directory is not made.
  engine::AccountResult first = Dry(engine::Mode::kExport, *a_);
  ASSERT_TRUE(first.status.ok()) << first.status;
  auto f = ByName(first);
  EXPECT_EQ(f["INBOX"].to_move, 5u);
  EXPECT_EQ(f["INBOX"].bytes_to_move, inbox);
  EXPECT_TRUE(f["INBOX"].create);
  EXPECT_EQ(f[kResume].to_move, 2u);
  EXPECT_EQ(f[kResume].bytes_to_move, resume);
  EXPECT_EQ(first.messages, 0u);
  EXPECT_FALSE(TreeSnapshot(dir_).has_value());
  // Exported; then new mail on A: the dry run plans only the new messages.
  ASSERT_TRUE(Real(engine::Mode::kExport, *a_).status.ok());
  const uint64_t more = Seed(*a_, "INBOX", {1300, 2600});
  const uint64_t fresh = Seed(*a_, "New", {1900});
  const auto before = TreeSnapshot(dir_);
  ASSERT_TRUE(before.has_value());
  engine::AccountResult plan = Dry(engine::Mode::kExport, *a_);
  ASSERT_TRUE(plan.status.ok()) << plan.status;
  EXPECT_EQ(TreeSnapshot(dir_), before);  // every file and directory, byte for byte
  f = ByName(plan);
  EXPECT_EQ(f["INBOX"].to_move, 2u);
  EXPECT_EQ(f["INBOX"].bytes_to_move, more);
  EXPECT_EQ(f["INBOX"].present, 5u);
  EXPECT_FALSE(f["INBOX"].create);
  EXPECT_EQ(f["New"].to_move, 1u);
  EXPECT_EQ(f["New"].bytes_to_move, fresh);
  EXPECT_TRUE(f["New"].create);
  EXPECT_EQ(f[kResume].to_move, 0u);
  EXPECT_EQ(f[kResume].present, 2u);
  EXPECT_EQ(plan.skipped, 7u);
  // The real run then does exactly that.
  engine::AccountResult real = Real(engine::Mode::kExport, *a_);
  ASSERT_TRUE(real.status.ok()) << real.status;
  for (const engine::FolderResult& r : real.folders) {
    EXPECT_EQ(r.transferred, f[r.name].to_move) << r.name;
    EXPECT_EQ(r.bytes, f[r.name].bytes_to_move) << r.name;
  }
}

// The run's selection applies to sizes and plans as to the real run: folders left out are
// not listed, message windows count only their messages.
TEST_F(PlanTest, SizesAndDryRunFollowTheSelection) {
  const std::string email = a_->users()[0].email;
  uint64_t recent = 0;
  for (int i = 0; i < 6; ++i) {  // three in 2023, three in 2024
    const std::string body = testing_fixtures::GenerateMessage(900 + i, 1000 + 100 * i);
    const absl::Time date = absl::FromUnixSeconds(i < 3 ? 1690000000 : 1720000000) + absl::Hours(i);
    ASSERT_TRUE(a_->SeedMessage(email, "INBOX", body, {}, date).ok());
    if (i >= 3) recent += body.size();
  }
  Seed(*a_, "Junk", {700, 800});
  config::Selection selection;
  selection.exclude_folders = "^Junk$";
  selection.since = "2024-01-01";
  engine::AccountTask sizes = Task(engine::Mode::kTest, *a_);
  sizes.sizes = true;
  sizes.selection = selection;
  engine::AccountResult r = Run(sizes, /*read_only=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status;
  auto f = ByName(r);
  EXPECT_EQ(f.count("Junk"), 0u);
  EXPECT_EQ(f["INBOX"].source_messages, 3u);
  EXPECT_EQ(f["INBOX"].source_bytes, recent);
  EXPECT_TRUE(absl::StrContains(Notes(r), "the message filters applied")) << Notes(r);
  engine::AccountTask plan = Task(engine::Mode::kExport, *a_);
  plan.dry_run = true;
  plan.selection = selection;
  engine::AccountResult p = Run(plan, /*read_only=*/true);
  ASSERT_TRUE(p.status.ok()) << p.status;
  f = ByName(p);
  EXPECT_EQ(f.count("Junk"), 0u);
  EXPECT_EQ(f["INBOX"].to_move, 3u);
  EXPECT_EQ(f["INBOX"].bytes_to_move, recent);
  engine::AccountTask real = plan;
  real.dry_run = false;
  engine::AccountResult done = Run(real, /*read_only=*/false);
  ASSERT_TRUE(done.status.ok()) << done.status;
  for (const engine::FolderResult& d : done.folders) {
    EXPECT_EQ(d.transferred, f[d.name].to_move) << d.name;
    EXPECT_EQ(d.bytes, f[d.name].bytes_to_move) << d.name;
  }
}

TEST_F(PlanTest, DryRunImportAndValidateChangeNothingOnServerBAndPlanTheOtherHalf) {
  Seed(*a_, "INBOX", {900, 1500, 2200, 700});
  Seed(*a_, kResume, {800, 1100});
  ASSERT_TRUE(Real(engine::Mode::kExport, *a_).status.ok());
  ASSERT_TRUE(Real(engine::Mode::kImport, *b_).status.ok());
  // The other half arrives on A and is exported; B has only the first half.
  const uint64_t half = Seed(*a_, "INBOX", {1000, 1800, 5200, 600});
  const uint64_t work = Seed(*a_, "Work/2025", {1200, 1400, 3300});
  ASSERT_TRUE(Real(engine::Mode::kExport, *a_).status.ok());
  const auto b_before = testing_fixtures::MailboxSnapshot(*b_, 0);
  const auto tree_before = TreeSnapshot(dir_);
  ASSERT_EQ(b_before.at("INBOX").size(), 4u);

  engine::AccountResult plan = Dry(engine::Mode::kImport, *b_);
  ASSERT_TRUE(plan.status.ok()) << plan.status;
  auto f = ByName(plan);
  EXPECT_EQ(f["INBOX"].present, 4u);
  EXPECT_EQ(f["INBOX"].to_move, 4u);
  EXPECT_EQ(f["INBOX"].bytes_to_move, half);
  EXPECT_FALSE(f["INBOX"].create);
  EXPECT_EQ(f["Work/2025"].target, "Work.2025");
  EXPECT_TRUE(f["Work/2025"].create);
  EXPECT_EQ(f["Work/2025"].to_move, 3u);
  EXPECT_EQ(f["Work/2025"].bytes_to_move, work);
  EXPECT_EQ(f[kResume].present, 2u);
  EXPECT_EQ(f[kResume].to_move, 0u);
  EXPECT_EQ(plan.skipped, 6u);
  EXPECT_EQ(plan.messages, 0u);

  // A known size limit of B: the message over it is planned as refused (never sent).
  engine::AccountTask limited = Task(engine::Mode::kImport, *b_);
  limited.dry_run = true;
  limited.server.max_message_size = 5000;
  engine::AccountResult capped = Run(limited, /*read_only=*/true);
  ASSERT_TRUE(capped.status.ok()) << capped.status;
  EXPECT_EQ(ByName(capped)["INBOX"].to_move, 3u);
  EXPECT_EQ(ByName(capped)["INBOX"].refused, 1u);
  EXPECT_EQ(ByName(capped)["INBOX"].bytes_to_move, half - 5200);

  // Validate: its comparison as always; with --resync-missing also what it would append.
  engine::AccountResult check = Dry(engine::Mode::kValidate, *b_);
  ASSERT_TRUE(check.status.ok()) << check.status;  // a dry run does not judge
  EXPECT_EQ(ByName(check)["INBOX"].missing, 4u);
  EXPECT_EQ(ByName(check)["INBOX"].to_move, 0u);
  engine::AccountResult resync = Dry(engine::Mode::kValidate, *b_, /*resync=*/true);
  ASSERT_TRUE(resync.status.ok()) << resync.status;
  EXPECT_EQ(ByName(resync)["INBOX"].to_move, 4u);
  EXPECT_EQ(ByName(resync)["Work/2025"].to_move, 3u);
  EXPECT_TRUE(ByName(resync)["Work/2025"].create);

  // Nothing changed: B's folders and every message (bytes, flags, dates), the export tree.
  EXPECT_EQ(testing_fixtures::MailboxSnapshot(*b_, 0), b_before);
  EXPECT_EQ(TreeSnapshot(dir_), tree_before);
  // The real import then appends exactly the plan.
  engine::AccountResult real = Real(engine::Mode::kImport, *b_);
  ASSERT_TRUE(real.status.ok()) << real.status;
  for (const engine::FolderResult& r : real.folders) {
    EXPECT_EQ(r.transferred, f[r.name].to_move) << r.name;
    EXPECT_EQ(r.bytes, f[r.name].bytes_to_move) << r.name;
  }
}

}  // namespace
