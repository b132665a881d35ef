// Storage faults under export and import, on real Dovecots:
//   - A real small filesystem (a tmpfs of 640 KiB, mounted by the test: needs root, as CI
//     has) fills up in the middle of an export. The account stops with "disk full" naming
//     itself; every message the export records has its whole .eml (size and sha256 as its
//     .json say); no writer's temporary is left behind. After space is freed (the tmpfs
//     remounted larger), the same export resumes, fetches only what is missing, and the
//     export equals server A (bytes, flags, INTERNALDATE, per folder).
//   - EIO from the store (FaultStore, with the filesystem store's own error) on a commit of
//     an .eml, on a .json whose write succeeded but was reported failed, and on reading an
//     .eml during import: the account fails naming the cause (an import at once: the
//     connection is closed, no wait for an answer that cannot come), nothing half-written
//     counts, and the next run ends exact, with nothing appended twice on server B.
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/storage/fs_store.h"
#include "common/storage/store.h"
#include "common/storage/testing/fault_store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_check.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/pair_store_test.h"

namespace {

using testing_fixtures::DovecotServer;

using testing_fixtures::ExportProblems;
using testing_fixtures::ExportSnapshot;
using testing_fixtures::MailboxSnapshot;
using testing_fixtures::RecordedCount;

constexpr size_t kMessageSize = 50000;
constexpr int kInbox = 16, kArchive = 12;  // 28 messages, 1.4 MB

class StorageFaultsTest : public testing_fixtures::PairStoreTest {
 protected:
  void SetUp() override {
    PairStoreTest::SetUp();
    if (HasFatalFailure()) return;
    for (int i = 0; i < kInbox + kArchive; ++i) {
      const std::string folder = i < kInbox ? "INBOX" : "Archive";
      std::vector<std::string> flags = {"\\Seen"};
      if (i % 3 == 0) flags.push_back("$Label1");
      ASSERT_TRUE(a_->SeedMessage(email(), folder,
                                  testing_fixtures::GenerateMessage(100 + i, kMessageSize), flags,
                                  absl::FromUnixSeconds(1704067200 + i * 3600))
                      .ok());
    }
  }

  engine::AccountResult Run(engine::Mode mode, const DovecotServer& server, storage::Store& store) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = testing_fixtures::ServerConfigOf(server);
    t.account = testing_fixtures::AccountConfigOf(server, 0);
    engine::CancelToken cancel;
    return engine::RunAccount(t, store, nullptr, cancel);
  }

  // Writers' temporaries under `dir` (the filesystem store never lists them).
  static std::vector<std::string> Temporaries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (absl::StartsWith(e.path().filename().string(), ".tmp.")) out.push_back(e.path());
    }
    return out;
  }
};

TEST_F(StorageFaultsTest, ADiskThatFillsStopsTheExportCleanlyAndItResumesExact) {
  const std::string dir = a_->dir() + "/small";
  ASSERT_TRUE(std::filesystem::create_directories(dir));
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=640k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "): needs root";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{dir};
  auto opened = storage::OpenStore(dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  storage::Store& store = **opened;

  auto full = Run(engine::Mode::kExport, *a_, store);
  EXPECT_TRUE(absl::IsResourceExhausted(full.status)) << full.status;
  EXPECT_TRUE(absl::StrContains(full.status.message(), "disk full")) << full.status;
  EXPECT_TRUE(absl::StrContains(full.status.message(), email())) << full.status;
  // It stopped in the middle, not before the start: bodies were written. (Whether any
  // .json made it depends on timing: export writes a batch's .json once its .eml are
  // committed, and a full disk may refuse them too.)
  auto listed = store.List(email() + "/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [](const storage::ObjectInfo& o) {
    return absl::EndsWith(o.key, ".eml");
  }));
  const size_t recorded = RecordedCount(store, email());
  EXPECT_LT(recorded, size_t{kInbox + kArchive});
  EXPECT_EQ(ExportProblems(store, email()), std::vector<std::string>());
  EXPECT_EQ(Temporaries(dir), std::vector<std::string>());

  ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, "size=16m"), 0)
      << std::strerror(errno);
  auto resumed = Run(engine::Mode::kExport, *a_, store);
  ASSERT_TRUE(resumed.status.ok()) << resumed.status;
  EXPECT_EQ(resumed.messages, kInbox + kArchive - recorded);  // nothing fetched twice
  EXPECT_EQ(ExportProblems(store, email()), std::vector<std::string>());
  EXPECT_EQ(Temporaries(dir), std::vector<std::string>());
  EXPECT_EQ(ExportSnapshot(store, email()), MailboxSnapshot(*a_, 0));
}

TEST_F(StorageFaultsTest, IoErrorsFailTheAccountNamedAndTheNextRunIsExact) {
  const absl::Status eio = storage::ErrnoStatus(EIO, "commit", "(injected)", a_->dir());
  storage::FaultStore faulty(store_.get());
  faulty.AddFault({storage::FaultStore::Op::kCommit, 5, false, ".eml", false, eio});
  // A .json written, its OK lost: the message is recorded although export saw an error.
  faulty.AddFault({storage::FaultStore::Op::kCommit, 9, false, ".json", true, eio});
  auto first = Run(engine::Mode::kExport, *a_, faulty);
  EXPECT_FALSE(first.status.ok());
  EXPECT_TRUE(absl::StrContains(first.status.message(), "Input/output error")) << first.status;
  EXPECT_TRUE(absl::StrContains(first.status.message(), email())) << first.status;
  EXPECT_EQ(ExportProblems(*store_, email()), std::vector<std::string>());
  const size_t recorded = RecordedCount(*store_, email());
  EXPECT_LT(recorded, size_t{kInbox + kArchive});

  faulty.ClearFaults();
  auto again = Run(engine::Mode::kExport, *a_, faulty);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, kInbox + kArchive - recorded);
  const auto on_a = MailboxSnapshot(*a_, 0);
  EXPECT_EQ(ExportSnapshot(*store_, email()), on_a);

  // Import: reading the 4th .eml fails once (read again: no harm), and one message's .eml
  // cannot be read at all: the account fails naming it, at once (the APPEND it was in is
  // cut by closing the connection: a MULTIAPPEND is discarded whole, so its batch is not
  // on B); the next run appends what is missing, nothing twice.
  const absl::Status read_eio = storage::ErrnoStatus(EIO, "read", "(injected)", a_->dir());
  for (auto op : {storage::FaultStore::Op::kGet, storage::FaultStore::Op::kOpen}) {
    faulty.AddFault({op, 4, false, ".eml", false, read_eio});  // whichever way it is read
  }
  auto inbox = store_->List(email() + "/INBOX/");
  ASSERT_TRUE(inbox.ok());
  std::string unreadable;
  for (const auto& o : *inbox) {
    if (absl::EndsWith(o.key, ".eml")) unreadable = o.key;  // the last one
  }
  faulty.FailKeys(unreadable, read_eio);
  auto cut = Run(engine::Mode::kImport, *b_, faulty);
  EXPECT_FALSE(cut.status.ok());
  EXPECT_TRUE(absl::StrContains(cut.status.message(), "Input/output error")) << cut.status;
  EXPECT_TRUE(absl::StrContains(cut.status.message(), email())) << cut.status;
  EXPECT_TRUE(absl::StrContains(cut.status.message(), "-byte literal")) << cut.status;
  EXPECT_LT(cut.messages, size_t{kInbox + kArchive});
  faulty.ClearFaults();
  auto imported = Run(engine::Mode::kImport, *b_, faulty);
  ASSERT_TRUE(imported.status.ok()) << imported.status;
  EXPECT_EQ(cut.messages + imported.messages, size_t{kInbox + kArchive});
  const auto on_b = MailboxSnapshot(*b_, 0);
  for (const char* folder : {"INBOX", "Archive"}) {
    ASSERT_TRUE(on_b.count(folder)) << folder;
    EXPECT_EQ(on_b.at(folder), on_a.at(folder)) << folder;  // exact, nothing twice
  }
}

}  // namespace
