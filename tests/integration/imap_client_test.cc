// The IMAP client against a real Dovecot (tests/fixtures): transports, login, LIST,
// pipelined FETCH, APPEND, MULTIAPPEND, COMPRESS.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"

namespace {

using imap::Session;
using testing_fixtures::DovecotServer;

// Collects fetched bodies in memory by UID (tests only; the engine streams to storage).
class MapSink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t seq, uint64_t size) override {
    current_.clear();
    current_.reserve(size);
    return absl::OkStatus();
  }
  absl::Status BodyData(absl::string_view chunk) override {
    max_chunk = std::max(max_chunk, chunk.size());
    current_.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  }
  absl::Status BodyEnd() override {
    pending_ = std::move(current_);
    return absl::OkStatus();
  }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    messages[m.uid] = m;
    if (m.has_body) bodies[m.uid] = std::move(pending_);
    return absl::OkStatus();
  }
  std::map<uint32_t, imap::FetchedMessage> messages;
  std::map<uint32_t, std::string> bodies;
  size_t max_chunk = 0;

 private:
  std::string current_, pending_;
};

imap::SessionOptions Options(const DovecotServer& s, net::TlsMode tls) {
  imap::SessionOptions o;
  o.connect.host = s.host();
  o.connect.port = tls == net::TlsMode::kImplicit ? s.imaps_port() : s.imap_port();
  o.connect.tls = tls;
  o.connect.tls_options.ca_file = s.ca_file();
  o.connect.tls_options.server_name = s.cert_host();
  o.connect.io_timeout = std::chrono::seconds(30);
  return o;
}

absl::StatusOr<std::unique_ptr<Session>> LoggedIn(const DovecotServer& s, int user,
                                                  net::TlsMode tls = net::TlsMode::kNone,
                                                  imap::SessionOptions* opts = nullptr) {
  imap::SessionOptions o = opts ? *opts : Options(s, tls);
  auto session = Session::Connect(o);
  if (!session.ok()) return session.status();
  const auto& u = s.users()[user];
  absl::Status st =
      imap::Authenticate(**session, {imap::AuthMethod::kAuto, u.email, u.password, ""});
  if (!st.ok()) return st;
  return session;
}

class ImapClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing_fixtures::DovecotOptions o;
    o.users = 8;
    o.compress = true;
    auto s = DovecotServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static DovecotServer* server_;
};
DovecotServer* ImapClientTest::server_ = nullptr;

TEST_F(ImapClientTest, LoginOverPlainTlsAndStartTls) {
  for (net::TlsMode mode :
       {net::TlsMode::kNone, net::TlsMode::kImplicit, net::TlsMode::kStartTls}) {
    auto s = LoggedIn(*server_, 0, mode);
    ASSERT_TRUE(s.ok()) << static_cast<int>(mode) << ": " << s.status();
    EXPECT_TRUE((*s)->HasCapability("IMAP4rev1"));
    // Capabilities were refreshed after login: Dovecot adds these only then.
    EXPECT_TRUE((*s)->HasCapability("UIDPLUS")) << static_cast<int>(mode);
    EXPECT_FALSE((*s)->HasCapability("STARTTLS") && mode == net::TlsMode::kStartTls &&
                 (*s)->HasCapability("LOGINDISABLED"));
    EXPECT_TRUE(imap::Logout(**s).ok());
  }
}

TEST_F(ImapClientTest, WrongPasswordIsUnauthenticatedAndNamesUser) {
  auto session = Session::Connect(Options(*server_, net::TlsMode::kImplicit));
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string email = server_->users()[1].email;
  absl::Status st =
      imap::Authenticate(**session, {imap::AuthMethod::kLogin, email, "Wr0ngPassw0rd!", ""});
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), email)) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "Wr0ngPassw0rd!")) << st;
  // Same through AUTHENTICATE PLAIN.
  auto s2 = Session::Connect(Options(*server_, net::TlsMode::kImplicit));
  ASSERT_TRUE(s2.ok());
  st = imap::Authenticate(**s2, {imap::AuthMethod::kPlain, email, "Wr0ngPassw0rd!", ""});
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "Wr0ngPassw0rd!")) << st;
}

TEST(ImapClientTlsTest, CertificateForAnotherHostIsRefusedUnlessVerifyOff) {
  testing_fixtures::DovecotOptions o;
  o.cert_host = "other.example";
  auto server = DovecotServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  for (net::TlsMode mode : {net::TlsMode::kImplicit, net::TlsMode::kStartTls}) {
    imap::SessionOptions opts = Options(**server, mode);
    opts.connect.tls_options.server_name = "";  // verify against the host we dial
    auto s = Session::Connect(opts);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(absl::IsUnauthenticated(s.status())) << s.status();
    EXPECT_TRUE(absl::StrContains(s.status().message(), "certificate")) << s.status();
    opts.connect.tls_options.verify = false;
    auto ok = LoggedIn(**server, 0, mode, &opts);
    EXPECT_TRUE(ok.ok()) << ok.status();
  }
}

TEST_F(ImapClientTest, ListShowsNestedNonAsciiAndSpecialUseFolders) {
  auto s = LoggedIn(*server_, 2);
  ASSERT_TRUE(s.ok()) << s.status();
  for (const char* name : {"Parent", "Parent/Child", "R\xC3\xA9sum\xC3\xA9", "a&b"}) {
    auto enc = imap::EncodeMailboxName(name);
    ASSERT_TRUE(enc.ok());
    ASSERT_TRUE(imap::Create(**s, *enc).ok()) << name;
  }
  auto list = imap::List(**s);
  ASSERT_TRUE(list.ok()) << list.status();
  std::map<std::string, imap::MailboxInfo> by_name;
  for (const auto& m : *list) by_name[m.name] = m;
  ASSERT_TRUE(by_name.count("Parent/Child"));
  EXPECT_EQ(by_name["Parent/Child"].delimiter, '/');
  ASSERT_TRUE(by_name.count("R\xC3\xA9sum\xC3\xA9"));
  EXPECT_EQ(by_name["R\xC3\xA9sum\xC3\xA9"].raw_name, "R&AOk-sum&AOk-");
  ASSERT_TRUE(by_name.count("a&b"));
  EXPECT_EQ(by_name["a&b"].raw_name, "a&-b");
  ASSERT_TRUE(by_name.count("Sent"));
  EXPECT_EQ(by_name["Sent"].special_use(), "\\Sent");
  EXPECT_TRUE(by_name.count("INBOX"));
  auto ns = imap::GetNamespaces(**s);
  ASSERT_TRUE(ns.ok()) << ns.status();
  ASSERT_FALSE(ns->personal.empty());
  EXPECT_EQ(ns->personal[0].delimiter, '/');
}

TEST_F(ImapClientTest, PipelinedFetchOfThousandMessagesIsByteExact) {
  const auto& u = server_->users()[3];
  std::map<int, std::string> seeded;
  for (int i = 1; i <= 1000; ++i) {
    seeded[i] = testing_fixtures::GenerateMessage(1000 + i, 400 + (i * 37) % 3000);
    std::vector<std::string> flags;
    if (i % 3 == 0) flags.push_back("\\Seen");
    if (i % 7 == 0) flags.push_back("$Forwarded");
    ASSERT_TRUE(
        server_
            ->SeedMessage(u.email, "INBOX", seeded[i], flags, absl::FromUnixSeconds(1700000000 + i))
            .ok());
  }
  auto s = LoggedIn(*server_, 3);
  ASSERT_TRUE(s.ok()) << s.status();
  auto box = imap::Select(**s, "INBOX", /*read_only=*/true);
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->exists, 1000u);
  EXPECT_TRUE(box->read_only);
  auto uids = imap::UidSearch(**s, "ALL");
  ASSERT_TRUE(uids.ok()) << uids.status();
  ASSERT_EQ(uids->size(), 1000u);
  MapSink sink;
  imap::FetchOptions fo;
  fo.message_id = true;
  ASSERT_TRUE(imap::UidFetch(**s, *uids, fo, &sink).ok());
  ASSERT_EQ(sink.bodies.size(), 1000u);
  int i = 1;
  for (uint32_t uid : *uids) {
    ASSERT_EQ(sink.bodies[uid], seeded[i]) << "uid " << uid;
    const auto& m = sink.messages[uid];
    EXPECT_EQ(m.size, seeded[i].size());
    EXPECT_EQ(m.message_id,
              absl::StrCat("<gen-", 1000 + i, "-", seeded[i].size(), "@fixture.example>"));
    EXPECT_EQ(std::count(m.flags.begin(), m.flags.end(), "\\Seen"), i % 3 == 0 ? 1 : 0);
    EXPECT_EQ(std::count(m.flags.begin(), m.flags.end(), "$Forwarded"), i % 7 == 0 ? 1 : 0);
    ++i;
  }
  // BODY.PEEK under EXAMINE changed nothing: message 1 is still unseen.
  auto again = imap::Select(**s, "INBOX", true);
  ASSERT_TRUE(again.ok());
  MapSink flags_only;
  imap::FetchOptions no_body;
  no_body.body = false;
  ASSERT_TRUE(imap::UidFetch(**s, {(*uids)[0]}, no_body, &flags_only).ok());
  EXPECT_TRUE(flags_only.messages[(*uids)[0]].flags.empty());
  // More header fields: the block as the server sends it, the Message-ID still parsed.
  MapSink fields;
  no_body.message_id = true;
  no_body.header_fields = "SUBJECT FROM";
  ASSERT_TRUE(imap::UidFetch(**s, {(*uids)[0]}, no_body, &fields).ok());
  const imap::FetchedMessage& f = fields.messages[(*uids)[0]];
  EXPECT_EQ(f.message_id, absl::StrCat("<gen-1001-", seeded[1].size(), "@fixture.example>"));
  EXPECT_NE(f.header_fields.find("Subject: "), std::string::npos) << f.header_fields;
  EXPECT_NE(f.header_fields.find("From: "), std::string::npos) << f.header_fields;
  EXPECT_EQ(f.header_fields.find("To: "), std::string::npos) << f.header_fields;
  EXPECT_TRUE(absl::EndsWith(f.header_fields, "\r\n\r\n"));
}

TEST_F(ImapClientTest, AppendKeepsFlagsKeywordsAndInternalDate) {
  auto s = LoggedIn(*server_, 4);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string body = testing_fixtures::GenerateMessage(77, 2000);
  imap::AppendMessage m;
  m.flags = {"\\Seen", "\\Flagged", "$Forwarded", "Project-X"};
  m.internaldate = "14-Feb-2021 09:30:15 +0000";
  m.body = std::make_shared<imap::StringLiteralSource>(body);
  auto r = imap::Append(**s, "INBOX", m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->uid, 0u);  // UIDPLUS
  auto box = imap::Select(**s, "INBOX", true);
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(box->uidvalidity, r->uidvalidity);
  MapSink sink;
  ASSERT_TRUE(imap::UidFetch(**s, {r->uid}, {}, &sink).ok());
  ASSERT_TRUE(sink.messages.count(r->uid));
  auto flags = sink.messages[r->uid].flags;
  std::sort(flags.begin(), flags.end());
  EXPECT_EQ(flags, (std::vector<std::string>{"$Forwarded", "Project-X", "\\Flagged", "\\Seen"}));
  EXPECT_EQ(sink.messages[r->uid].internaldate, "14-Feb-2021 09:30:15 +0000");
  EXPECT_EQ(sink.bodies[r->uid], body);
}

TEST_F(ImapClientTest, MultiAppendAddsAllWithUids) {
  auto s = LoggedIn(*server_, 5);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->HasCapability("MULTIAPPEND"));
  ASSERT_TRUE(imap::Create(**s, "Batch").ok());
  std::vector<imap::AppendMessage> msgs(25);
  for (size_t i = 0; i < msgs.size(); ++i) {
    msgs[i].flags = {i % 2 ? "\\Seen" : "\\Answered"};
    msgs[i].internaldate = absl::StrCat("0", 1 + i % 9, "-Mar-2022 10:00:00 +0000");
    msgs[i].body = std::make_shared<imap::StringLiteralSource>(
        testing_fixtures::GenerateMessage(500 + i, 800 + i));
  }
  auto r = imap::AppendMany(**s, "Batch", msgs);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), msgs.size());
  auto box = imap::Select(**s, "Batch", true);
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(box->exists, msgs.size());
  MapSink sink;
  std::vector<uint32_t> uids;
  for (const auto& a : *r) uids.push_back(a.uid);
  ASSERT_TRUE(imap::UidFetch(**s, uids, {}, &sink).ok());
  for (size_t i = 0; i < msgs.size(); ++i) {
    uint32_t uid = (*r)[i].uid;
    EXPECT_EQ(sink.bodies[uid], testing_fixtures::GenerateMessage(500 + i, 800 + i));
    EXPECT_EQ(sink.messages[uid].flags, std::vector<std::string>{msgs[i].flags[0]});
  }
  // A missing mailbox is kNotFound ([TRYCREATE]) so callers can create it and retry.
  auto missing = imap::AppendMany(**s, "Nope", {msgs[0]});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

TEST_F(ImapClientTest, CompressedSessionStreamsLargeMessageInChunks) {
  const auto& u = server_->users()[6];
  const std::string big = testing_fixtures::GenerateMessage(4242, 6 * 1024 * 1024);
  ASSERT_TRUE(server_->SeedMessage(u.email, "INBOX", big, {}, absl::Now()).ok());
  auto s = LoggedIn(*server_, 6, net::TlsMode::kImplicit);
  ASSERT_TRUE(s.ok()) << s.status();
  auto compressed = (*s)->StartCompression();
  ASSERT_TRUE(compressed.ok()) << compressed.status();
  EXPECT_TRUE(*compressed);
  ASSERT_TRUE(imap::Select(**s, "INBOX", true).ok());
  auto uids = imap::UidSearch(**s);
  ASSERT_TRUE(uids.ok());
  ASSERT_EQ(uids->size(), 1u);
  MapSink sink;
  ASSERT_TRUE(imap::UidFetch(**s, *uids, {}, &sink).ok());
  EXPECT_EQ(sink.bodies[(*uids)[0]], big);
  EXPECT_LE(sink.max_chunk, imap::Limits().literal_chunk);
  EXPECT_TRUE(imap::Logout(**s).ok());
}

}  // namespace
