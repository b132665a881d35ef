// --fix-messages and per-mailbox APPENDLIMIT against a real Dovecot B behind the fault proxy
// (tests/fixtures/fault_proxy.h), which refuses APPENDs as real providers do and Dovecot does
// not: Cyrus's NUL bytes and bare newlines, Microsoft 365's long lines, RFC 7889 limits per
// mailbox. The export holds such messages (one without a Message-ID); without the flag they
// are refused and reported, with it they land repaired (import, and validate
// --resync-missing), the export stays byte for byte, validate finds every message, and runs
// after it append nothing.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/engine/folder_index.h"
#include "common/engine/layout.h"
#include "common/imap/message_repair.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_seed.h"
#include "tests/fixtures/fault_proxy.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/pair_store_test.h"

namespace {

using namespace std::string_literals;  // NUL bytes inside literals
using testing_fixtures::DovecotServer;
using testing_fixtures::FaultProxy;
using testing_fixtures::FaultProxyOptions;

const std::string kCyrusNul = "NO Message contains NUL characters";
const std::string kCyrusBareNewlines = "NO Message contains bare newlines";
const std::string kExchangeLongLine = "BAD Command Argument Error. 11";

// A message of the export that a provider refuses.
struct Crafted {
  uint32_t uid;
  std::string bytes;
  std::string message_id;
  std::string refused_for;  // the proxy's reply to it
  std::string repairs;      // what the repair says it changed
};

std::vector<Crafted> CraftedMessages() {
  return {
      {1001,
       "From: a@example.org\nTo: b@example.com\nSubject: bare LF\n"
       "Message-ID: <bare-lf@fix.example>\n\nline one\nline two\n",
       "<bare-lf@fix.example>", kCyrusBareNewlines, "7 bare newline(s) made CRLF"},
      {1002,
       "From: a@example.org\r\nSubject: NUL\r\nMessage-ID: <nul@fix.example>\r\n\r\n"
       "a NUL \0 here\r\n"s,
       "<nul@fix.example>", kCyrusNul, "1 NUL byte(s) removed"},
      {1003,
       "From: a@example.org\r\nSubject: long\r\nMessage-ID: <long@fix.example>\r\n\r\n" +
           std::string(12000, 'q') + "\r\n",
       "<long@fix.example>", kExchangeLongLine, "1 line(s) over 998 bytes folded"},
      // No Message-ID: known by size and date, and the repair changes its size.
      {1004, "From: a@example.org\nSubject: no id\n\nbare\n", "", kCyrusBareNewlines,
       "4 bare newline(s) made CRLF"},
  };
}

class FixMessagesTest : public testing_fixtures::PairStoreTest {
 protected:
  engine::AccountResult Run(engine::Mode mode, const config::ServerConfig& server,
                            bool fix_messages) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = server;
    t.account.email = email();
    t.account.password = a_->users()[0].password;
    t.fix_messages = fix_messages;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  }

  // Seeds A's `folder` with `sizes.size()` generated messages and exports A.
  void SeedAndExport(const std::map<std::string, std::vector<size_t>>& folders) {
    int seed = 1;
    for (const auto& [folder, sizes] : folders) {
      for (size_t size : sizes) {
        ASSERT_TRUE(a_->SeedMessage(email(), folder, testing_fixtures::GenerateMessage(seed, size),
                                    {"\\Seen"}, absl::FromUnixSeconds(1700000000 + seed))
                        .ok());
        ++seed;
      }
    }
    auto exp = Run(engine::Mode::kExport, testing_fixtures::PlainConfigOf(a_->imap_port()), false);
    ASSERT_TRUE(exp.status.ok()) << exp.status;
  }

  // Adds `m` to the export of INBOX (UID m.uid, a date of its own).
  void AddToExport(const Crafted& m) {
    testing_fixtures::ExportedMessage e;
    e.uid = m.uid;
    e.bytes = m.bytes;
    e.message_id = m.message_id;
    e.internaldate = absl::StrCat("0", m.uid % 10, "-Feb-2024 10:00:00 +0000");
    e.flags = {"\\Seen"};
    ASSERT_TRUE(testing_fixtures::AddToExport(*store_, email(), "INBOX", e).ok());
  }

  // Every file of the export with its bytes.
  std::map<std::string, std::string> ExportFiles() {
    std::map<std::string, std::string> out;
    auto list = store_->List(email() + "/");
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return out;
    for (const storage::ObjectInfo& o : *list) {
      if (o.key == email() + "/" + engine::kRefusedName) continue;  // import's, not export's
      // A folder index is a summary import rewrites when stale (this test adds messages to
      // the export behind export's back); the messages and their .json are the export.
      if (absl::EndsWith(o.key, std::string("/") + engine::internal::kFolderIndexName)) continue;
      auto bytes = store_->Get(o.key);
      EXPECT_TRUE(bytes.ok()) << bytes.status();
      out[o.key] = bytes.ok() ? *bytes : "";
    }
    return out;
  }

  std::vector<testing_fixtures::ServedMessage> OnB(const std::string& folder) {
    auto session = testing_fixtures::LoginAs(*b_, 0);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return {};
    return testing_fixtures::MessagesIn(**session, folder);
  }
};

const engine::FolderResult* Folder(const engine::AccountResult& r, const std::string& name) {
  for (const auto& f : r.folders) {
    if (f.name == name) return &f;
  }
  ADD_FAILURE() << "no folder " << name;
  static const engine::FolderResult none;
  return &none;
}

TEST_F(FixMessagesTest, RefusedWithoutTheFlagRepairedWithItAndNeverDuplicated) {
  SeedAndExport({{"INBOX", {1500, 2500, 4000, 900, 3000}}, {"Work", {1200, 2200}}});
  const std::vector<Crafted> crafted = CraftedMessages();
  for (const Crafted& m : crafted) AddToExport(m);
  const std::map<std::string, std::string> exported = ExportFiles();

  FaultProxyOptions po;
  po.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  po.append_refusals.nul = kCyrusNul;
  po.append_refusals.bare_newline = kCyrusBareNewlines;
  po.append_refusals.max_line = 10000;
  po.append_refusals.long_line = kExchangeLongLine;
  auto proxy = FaultProxy::Start(po);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const config::ServerConfig via_proxy = testing_fixtures::PlainConfigOf((*proxy)->port());

  // Without --fix-messages: refused, reported with the provider's words, the rest goes in.
  auto plain = Run(engine::Mode::kImport, via_proxy, false);
  ASSERT_TRUE(plain.status.ok()) << plain.status;
  EXPECT_EQ(plain.messages, 7u);
  EXPECT_EQ(plain.refused, 4u);
  EXPECT_EQ(plain.repaired, 0u);
  std::map<uint32_t, engine::RefusedMessage> refused;
  for (const auto& m : Folder(plain, "INBOX")->refused_messages) refused[m.uid] = m;
  ASSERT_EQ(refused.size(), 4u);
  for (const Crafted& m : crafted) {
    EXPECT_EQ(refused[m.uid].kind, "content refused") << m.uid;
    EXPECT_NE(refused[m.uid].reason.find(m.refused_for.substr(3)), std::string::npos)
        << m.uid << ": " << refused[m.uid].reason;
  }
  EXPECT_GE((*proxy)->counts().appends_refused, 4);
  EXPECT_EQ(OnB("INBOX").size(), 5u);

  // With it: the four go in repaired, each named with what changed.
  auto fixed = Run(engine::Mode::kImport, via_proxy, true);
  ASSERT_TRUE(fixed.status.ok()) << fixed.status;
  EXPECT_EQ(fixed.messages, 4u);
  EXPECT_EQ(fixed.refused, 0u);
  EXPECT_EQ(fixed.repaired, 4u);
  std::map<uint32_t, engine::RepairedMessage> repaired;
  for (const auto& m : Folder(fixed, "INBOX")->repaired_messages) repaired[m.uid] = m;
  ASSERT_EQ(repaired.size(), 4u);
  for (const Crafted& m : crafted) {
    const imap::RepairedMessage want = imap::RepairMessage(m.bytes);
    EXPECT_EQ(repaired[m.uid].repairs, m.repairs) << m.uid;
    EXPECT_EQ(repaired[m.uid].size, m.bytes.size());
    EXPECT_EQ(repaired[m.uid].repaired_size, want.bytes.size());
  }
  // B holds each repaired exactly once, and the five others as they were.
  std::map<std::string, int> on_b;
  for (const auto& s : OnB("INBOX")) on_b[s.body] += 1;
  EXPECT_EQ(on_b.size(), 9u);
  for (const Crafted& m : crafted) {
    EXPECT_EQ(on_b[imap::RepairMessage(m.bytes).bytes], 1) << m.uid;
  }
  // The export is byte for byte what it was (bodies and metadata).
  EXPECT_EQ(ExportFiles(), exported);

  // Validate (without the flag, straight to B): every message found, none refused or extra.
  auto val = Run(engine::Mode::kValidate, testing_fixtures::PlainConfigOf(b_->imap_port()), false);
  EXPECT_TRUE(val.status.ok()) << val.status;
  EXPECT_EQ(val.refused, 0u);
  for (const auto& f : val.folders) {
    EXPECT_EQ(f.missing, 0u) << f.name;
    EXPECT_EQ(f.extra, 0u) << f.name;
  }

  // Runs after it, with and without the flag, append nothing (no APPEND at all).
  const int checked = (*proxy)->counts().appends_checked;
  for (bool fix : {true, false}) {
    auto again = Run(engine::Mode::kImport, via_proxy, fix);
    ASSERT_TRUE(again.status.ok()) << again.status;
    EXPECT_EQ(again.messages, 0u) << fix;
    EXPECT_EQ(again.refused, 0u) << fix;
    EXPECT_EQ(again.skipped, 11u) << fix;
  }
  EXPECT_EQ((*proxy)->counts().appends_checked, checked);
  EXPECT_EQ(OnB("INBOX").size(), 9u);
  EXPECT_EQ(OnB("Work").size(), 2u);
}

// validate --resync-missing with the flag imports what is missing repaired, counts it, and
// then finds every message.
TEST_F(FixMessagesTest, ValidateResyncMissingRepairsToo) {
  SeedAndExport({{"INBOX", {1500, 2500}}});
  const std::vector<Crafted> crafted = CraftedMessages();
  AddToExport(crafted[0]);
  AddToExport(crafted[3]);
  FaultProxyOptions po;
  po.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  po.append_refusals.bare_newline = kCyrusBareNewlines;
  auto proxy = FaultProxy::Start(po);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  engine::AccountTask t;
  t.mode = engine::Mode::kValidate;
  t.server = testing_fixtures::PlainConfigOf((*proxy)->port());
  t.account.email = email();
  t.account.password = a_->users()[0].password;
  t.resync_missing = true;
  t.fix_messages = true;
  engine::CancelToken cancel;
  auto val = engine::RunAccount(t, *store_, nullptr, cancel);
  ASSERT_TRUE(val.status.ok()) << val.status;
  EXPECT_EQ(val.messages, 4u);
  EXPECT_EQ(val.repaired, 2u);
  EXPECT_EQ(val.refused, 0u);
  EXPECT_EQ(Folder(val, "INBOX")->repaired_messages.size(), 2u);
  EXPECT_EQ(Folder(val, "INBOX")->missing, 0u);
  EXPECT_EQ(Folder(val, "INBOX")->extra, 0u);
  EXPECT_EQ(OnB("INBOX").size(), 4u);
}

// A server with APPENDLIMIT per mailbox (a bare APPENDLIMIT, RFC 7889): a message over its
// mailbox's limit is refused before it is sent; other mailboxes take it.
TEST_F(FixMessagesTest, PerMailboxAppendLimitIsAppliedBeforeSending) {
  SeedAndExport({{"INBOX", {6000, 6000, 1500}}, {"Work", {1500, 6000, 1800, 7000}}});
  FaultProxyOptions po;
  po.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  po.append_refusals.mailbox_limits = {{"Work", 4000}};
  auto proxy = FaultProxy::Start(po);
  ASSERT_TRUE(proxy.ok()) << proxy.status();

  auto imp = Run(engine::Mode::kImport, testing_fixtures::PlainConfigOf((*proxy)->port()), false);
  ASSERT_TRUE(imp.status.ok()) << imp.status;
  EXPECT_EQ(imp.messages, 5u);
  EXPECT_EQ(imp.refused, 2u);
  const engine::FolderResult* work = Folder(imp, "Work");
  ASSERT_EQ(work->refused_messages.size(), 2u);
  for (const auto& m : work->refused_messages) {
    EXPECT_EQ(m.kind, "too big");
    EXPECT_TRUE(absl::StrContains(m.reason, "not sent")) << m.reason;
    EXPECT_TRUE(absl::StrContains(m.reason, "APPENDLIMIT 4000 of mailbox 'Work'")) << m.reason;
  }
  EXPECT_EQ(Folder(imp, "INBOX")->refused, 0u);
  const testing_fixtures::FaultCounts c = (*proxy)->counts();
  EXPECT_GE(c.appendlimit_statuses, 2);        // asked for both mailboxes
  EXPECT_EQ(c.appends_over_mailbox_limit, 0);  // never uploaded to be refused
  EXPECT_EQ(OnB("Work").size(), 2u);
  EXPECT_EQ(OnB("INBOX").size(), 3u);
}

}  // namespace
