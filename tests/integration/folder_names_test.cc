// Hostile and unusual folder names: every exported file stays inside the account's
// directory and every folder name survives the round trip exactly.
//  - A scripted server (what no real server will do): names such as "../../x", ".", "..",
//    control characters, empty components.
//  - Real Dovecot A and B (Maildir LAYOUT=fs, which allows dots): names such as ".hidden",
//    "x.eml", "y/.folder.json", "%", "\", very long names, case-only differences.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/engine/engine.h"
#include "common/engine/engine_internal.h"
#include "common/engine/layout.h"
#include "common/imap/command.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/scripted_imap_conn.h"

namespace {

namespace fs = std::filesystem;

const std::vector<std::string>& HostileNames() {
  static const auto* names = new std::vector<std::string>{"../../x",
                                                          "a/../../b",
                                                          ".",
                                                          "..",
                                                          "../..",
                                                          "/abs",
                                                          "a//b",
                                                          "x/..",
                                                          "~/x",
                                                          ".folder.json",
                                                          "1-0000000001.eml",
                                                          "%2E%2E",
                                                          "ctl\x01\x7f"
                                                          "char",
                                                          "tab\tname",
                                                          "back\\slash",
                                                          "st*r?<>|:\"q",
                                                          std::string(300, 'L'),
                                                          "Case",
                                                          "case",
                                                          ".tmp.x"};
  return *names;
}

using testing_fixtures::ImapLiteral;

// A server that lists hostile names and serves one message in each folder.
void HostileImap(net::testing::ServerConn& c) {
  const std::string msg = "Subject: hi\r\nMessage-ID: <h@x>\r\n\r\nbody\r\n";
  testing_fixtures::ServeScriptedImap(c, [&](const std::string& rest) {
    std::string out;
    if (absl::StartsWith(rest, "LIST")) {
      for (const std::string& n : HostileNames()) {
        absl::StrAppend(&out, "* LIST () \"/\" ", ImapLiteral(n), "\r\n");
      }
    } else if (absl::StartsWith(rest, "EXAMINE")) {
      out = "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n";
    } else if (absl::StartsWith(rest, "UID SEARCH")) {
      out = "* SEARCH 1\r\n";
    } else if (absl::StartsWith(rest, "UID FETCH")) {
      out = absl::StrCat(
          "* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \"01-Jan-2024 00:00:00 "
          "+0000\" RFC822.SIZE ",
          msg.size(), " BODY[] ", ImapLiteral(msg), ")\r\n");
    }
    return out;
  });
}

void ExpectEverythingInside(const std::string& root, const std::string& email) {
  const fs::path account = fs::weakly_canonical(fs::path(root) / email);
  for (auto& e : fs::recursive_directory_iterator(root)) {
    fs::path p = fs::weakly_canonical(e.path());
    auto rel = p.lexically_relative(account);
    EXPECT_TRUE(p == account || (!rel.empty() && *rel.begin() != "..")) << p;
  }
}

std::set<std::string> ExportedRawNames(storage::Store& store, const std::string& email) {
  auto folders = engine::internal::ListExportedFolders(store, email);
  EXPECT_TRUE(folders.ok()) << folders.status();
  std::set<std::string> out;
  for (const auto& f : *folders) out.insert(f.meta.raw_name);
  return out;
}

TEST(FolderNamesTest, HostileNamesFromAScriptedServerStayInsideTheAccount) {
  auto server = net::testing::TestServer::Start(&HostileImap);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string root = testing::TempDir() + "/hostile-export";
  fs::remove_all(root);
  auto store = storage::OpenStore(root);
  ASSERT_TRUE(store.ok()) << store.status();
  engine::AccountTask t;
  t.mode = engine::Mode::kExport;
  t.server.host = "127.0.0.1";
  t.server.port = (*server)->port();
  t.server.ssl = false;
  t.account.email = "victim@example.com";
  t.account.password = "pw";
  t.max_connections = 1;
  engine::CancelToken cancel;
  auto r = engine::RunAccount(t, **store, nullptr, cancel);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, HostileNames().size());
  ExpectEverythingInside(root, t.account.email);
  std::set<std::string> expected(HostileNames().begin(), HostileNames().end());
  EXPECT_EQ(ExportedRawNames(**store, t.account.email), expected);
  // The import mapping onto a server with the same delimiter gives back each exact name.
  engine::TargetInfo same;
  same.delimiter = '/';
  auto folders = engine::internal::ListExportedFolders(**store, t.account.email);
  ASSERT_TRUE(folders.ok()) << folders.status();
  std::vector<engine::FolderMeta> metas;
  for (const auto& f : *folders) metas.push_back(f.meta);
  auto mapped = engine::FolderMapper(config::FolderMap()).MapAll(metas, same);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  for (size_t i = 0; i < metas.size(); ++i) EXPECT_EQ((*mapped)[i].raw, metas[i].raw_name);
}

TEST(FolderNamesTest, UnusualNamesRoundTripThroughRealServers) {
  testing_fixtures::DovecotOptions o;
  o.users = 1;
  o.layout_fs = true;
  auto servers = testing_fixtures::DovecotPair::Start(o);
  ASSERT_TRUE(servers.ok()) << servers.status();
  testing_fixtures::DovecotServer &a = *servers->a, &b = *servers->b;
  const std::vector<std::string> names = {".hidden",
                                          "trail.",
                                          "a.b",
                                          "x.eml",
                                          "y/.folder.json",
                                          "%",
                                          "\\",
                                          "st*r",
                                          "per%cent",
                                          "x\"q",
                                          "sp ace",
                                          std::string(220, 'L'),
                                          "Case",
                                          "case",
                                          "Dots..dots",
                                          "\xC3\x9C"
                                          "ber/\xE6\x97\xA5\xE6\x9C\xAC",
                                          ".tmp.z"};
  const auto& user = a.users()[0];
  {
    imap::SessionOptions so;
    so.connect.host = a.host();
    so.connect.port = a.imap_port();
    auto s = imap::Session::Connect(so);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(
        imap::Authenticate(**s, {imap::AuthMethod::kLogin, user.email, user.password, ""}).ok());
    int i = 0;
    for (const std::string& n : names) {
      auto enc = imap::EncodeMailboxName(n);
      ASSERT_TRUE(enc.ok());
      ASSERT_TRUE(imap::Create(**s, *enc).ok()) << n;
      imap::AppendMessage m;
      m.body =
          std::make_shared<imap::StringLiteralSource>(testing_fixtures::GenerateMessage(++i, 700));
      ASSERT_TRUE(imap::Append(**s, *enc, m).ok()) << n;
    }
  }
  const std::string root = a.dir() + "/export";
  auto store = storage::OpenStore(root);
  ASSERT_TRUE(store.ok());
  engine::CancelToken cancel;
  engine::AccountTask t;
  t.server.host = "127.0.0.1";
  t.server.ssl = false;
  t.account.email = user.email;
  t.account.password = user.password;
  t.mode = engine::Mode::kExport;
  t.server.port = a.imap_port();
  auto ex = engine::RunAccount(t, **store, nullptr, cancel);
  ASSERT_TRUE(ex.status.ok()) << ex.status;
  ExpectEverythingInside(root, user.email);
  t.mode = engine::Mode::kImport;
  t.server.port = b.imap_port();
  auto im = engine::RunAccount(t, **store, nullptr, cancel);
  ASSERT_TRUE(im.status.ok()) << im.status;
  t.mode = engine::Mode::kValidate;
  auto va = engine::RunAccount(t, **store, nullptr, cancel);
  EXPECT_TRUE(va.status.ok()) << va.status;
  // B lists exactly the names A had.
  auto listed = [&](const testing_fixtures::DovecotServer& s) {
    imap::SessionOptions so;
    so.connect.host = s.host();
    so.connect.port = s.imap_port();
    auto session = imap::Session::Connect(so);
    EXPECT_TRUE(session.ok());
    EXPECT_TRUE(
        imap::Authenticate(**session, {imap::AuthMethod::kLogin, user.email, user.password, ""})
            .ok());
    std::set<std::string> out;
    auto list = imap::List(**session);
    EXPECT_TRUE(list.ok());
    if (list.ok()) {
      for (const auto& f : *list) out.insert(f.name);
    }
    return out;
  };
  std::set<std::string> on_b = listed(b);
  for (const std::string& n : names) EXPECT_TRUE(on_b.count(n)) << n;
  EXPECT_EQ(listed(a), on_b);
}

}  // namespace
