// Gmail labels and --skip-cross-duplicates on real Dovecots. Gmail is emulated by the Gmail
// proxy (tests/fixtures/gmail_proxy.h) in front of Dovecot A: X-GM-EXT-1, X-GM-MSGID and
// X-GM-LABELS over A's own mail, "[Gmail]/All Mail" listed as \All. A holds each message
// as Gmail shows it: in All Mail and in the folder of each of its labels.
//   - Export writes every message of All Mail once, with its labels; the label folders are
//     recorded without messages; Trash (not in All Mail) is exported as it is. Without the
//     proxy (no X-GM-EXT-1) the same server is exported folder by folder, as before.
//   - Import onto a plain Dovecot B puts one copy in each label's folder (an archived
//     message in All Mail); a second import adds nothing; validate finds B exact. A label
//     added on A later reaches B with the next export and import.
//   - Import onto an emulated Gmail B appends each message once to B's All Mail and sets
//     its labels (UID STORE +X-GM-LABELS); again adds nothing; validate is exact.
//   - --skip-cross-duplicates on a plain source: a message in two folders goes to the first.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/engine/folder_index.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/gmail_proxy.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/pair_store_test.h"

namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::GmailProxy;
using Ids = std::set<std::string>;

constexpr char kAllMail[] = "[Gmail]/All Mail";

std::string MessageId(int seed) { return absl::StrCat("<gen-", seed, "-2000@fixture.example>"); }

// Message-IDs of every message in each folder of users()[0] (UTF-8 names), duplicates
// counted apart ("<id>#2").
std::map<std::string, Ids> IdsByFolder(const DovecotServer& server) {
  std::map<std::string, Ids> out;
  for (const auto& [folder, messages] : testing_fixtures::MailboxSnapshot(server, 0)) {
    Ids& ids = out[folder];
    for (const auto& m : messages) {
      std::string id = imap::HeaderValue(m.body, "Message-ID");
      while (!ids.insert(id).second) id += "#2";
    }
  }
  return out;
}

class GmailLabelsTest : public testing_fixtures::PairStoreTest {
 protected:
  void SetUp() override {
    PairStoreTest::SetUp();
    if (HasFatalFailure()) return;
    email_ = email();
    testing_fixtures::GmailProxyOptions o;
    o.target = absl::StrCat(a_->host(), ":", a_->imap_port());
    auto proxy = GmailProxy::Start(o);
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    gmail_a_ = std::move(*proxy);
  }

  // A message as Gmail holds it: in All Mail and in each label's folder (`folders`), with
  // `labels` (as X-GM-LABELS sends them) at the proxy.
  void SeedGmail(int seed, const std::vector<std::string>& folders,
                 const std::vector<std::string>& labels) {
    const std::string body = testing_fixtures::GenerateMessage(seed, 2000);
    const absl::Time date = absl::FromUnixSeconds(1704067200 + seed * 3600);
    for (const std::string& f : folders) {
      ASSERT_TRUE(a_->SeedMessage(email_, f, body, {"\\Seen"}, date).ok()) << f;
    }
    if (!labels.empty()) gmail_a_->SetLabels(email_, MessageId(seed), labels);
  }

  // 1: INBOX and Work; 2: Sent; 3: archived (All Mail only); 4: a nested label; 5: Trash
  // (not in All Mail, as on Gmail); 6: INBOX and a non-ASCII label.
  void SeedMailbox() {
    SeedGmail(1, {"INBOX", "Work", kAllMail}, {"\\Inbox", "Work"});
    SeedGmail(2, {"Sent", kAllMail}, {"\\Sent"});
    SeedGmail(3, {kAllMail}, {});
    SeedGmail(4, {"Projects/2024", kAllMail}, {"Projects/2024"});
    SeedGmail(5, {"Trash"}, {});
    SeedGmail(6, {"INBOX", "Société", kAllMail}, {"\\Inbox", "Soci&AOk-t&AOk-"});
  }

  engine::AccountResult Run(engine::Mode mode, const config::ServerConfig& server,
                            storage::Store& store, bool skip_cross = false, bool dry_run = false,
                            bool sizes = false) {
    engine::AccountTask t;
    t.sizes = sizes;
    t.dry_run = dry_run;
    t.mode = mode;
    t.server = server;
    t.account.email = email_;
    t.account.password = a_->users()[0].password;
    t.selection.skip_cross_duplicates = skip_cross;
    engine::CancelToken cancel;
    return engine::RunAccount(t, store, nullptr, cancel);
  }

  // The exported .json files under `folder` (its path in the layout), by base name.
  std::map<std::string, engine::MessageMeta> Exported(storage::Store& store,
                                                      const std::string& folder) {
    std::map<std::string, engine::MessageMeta> out;
    const std::string prefix = absl::StrCat(email_, "/", folder, "/");
    auto objects = store.List(prefix);
    EXPECT_TRUE(objects.ok()) << objects.status();
    for (const auto& o : objects.ok() ? *objects : std::vector<storage::ObjectInfo>()) {
      const std::string name = o.key.substr(prefix.size());
      if (name.find('/') != std::string::npos || name.size() < 6 || name[0] == '.' ||
          name.substr(name.size() - 5) != ".json") {
        continue;
      }
      auto meta = engine::MessageMetaFromJson(*store.Get(o.key));
      EXPECT_TRUE(meta.ok()) << o.key;
      if (meta.ok()) out[meta->message_id] = *meta;
    }
    return out;
  }

  engine::FolderMeta FolderOf(storage::Store& store, const std::string& folder) {
    auto json = store.Get(absl::StrCat(email_, "/", folder, "/", engine::kFolderMetaName));
    EXPECT_TRUE(json.ok()) << folder << ": " << json.status();
    auto meta = json.ok() ? engine::FolderMetaFromJson(*json) : json.status();
    return meta.ok() ? *meta : engine::FolderMeta();
  }

  std::unique_ptr<GmailProxy> gmail_a_;
  std::string email_;
};

TEST_F(GmailLabelsTest, ExportOnceWithLabelsThenOneCopyPerLabelOnAPlainTarget) {
  SeedMailbox();
  const config::ServerConfig a = testing_fixtures::PlainConfigOf(gmail_a_->port());
  // The dry run plans what the export then does: All Mail's and Trash's messages only.
  auto plan = Run(engine::Mode::kExport, a, *store_, false, /*dry_run=*/true);
  ASSERT_TRUE(plan.status.ok()) << plan.status;
  uint64_t to_move = 0;
  for (const auto& f : plan.folders) to_move += f.to_move;
  EXPECT_EQ(to_move, 6u);
  // The sizes (test --sizes) name what the label folders hold and what export moves.
  auto sizes = Run(engine::Mode::kTest, a, *store_, false, false, /*sizes=*/true);
  ASSERT_TRUE(sizes.status.ok()) << sizes.status;
  EXPECT_TRUE(std::any_of(sizes.notes.begin(), sizes.notes.end(), [](const std::string& n) {
    return absl::StartsWith(n, "Gmail: ") &&
           absl::StrContains(n, "label folder(s) hold 6 message(s)") &&
           absl::StrContains(n, "from there: 6 message(s)");
  })) << absl::StrJoin(sizes.notes, "\n");
  auto exported = Run(engine::Mode::kExport, a, *store_);
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  // Six messages once each (five of All Mail, Trash's), not twelve folder copies.
  EXPECT_EQ(exported.messages, 6u);
  EXPECT_GT(gmail_a_->counts().fetches, 0);
  auto all = Exported(*store_, kAllMail);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[MessageId(1)].gmail_labels, (std::vector<std::string>{"\\Inbox", "Work"}));
  EXPECT_EQ(all[MessageId(1)].gmail_msgid, GmailProxy::MsgIdOf(MessageId(1)));
  EXPECT_EQ(all[MessageId(3)].gmail_labels, std::vector<std::string>{});
  EXPECT_EQ(all[MessageId(6)].gmail_labels, (std::vector<std::string>{"\\Inbox", "Société"}));
  for (const char* label_folder : {"INBOX", "Work", "Sent", "Projects/2024", "Société"}) {
    EXPECT_TRUE(Exported(*store_, label_folder).empty()) << label_folder;
  }
  EXPECT_EQ(Exported(*store_, "Trash").size(), 1u);
  EXPECT_FALSE(Exported(*store_, "Trash").begin()->second.gmail_labels.has_value());
  EXPECT_TRUE(FolderOf(*store_, kAllMail).gmail_all_mail);
  EXPECT_EQ(FolderOf(*store_, "INBOX").gmail_label, "\\Inbox");
  EXPECT_EQ(FolderOf(*store_, "Sent").gmail_label, "\\Sent");
  EXPECT_EQ(FolderOf(*store_, "Projects/2024").gmail_label, "Projects/2024");
  EXPECT_EQ(FolderOf(*store_, "Trash").gmail_label, "");

  // Without X-GM-EXT-1 (A itself) nothing changes: every folder as it is, no Gmail field.
  auto plain_store = storage::OpenStore(a_->dir() + "/plain-export");
  ASSERT_TRUE(plain_store.ok());
  auto plain = Run(engine::Mode::kExport, testing_fixtures::ServerConfigOf(*a_), **plain_store);
  ASSERT_TRUE(plain.status.ok()) << plain.status;
  EXPECT_EQ(plain.messages, 12u);
  EXPECT_EQ(Exported(**plain_store, "INBOX").size(), 2u);
  EXPECT_FALSE(Exported(**plain_store, kAllMail)[MessageId(1)].gmail_labels.has_value());
  EXPECT_FALSE(FolderOf(**plain_store, kAllMail).gmail_all_mail);

  // A plain B: one copy per label folder, the archived message in All Mail.
  const config::ServerConfig b = testing_fixtures::ServerConfigOf(*b_);
  auto imported = Run(engine::Mode::kImport, b, *store_);
  ASSERT_TRUE(imported.status.ok()) << imported.status;
  EXPECT_EQ(imported.messages, 8u);
  auto on_b = IdsByFolder(*b_);
  EXPECT_EQ(on_b["INBOX"], (Ids{MessageId(1), MessageId(6)}));
  EXPECT_EQ(on_b["Work"], Ids{MessageId(1)});
  EXPECT_EQ(on_b["Sent"], Ids{MessageId(2)});
  EXPECT_EQ(on_b["Projects/2024"], Ids{MessageId(4)});
  EXPECT_EQ(on_b["Société"], Ids{MessageId(6)});
  EXPECT_EQ(on_b[kAllMail], Ids{MessageId(3)});
  EXPECT_EQ(on_b["Trash"], Ids{MessageId(5)});
  auto again = Run(engine::Mode::kImport, b, *store_);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  auto checked = Run(engine::Mode::kValidate, b, *store_);
  ASSERT_TRUE(checked.status.ok()) << checked.status;
  for (const auto& f : checked.folders) {
    EXPECT_EQ(f.missing, 0u) << f.name;
    EXPECT_EQ(f.extra, 0u) << f.name;
  }

  // A label added on A later (Gmail shows the message in Work too): the next export
  // rewrites its .json without downloading it, the next import copies it into Work.
  ASSERT_TRUE(a_->SeedMessage(email_, "Work", testing_fixtures::GenerateMessage(3, 2000),
                              {"\\Seen"}, absl::FromUnixSeconds(1704067200 + 3 * 3600))
                  .ok());
  gmail_a_->SetLabels(email_, MessageId(3), {"Work"});
  auto relabelled = Run(engine::Mode::kExport, a, *store_);
  ASSERT_TRUE(relabelled.status.ok()) << relabelled.status;
  EXPECT_EQ(relabelled.messages, 0u);
  EXPECT_EQ(Exported(*store_, kAllMail)[MessageId(3)].gmail_labels,
            std::vector<std::string>{"Work"});
  {  // the folder index the export wrote is current and holds the new labels
    const std::string prefix = absl::StrCat(email_, "/", kAllMail, "/");
    auto objects = store_->List(prefix);
    ASSERT_TRUE(objects.ok());
    bool current = false;
    auto indexed = engine::internal::LoadFolderMessages(*store_, prefix, *objects,
                                                        /*rewrite=*/false, &current);
    ASSERT_TRUE(indexed.ok()) << indexed.status();
    EXPECT_TRUE(current);
    size_t relabelled_in_index = 0;
    for (const auto& [base, meta] : *indexed) {
      if (meta.message_id == MessageId(3)) {
        EXPECT_EQ(meta.gmail_labels, std::vector<std::string>{"Work"});
        ++relabelled_in_index;
      }
    }
    EXPECT_EQ(relabelled_in_index, 1u);
  }
  auto followed = Run(engine::Mode::kImport, b, *store_);
  ASSERT_TRUE(followed.status.ok()) << followed.status;
  EXPECT_EQ(followed.messages, 1u);
  EXPECT_EQ(IdsByFolder(*b_)["Work"], (Ids{MessageId(1), MessageId(3)}));
  EXPECT_EQ(Run(engine::Mode::kImport, b, *store_).messages, 0u);

  // All Mail gets a new UIDVALIDITY (Dovecot forgets its UIDs): its messages are known by
  // their X-GM-MSGID, nothing is downloaded or written again.
  auto path = a_->FolderPath(email_, kAllMail);
  ASSERT_TRUE(path.ok());
  for (auto& e : std::filesystem::directory_iterator(*path)) {
    const std::string n = e.path().filename().string();
    if (absl::StartsWith(n, "dovecot-uidlist") || absl::StartsWith(n, "dovecot.index")) {
      std::filesystem::remove(e.path());
    }
  }
  auto renumbered = Run(engine::Mode::kExport, a, *store_);
  ASSERT_TRUE(renumbered.status.ok()) << renumbered.status;
  EXPECT_EQ(renumbered.messages, 0u);
  EXPECT_EQ(renumbered.budget_used, 0u);                      // no body fetched
  EXPECT_EQ(FolderOf(*store_, kAllMail).claimed.size(), 5u);  // the new UIDs, by X-GM-MSGID
  EXPECT_EQ(Exported(*store_, kAllMail).size(), 5u);
  EXPECT_EQ(Run(engine::Mode::kImport, b, *store_).messages, 0u);
}

TEST_F(GmailLabelsTest, OnAGmailTargetEachMessageIsAppendedOnceAndLabelled) {
  SeedMailbox();
  auto exported =
      Run(engine::Mode::kExport, testing_fixtures::PlainConfigOf(gmail_a_->port()), *store_);
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  // B is Gmail too: its All Mail exists (as on every Gmail account).
  ASSERT_TRUE(b_->CreateFolder(b_->users()[0].email, kAllMail).ok());
  testing_fixtures::GmailProxyOptions o;
  o.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  auto gmail_b = GmailProxy::Start(o);
  ASSERT_TRUE(gmail_b.ok()) << gmail_b.status();
  const config::ServerConfig b = testing_fixtures::PlainConfigOf((*gmail_b)->port());

  auto imported = Run(engine::Mode::kImport, b, *store_);
  ASSERT_TRUE(imported.status.ok()) << imported.status;
  EXPECT_EQ(imported.messages, 6u);  // five once into All Mail, Trash's into Trash
  const std::string& user = b_->users()[0].email;
  EXPECT_EQ((*gmail_b)->Labels(user, MessageId(1)), (std::vector<std::string>{"\\Inbox", "Work"}));
  EXPECT_EQ((*gmail_b)->Labels(user, MessageId(2)), std::vector<std::string>{"\\Sent"});
  EXPECT_TRUE((*gmail_b)->Labels(user, MessageId(3)).empty());
  EXPECT_EQ((*gmail_b)->Labels(user, MessageId(4)), std::vector<std::string>{"Projects/2024"});
  EXPECT_EQ((*gmail_b)->Labels(user, MessageId(6)),
            (std::vector<std::string>{"\\Inbox", "Soci&AOk-t&AOk-"}));
  EXPECT_EQ((*gmail_b)->counts().stores, 4);
  EXPECT_EQ((*gmail_b)->counts().labels_added, 6);
  EXPECT_EQ((*gmail_b)->counts().copies_failed, 0);
  EXPECT_EQ((*gmail_b)->counts().unknown_stores, 0);
  auto on_b = IdsByFolder(*b_);
  EXPECT_EQ(on_b[kAllMail], (Ids{MessageId(1), MessageId(2), MessageId(3), MessageId(4),
                                 MessageId(6)}));               // each once
  EXPECT_EQ(on_b["INBOX"], (Ids{MessageId(1), MessageId(6)}));  // the labels, as Gmail shows
  EXPECT_EQ(on_b["Trash"], Ids{MessageId(5)});

  auto again = Run(engine::Mode::kImport, b, *store_);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  EXPECT_EQ((*gmail_b)->counts().stores, 4);  // no label stored again
  auto checked = Run(engine::Mode::kValidate, b, *store_);
  ASSERT_TRUE(checked.status.ok()) << checked.status;
  for (const auto& f : checked.folders) {
    EXPECT_EQ(f.missing, 0u) << f.name;
    EXPECT_EQ(f.extra, 0u) << f.name;
  }
}

// A plain server that shows a message in two folders (INBOX and Archive; Work and Trash):
// with --skip-cross-duplicates B gets it once, in the first folder of the documented order.
TEST_F(GmailLabelsTest, SkipCrossDuplicatesKeepsTheFirstFolderOnly) {
  const absl::Time date = absl::FromUnixSeconds(1704067200);
  auto seed = [&](int n, const std::vector<std::string>& folders) {
    for (const std::string& f : folders) {
      ASSERT_TRUE(
          a_->SeedMessage(email_, f, testing_fixtures::GenerateMessage(n, 2000), {}, date).ok());
    }
  };
  seed(1, {"Archive", "INBOX"});
  seed(2, {"Work"});
  seed(3, {"Trash", "Work"});
  const config::ServerConfig a = testing_fixtures::ServerConfigOf(*a_);
  auto exported = Run(engine::Mode::kExport, a, *store_);
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  EXPECT_EQ(exported.messages, 5u);  // the export keeps every copy

  const config::ServerConfig b = testing_fixtures::ServerConfigOf(*b_);
  auto imported = Run(engine::Mode::kImport, b, *store_, /*skip_cross=*/true);
  ASSERT_TRUE(imported.status.ok()) << imported.status;
  EXPECT_EQ(imported.messages, 3u);
  EXPECT_EQ(imported.skipped, 2u);
  auto on_b = IdsByFolder(*b_);
  EXPECT_EQ(on_b["INBOX"], Ids{MessageId(1)});
  EXPECT_TRUE(on_b["Archive"].empty());
  EXPECT_EQ(on_b["Work"], (Ids{MessageId(2), MessageId(3)}));
  EXPECT_TRUE(on_b["Trash"].empty());
  EXPECT_EQ(Run(engine::Mode::kImport, b, *store_, true).messages, 0u);
  auto checked = Run(engine::Mode::kValidate, b, *store_, true);
  EXPECT_TRUE(checked.status.ok()) << checked.status;
  // Without the flag validate sees the copies left out as missing.
  auto whole = Run(engine::Mode::kValidate, b, *store_, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(whole.status)) << whole.status;
  uint64_t missing = 0;
  for (const auto& f : whole.folders) missing += f.missing;
  EXPECT_EQ(missing, 2u);
}

}  // namespace
