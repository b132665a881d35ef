// Exact multisets against real Dovecot A and B (README "Data format", message identity):
// (a) a message stored twice in one folder of A is exported, imported and validated as two;
// (b) different messages sharing Message-ID and INTERNALDATE (or, without a Message-ID, date
// and size) are never taken for one another; (c) messages server B holds rewritten (a header
// added or removed, repaired by --fix-messages) still count as present. In every case an
// import appends exactly what B lacks per identity, a re-import appends nothing, and validate
// reports exactly the missing and extra messages; also from an export written before the
// header digest was recorded.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/imap/date.h"
#include "common/imap/message_repair.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_seed.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/pair_store_test.h"

namespace {

using testing_fixtures::DovecotServer;

const absl::Time kDate = absl::FromUnixSeconds(1700000000);

// A CRLF message: `headers` (without their line ends), then `body`.
std::string Message(const std::vector<std::string>& headers, const std::string& body) {
  std::string out;
  for (const std::string& h : headers) absl::StrAppend(&out, h, "\r\n");
  return absl::StrCat(out, "\r\n", body);
}

std::string From() { return "From: Alice <alice@example.org>"; }
std::string Date() { return "Date: Tue, 14 Nov 2023 22:13:20 +0000"; }

// (a): one message, twice.
const std::string kCopy = Message(
    {From(), "To: b@example.com", "Subject: twice", Date(), "Message-ID: <twice@multiset.example>"},
    "stored twice\r\n");
const std::string kOther = Message(
    {From(), "Subject: once", Date(), "Message-ID: <once@multiset.example>"}, "stored once\r\n");

// (b): pairs of different messages sharing their coarse identity. X: one Message-ID and
// date, different bodies and sizes (a draft saved twice). Y: one Message-ID and date, the
// same size, another Subject. Z: no Message-ID, the same date, headers and size, one byte
// of the body differs.
struct Twins {
  std::string first, second;
};
std::vector<Twins> TwinMessages() {
  const std::string xid = "Message-ID: <draft@multiset.example>";
  const std::string yid = "Message-ID: <list@multiset.example>";
  return {
      {Message({From(), "Subject: draft", Date(), xid}, "first version\r\n"),
       Message({From(), "Subject: draft", Date(), xid}, "second, longer version\r\n")},
      {Message({From(), "Subject: [list] news", Date(), yid}, "same body\r\n"),
       Message({From(), "Subject: [LIST] news", Date(), yid}, "same body\r\n")},
      {Message({From(), "Subject: no id", Date()}, "body A\r\n"),
       Message({From(), "Subject: no id", Date()}, "body B\r\n")},
  };
}

class MultisetTest : public testing_fixtures::PairStoreTest {
 protected:
  engine::AccountResult Run(engine::Mode mode, const DovecotServer& server,
                            bool fix_messages = false) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = testing_fixtures::ServerConfigOf(server);
    t.account = testing_fixtures::AccountConfigOf(server, 0);
    t.fix_messages = fix_messages;
    engine::CancelToken cancel;
    return engine::RunAccount(t, *store_, nullptr, cancel);
  }

  void SeedA(const std::string& folder, const std::vector<std::string>& messages) {
    for (const std::string& m : messages) {
      ASSERT_TRUE(a_->SeedMessage(email(), folder, m, {"\\Seen"}, kDate).ok());
    }
  }

  // Appends `messages` to B's `folder` (created when missing) with A's date.
  void AppendToB(const std::string& folder, const std::vector<std::string>& messages) {
    auto b = testing_fixtures::LoginAs(*b_, 0);
    ASSERT_TRUE(b.ok()) << b.status();
    (void)imap::Create(**b, folder);
    for (const std::string& m : messages) {
      imap::AppendMessage a;
      a.flags = {"\\Seen"};
      a.internaldate = imap::FormatInternalDate(kDate);
      a.body = std::make_shared<imap::StringLiteralSource>(m);
      ASSERT_TRUE(imap::Append(**b, folder, a).ok());
    }
  }

  // B's messages in `folder`, by body: how many of each.
  std::map<std::string, int> OnB(const std::string& folder) {
    auto b = testing_fixtures::LoginAs(*b_, 0);
    EXPECT_TRUE(b.ok()) << b.status();
    std::map<std::string, int> out;
    if (!b.ok()) return out;
    for (const auto& m : testing_fixtures::MessagesIn(**b, folder)) out[m.body] += 1;
    return out;
  }

  // Rewrites every message .json of the export without the fields `names` (an export
  // written before they existed).
  void DropFields(const std::vector<std::string>& names) {
    auto list = store_->List(email() + "/");
    ASSERT_TRUE(list.ok()) << list.status();
    int rewritten = 0;
    for (const storage::ObjectInfo& o : *list) {
      const std::string name = o.key.substr(o.key.rfind('/') + 1);
      if (!absl::EndsWith(name, ".json") || absl::StartsWith(name, ".")) continue;
      auto text = store_->Get(o.key);
      ASSERT_TRUE(text.ok()) << text.status();
      nlohmann::json j = nlohmann::json::parse(*text);
      for (const std::string& n : names) j.erase(n);
      ASSERT_TRUE(store_->Put(o.key, j.dump(2)).ok());
      ++rewritten;
    }
    EXPECT_GT(rewritten, 0);
  }
};

const engine::FolderResult& Folder(const engine::AccountResult& r, const std::string& name) {
  for (const auto& f : r.folders) {
    if (f.name == name) return f;
  }
  ADD_FAILURE() << "no folder " << name;
  static const engine::FolderResult none;
  return none;
}

// (a) A message stored twice in one folder: two .json, two on B, the difference appended.
TEST_F(MultisetTest, IdenticalCopiesAreCountedEach) {
  SeedA("INBOX", {kCopy, kCopy, kOther});
  auto exp = Run(engine::Mode::kExport, *a_);
  ASSERT_TRUE(exp.status.ok()) << exp.status;
  EXPECT_EQ(exp.messages, 3u);

  AppendToB("INBOX", {kCopy});  // as if an import had stopped after one copy
  auto before = Run(engine::Mode::kValidate, *b_);
  EXPECT_FALSE(before.status.ok());
  EXPECT_EQ(Folder(before, "INBOX").missing, 2u);
  EXPECT_EQ(Folder(before, "INBOX").extra, 0u);

  auto imp = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(imp.status.ok()) << imp.status;
  EXPECT_EQ(imp.messages, 2u);
  EXPECT_EQ(OnB("INBOX"), (std::map<std::string, int>{{kCopy, 2}, {kOther, 1}}));

  auto again = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  auto v = Run(engine::Mode::kValidate, *b_);
  EXPECT_TRUE(v.status.ok()) << v.status;
  EXPECT_EQ(Folder(v, "INBOX").missing, 0u);
  EXPECT_EQ(Folder(v, "INBOX").extra, 0u);
  EXPECT_EQ(OnB("INBOX").at(kCopy), 2);
}

// (b) Twins: B holds the wrong twin of each pair (twice, so every coarse count agrees):
// validate finds the right ones missing, import appends exactly them; into an empty folder
// all six go in once. `old_export`: the .json files lack the header digest (an export
// written before it), read from the .eml instead.
class TwinsTest : public MultisetTest, public ::testing::WithParamInterface<bool> {
 public:
  void Check();
};

void TwinsTest::Check() {
  std::vector<std::string> all, wrong, right;
  for (const Twins& p : TwinMessages()) {
    all.insert(all.end(), {p.first, p.second});
    wrong.insert(wrong.end(), {p.second, p.second});
    right.push_back(p.first);
  }
  SeedA("INBOX", all);
  SeedA("Fresh", all);
  auto exp = Run(engine::Mode::kExport, *a_);
  ASSERT_TRUE(exp.status.ok()) << exp.status;
  EXPECT_EQ(exp.messages, 12u);
  if (GetParam()) DropFields({"header_digest"});

  AppendToB("INBOX", wrong);
  auto before = Run(engine::Mode::kValidate, *b_);
  EXPECT_FALSE(before.status.ok());
  EXPECT_EQ(Folder(before, "INBOX").missing, 3u);
  EXPECT_EQ(Folder(before, "INBOX").extra, 3u);
  EXPECT_EQ(Folder(before, "Fresh").missing, 6u);

  auto imp = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(imp.status.ok()) << imp.status;
  EXPECT_EQ(Folder(imp, "INBOX").transferred, 3u);
  EXPECT_EQ(Folder(imp, "Fresh").transferred, 6u);
  std::map<std::string, int> inbox, fresh;
  for (const std::string& m : right) inbox[m] = 1;
  for (const Twins& p : TwinMessages()) inbox[p.second] = 2;
  for (const std::string& m : all) fresh[m] = 1;
  EXPECT_EQ(OnB("INBOX"), inbox);
  EXPECT_EQ(OnB("Fresh"), fresh);

  auto again = Run(engine::Mode::kImport, *b_);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  auto v = Run(engine::Mode::kValidate, *b_);
  EXPECT_TRUE(v.status.ok()) << v.status;
  EXPECT_EQ(Folder(v, "INBOX").missing, 0u);
  EXPECT_EQ(Folder(v, "INBOX").extra, 3u);  // the wrong twins B held before
  EXPECT_EQ(Folder(v, "Fresh").missing, 0u);
  EXPECT_EQ(Folder(v, "Fresh").extra, 0u);
}

TEST_P(TwinsTest, DifferentMessagesSharingAnIdentityAreNeverMerged) { Check(); }

INSTANTIATE_TEST_SUITE_P(Export, TwinsTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("WithoutDigests")
                                          : std::string("WithDigests");
                         });

// (c) Twins that server B holds rewritten: R1 with a header added, R2 without a trace
// header it had (sizes grow and shrink; R2's on B is closer in size to R1 than to R2);
// T1/T2 with bare newlines, repaired by --fix-messages (sizes grow); U1/U2 without
// Message-ID, the same size, repaired. B's INBOX holds every one rewritten: nothing is
// appended. B's Half holds only the second of each pair rewritten: exactly the first ones
// are appended. Validate is exact, with or without --fix-messages, and so is a re-import.
TEST_F(MultisetTest, RewrittenTwinsStillCountAsPresent) {
  const std::string rid = "Message-ID: <rewritten@multiset.example>";
  const std::string received = "Received: from mx.example.org by a.example.org";
  const std::string r1 = Message({From(), "Subject: r", Date(), rid}, "first\r\n");
  const std::string r2 = Message({received, From(), "Subject: r", Date(), rid}, "second\r\n");
  // Bare newlines: written to the export as a server A could have served them.
  const std::string tid = "Message-ID: <bare@multiset.example>\n";
  const std::vector<std::string> bare = {
      "From: a@example.org\nSubject: t\n" + tid + "\nfirst\n",
      "From: a@example.org\nSubject: t\n" + tid + "\nsecond, longer\n",
      "From: a@example.org\nSubject: u\n\nbody 1\n",
      "From: a@example.org\nSubject: u\n\nbody 2\n",
  };
  for (const std::string folder : {"INBOX", "Half"}) SeedA(folder, {r1, r2});
  auto exp = Run(engine::Mode::kExport, *a_);
  ASSERT_TRUE(exp.status.ok()) << exp.status;
  for (const std::string folder : {"INBOX", "Half"}) {
    for (size_t i = 0; i < bare.size(); ++i) {
      testing_fixtures::ExportedMessage e;
      e.uid = 1001 + i;
      e.bytes = bare[i];
      e.message_id = i < 2 ? "<bare@multiset.example>" : "";
      e.internaldate = imap::FormatInternalDate(kDate);
      e.flags = {"\\Seen"};
      ASSERT_TRUE(testing_fixtures::AddToExport(*store_, email(), folder, e).ok());
    }
  }
  const std::string r1_on_b = "X-Spam-Score: 0.1\r\n" + r1;
  const std::string r2_on_b = absl::StrReplaceAll(r2, {{received + "\r\n", ""}});
  ASSERT_LT(r2_on_b.size() - r1.size(), r2.size() - r2_on_b.size());
  std::vector<std::string> repaired;
  for (const std::string& m : bare) repaired.push_back(imap::RepairMessage(m).bytes);
  AppendToB("INBOX", {r1_on_b, r2_on_b, repaired[0], repaired[1], repaired[2], repaired[3]});
  AppendToB("Half", {r2_on_b, repaired[1], repaired[3]});

  for (bool fix : {false, true}) {
    auto imp = Run(engine::Mode::kImport, *b_, fix);
    ASSERT_TRUE(imp.status.ok()) << imp.status;
    EXPECT_EQ(Folder(imp, "INBOX").transferred, 0u) << "fix " << fix;
    EXPECT_EQ(Folder(imp, "Half").transferred, fix ? 0u : 3u) << "fix " << fix;
    auto v = Run(engine::Mode::kValidate, *b_, fix);
    EXPECT_TRUE(v.status.ok()) << v.status;
    for (const std::string folder : {"INBOX", "Half"}) {
      EXPECT_EQ(Folder(v, folder).missing, 0u) << folder << " fix " << fix;
      EXPECT_EQ(Folder(v, folder).extra, 0u) << folder << " fix " << fix;
    }
  }
  EXPECT_EQ(OnB("INBOX").size(), 6u);
  // The first of each pair went in (as exported: without --fix-messages, bare newlines).
  std::map<std::string, int> half;
  for (const auto& [body, n] : OnB("Half")) half[imap::RepairMessage(body).bytes] += n;
  EXPECT_EQ(half, (std::map<std::string, int>{{r1, 1},
                                              {r2_on_b, 1},
                                              {repaired[0], 1},
                                              {repaired[1], 1},
                                              {repaired[2], 1},
                                              {repaired[3], 1}}));
}

}  // namespace
