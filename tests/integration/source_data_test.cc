// Unreliable source data: a scripted server A (what no real server sends) with unusable
// INTERNALDATE and RFC822.SIZE values. The messages are kept byte-exact with the raw values
// in their .json, and a real Dovecot B imports them; a broken body literal (framing) still
// fails its folder.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/engine/engine.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/imap/date.h"
#include "common/imap/session.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/scripted_imap_conn.h"

namespace {

namespace fs = std::filesystem;

// UID 1: INTERNALDATE unparsable, a Date: header field to fall back on.
const std::string kDated =
    "Date: Tue, 2 Jan 2024 10:20:30 +0100 (CET)\r\nMessage-ID: <d@x>\r\nSubject: a\r\n\r\n"
    "body one\r\n";
// UID 2: INTERNALDATE an impossible day, no Date: header field, no RFC822.SIZE.
const std::string kUndated = "Message-ID: <u@x>\r\nSubject: b\r\n\r\nbody two\r\n";
// UID 3: RFC822.SIZE negative, INTERNALDATE NIL.
const std::string kNegative = "Message-ID: <n@x>\r\nSubject: c\r\n\r\nbody three\r\n";

using testing_fixtures::ImapLiteral;

// INBOX holds the three messages above; "Broken" answers its FETCH with a body literal
// not followed by the end of the FETCH data.
void UnreliableImap(net::testing::ServerConn& c) {
  std::string selected;
  testing_fixtures::ServeScriptedImap(c, [&](const std::string& rest) {
    if (absl::StartsWith(rest, "LIST")) {
      return std::string("* LIST () \"/\" INBOX\r\n* LIST () \"/\" Broken\r\n");
    }
    if (absl::StartsWith(rest, "EXAMINE")) {
      selected = absl::StrContains(rest, "Broken") ? "Broken" : "INBOX";
      return absl::StrCat("* ", selected == "INBOX" ? 3 : 1, " EXISTS\r\n",
                          "* OK [UIDVALIDITY 7] ok\r\n");
    }
    if (absl::StartsWith(rest, "UID SEARCH")) {
      return std::string(selected == "INBOX" ? "* SEARCH 1 2 3\r\n" : "* SEARCH 1\r\n");
    }
    if (absl::StartsWith(rest, "UID FETCH") && selected == "Broken") {
      return absl::StrCat("* 1 FETCH (UID 1 FLAGS () INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" ",
                          "RFC822.SIZE 5 BODY[] {5}\r\nhelloXX\r\n");
    }
    if (absl::StartsWith(rest, "UID FETCH")) {
      return absl::StrCat(
          "* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \"yesterday\" RFC822.SIZE ", kDated.size(),
          " BODY[] ", ImapLiteral(kDated), ")\r\n",
          "* 2 FETCH (UID 2 FLAGS () INTERNALDATE \"31-Feb-2024 00:00:00 +0000\" BODY[] ",
          ImapLiteral(kUndated), ")\r\n",
          "* 3 FETCH (UID 3 FLAGS () INTERNALDATE NIL RFC822.SIZE -17 BODY[] ",
          ImapLiteral(kNegative), ")\r\n");
    }
    return std::string();
  });
}

std::string ReadFile(const fs::path& p) {
  std::string out;
  FILE* f = fopen(p.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

engine::MessageMeta Meta(const fs::path& json) {
  auto m = engine::MessageMetaFromJson(ReadFile(json));
  EXPECT_TRUE(m.ok()) << json << ": " << m.status();
  return m.ok() ? *m : engine::MessageMeta();
}

TEST(SourceDataTest, UnusableAttributesKeepTheMessageBrokenFramingFailsTheFolder) {
  auto server = net::testing::TestServer::Start(&UnreliableImap);
  ASSERT_TRUE(server.ok()) << server.status();
  auto b = testing_fixtures::DovecotServer::Start({});
  ASSERT_TRUE(b.ok()) << b.status();
  const auto& user = (*b)->users()[0];
  engine::AccountTask t;
  t.account.email = user.email;
  t.account.password = user.password;
  t.server.ssl = false;
  t.server.host = "127.0.0.1";
  t.server.port = (*server)->port();
  t.max_connections = 1;
  t.mode = engine::Mode::kExport;
  const std::string root = testing::TempDir() + "/source-data-export";
  fs::remove_all(root);
  auto store = storage::OpenStore(root);
  ASSERT_TRUE(store.ok()) << store.status();
  engine::CancelToken cancel;
  auto ex = engine::RunAccount(t, **store, nullptr, cancel);

  // INBOX exported in full; Broken failed on its framing.
  EXPECT_FALSE(ex.status.ok());
  ASSERT_EQ(ex.folders.size(), 2u);
  for (const auto& f : ex.folders) {
    if (f.name == "INBOX") {
      EXPECT_EQ(f.error, "");
      EXPECT_EQ(f.transferred, 3u);
    } else {
      EXPECT_EQ(f.name, "Broken");
      EXPECT_NE(f.error, "");
      EXPECT_EQ(f.transferred, 0u);
    }
  }
  const fs::path inbox = fs::path(root) / user.email / "INBOX";
  EXPECT_EQ(ReadFile(inbox / (engine::MessageBase(7, 1) + ".eml")), kDated);
  EXPECT_EQ(ReadFile(inbox / (engine::MessageBase(7, 2) + ".eml")), kUndated);
  EXPECT_EQ(ReadFile(inbox / (engine::MessageBase(7, 3) + ".eml")), kNegative);
  std::error_code ec;
  for (auto& e : fs::directory_iterator(fs::path(root) / user.email / "Broken", ec)) {
    EXPECT_FALSE(absl::EndsWith(e.path().string(), ".json") &&
                 e.path().filename() != ".folder.json")
        << e.path();
  }

  engine::MessageMeta dated = Meta(inbox / (engine::MessageBase(7, 1) + ".json"));
  EXPECT_EQ(dated.internaldate_raw, "yesterday");
  // The fallback: the Date: header field, as an IMAP date-time in UTC.
  EXPECT_EQ(dated.internaldate, "02-Jan-2024 09:20:30 +0000");
  EXPECT_FALSE(dated.size_unusable);
  EXPECT_EQ(dated.size, kDated.size());
  EXPECT_EQ(dated.flags, std::vector<std::string>{"\\Seen"});

  engine::MessageMeta undated = Meta(inbox / (engine::MessageBase(7, 2) + ".json"));
  EXPECT_EQ(undated.internaldate_raw, "31-Feb-2024 00:00:00 +0000");
  EXPECT_EQ(undated.internaldate, "");  // no fallback: appended without a date
  EXPECT_TRUE(undated.size_unusable);
  EXPECT_FALSE(undated.size_raw.has_value());  // missing
  EXPECT_EQ(undated.size, kUndated.size());
  EXPECT_TRUE(absl::StrContains(ReadFile(inbox / (engine::MessageBase(7, 2) + ".json")),
                                "\"rfc822_size_raw\": null"));

  engine::MessageMeta negative = Meta(inbox / (engine::MessageBase(7, 3) + ".json"));
  EXPECT_EQ(negative.internaldate_raw, "NIL");
  EXPECT_TRUE(negative.size_unusable);
  EXPECT_EQ(negative.size_raw, "-17");
  EXPECT_EQ(negative.size, kNegative.size());

  // A second run (incremental) leaves INBOX alone and fails Broken again.
  auto again = engine::RunAccount(t, **store, nullptr, cancel);
  EXPECT_FALSE(again.status.ok());
  EXPECT_EQ(again.messages, 0u);

  // The import takes such .json files: the fallback date where there is one, none otherwise.
  fs::remove_all(fs::path(root) / user.email / "Broken");
  t.mode = engine::Mode::kImport;
  t.server.port = (*b)->imap_port();
  auto im = engine::RunAccount(t, **store, nullptr, cancel);
  ASSERT_TRUE(im.status.ok()) << im.status;
  EXPECT_EQ(im.messages, 3u);
  // Idempotent: the undated messages are recognised on B whatever date B gave them.
  auto im2 = engine::RunAccount(t, **store, nullptr, cancel);
  ASSERT_TRUE(im2.status.ok()) << im2.status;
  EXPECT_EQ(im2.messages, 0u);
  t.mode = engine::Mode::kValidate;
  auto va = engine::RunAccount(t, **store, nullptr, cancel);
  EXPECT_TRUE(va.status.ok()) << va.status;

  imap::SessionOptions so;
  so.connect.host = (*b)->host();
  so.connect.port = (*b)->imap_port();
  auto s = imap::Session::Connect(so);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(
      imap::Authenticate(**s, {imap::AuthMethod::kLogin, user.email, user.password, ""}).ok());
  ASSERT_TRUE(imap::Select(**s, "INBOX", true).ok());
  struct Collect : imap::FetchSink {
    absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
    absl::Status BodyData(absl::string_view d) override {
      body.append(d.data(), d.size());
      return absl::OkStatus();
    }
    absl::Status BodyEnd() override { return absl::OkStatus(); }
    absl::Status OnMessage(const imap::FetchedMessage& m) override {
      if (m.has_body) by_body.emplace_back(body, m.internaldate);
      body.clear();
      return absl::OkStatus();
    }
    std::string body;
    std::vector<std::pair<std::string, std::string>> by_body;
  } got;
  ASSERT_TRUE(imap::UidFetch(**s, {1, 2, 3}, imap::FetchOptions(), &got).ok());
  ASSERT_EQ(got.by_body.size(), 3u);
  for (const auto& [body, date] : got.by_body) {
    auto t_b = imap::ParseInternalDate(date);
    ASSERT_TRUE(t_b.ok()) << date;
    if (body == kDated) {
      EXPECT_EQ(*t_b, *imap::ParseInternalDate("02-Jan-2024 09:20:30 +0000"));
    } else {
      // Appended without a date: server B's time of the APPEND.
      EXPECT_LT(absl::AbsDuration(absl::Now() - *t_b), absl::Minutes(10)) << date;
    }
  }
}

TEST(SourceDataTest, MessageDates) {
  auto t = imap::ParseMessageDate("Tue, 2 Jan 2024 10:20:30 +0100");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(imap::FormatInternalDate(*t), "02-Jan-2024 09:20:30 +0000");
  t = imap::ParseMessageDate("2 Jan 2024 10:20 GMT");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(imap::FormatInternalDate(*t), "02-Jan-2024 10:20:00 +0000");
  EXPECT_FALSE(imap::ParseMessageDate("").ok());
  EXPECT_FALSE(imap::ParseMessageDate("yesterday").ok());
  EXPECT_FALSE(imap::ParseMessageDate("2 Jan 2024 10:20:30 EST").ok());
}

}  // namespace
