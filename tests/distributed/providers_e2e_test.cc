// Issue 11's "done when", as one job through the real coordinator and 2 workers: export
// from Dovecot A behind the fault proxy (Microsoft's "Request is throttled. Suggested
// Backoff Time", Gmail's "[OVERQUOTA] ... bandwidth limits" and "OK ... [THROTTLED]", a
// login cap with Gmail's "Too many simultaneous connections"), one account on OAuth2 whose
// token expires twice during its export (each token is good for one login; the proxy ends
// that account's session twice, as a provider does at expiry); import into Dovecot B, which
// refuses oversize messages itself (quota_max_mail_size: NO [LIMIT]; APPENDLIMIT: never
// sent), behind a proxy that refuses one message's content and one message's extra
// keywords ("Too many user flags in mailbox") without passing them on; validate; import
// again. Every account ends ok in one attempt; every other message is exact on B (bytes,
// flags, keywords, INTERNALDATE); every refused message is named (folder, UID, B's text) in
// the JSON report and in validate's output as refused, not missing, and the message that
// lost keywords is named with them; the second import appends nothing; the throttled
// accounts' paused time is in the report.
#include <signal.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/oauth2_introspection.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::Fault;
using testing_fixtures::FaultProxy;
using testing_fixtures::ServedMessage;

constexpr int kSuggestedMs = 300;
const std::string kMsThrottle = absl::StrCat(
    "NO Request is throttled. Suggested Backoff Time: ", kSuggestedMs, " milliseconds");
const std::string kGmailThrottle = "NO [OVERQUOTA] Account exceeded command or bandwidth limits.";
const std::string kContentRefusal = "NO Message contains NUL characters";
const std::string kKeywordRefusal = "NO Too many user flags in mailbox";
// The message B refuses for its content is the one with this INTERNALDATE.
const absl::Time kContentDate = absl::FromUnixSeconds(1600000000);
const std::string kContentDateText = "13-Sep-2020 12:26:40 +0000";
const std::vector<std::string> kTokens = {"tokP-1-Rv7Hq2", "tokP-2-Mw3Zk8", "tokP-3-Jd5Nc4"};

// A message of the source that B refuses or keeps without some keywords.
struct Expected {
  int user;
  std::string folder;
  uint32_t uid;
  std::string kind;
  std::string server_text;  // a part of B's words
};

class ProvidersE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto intro = testing_fixtures::IntrospectionServer::Start();
    ASSERT_TRUE(intro.ok()) << intro.status();
    intro_ = std::move(*intro);
    testing_fixtures::DovecotOptions oa;
    oa.users = 4;
    oa.oauth2_introspection_url = intro_->url();
    auto a = DovecotServer::Start(oa);
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    testing_fixtures::DovecotOptions ob;
    ob.users = 4;
    ob.max_mail_size = 20000;  // NO [LIMIT] above
    ob.append_limit = 60000;   // advertised: never sent above
    auto b = DovecotServer::Start(ob);
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
    Seed();
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  const std::string& Email(int user) const { return a_->users()[user].email; }

  void Seed() {
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    int seed = 0;
    auto generated = [&](int user, const std::string& folder, int n) {
      so.seed = ++seed;
      ASSERT_TRUE(a_->SeedGenerated(Email(user), folder, n, so).ok());
    };
    auto one = [&](int user, const std::string& folder, size_t size, std::vector<std::string> flags,
                   absl::Time date) {
      ASSERT_TRUE(
          a_->SeedMessage(Email(user), folder,
                          testing_fixtures::GenerateMessage(absl::ToUnixSeconds(date), size), flags,
                          date)
              .ok());
    };
    // user1: two messages too big for B (uids 21, 22), and in Tags one message with more
    // keywords than B keeps (uid 8).
    generated(0, "INBOX", 20);
    one(0, "INBOX", 25000, {"\\Seen"}, absl::FromUnixSeconds(1650000000));
    one(0, "INBOX", 80000, {"\\Flagged"}, absl::FromUnixSeconds(1650000600));
    for (int i = 0; i < 8; ++i) {
      std::vector<std::string> flags = {i % 2 ? "$Label1" : "$Label2"};
      if (i % 3 == 0) flags.push_back("\\Seen");
      if (i == 7) flags = {"$Label1", "$Overflow1", "$Overflow2", "\\Answered"};
      one(0, "Tags", 1500 + i * 100, flags, absl::FromUnixSeconds(1660000000 + i * 3600));
    }
    generated(0, "Work", 15);
    // user2: a message B refuses for its content (uid 21) and one too big (Sent uid 11).
    generated(1, "INBOX", 20);
    one(1, "INBOX", 3000, {"\\Seen", "$Forwarded"}, kContentDate);
    generated(1, "Sent", 10);
    one(1, "Sent", 30000, {"\\Seen"}, absl::FromUnixSeconds(1650003600));
    // user3 (OAuth2) and user4: throttled like the others, nothing refused.
    for (const char* f : {"INBOX", "Work", "Sent", "Archive"}) generated(2, f, 15);
    generated(3, "INBOX", 30);
    generated(3, "Lists", 15);
  }

  // A plain-IMAP config for the server behind `proxy_port`, users' passwords from `server`
  // (user3 on OAuth2 when `oauth`).
  std::string Config(const std::string& name, const DovecotServer& server, int proxy_port,
                     bool oauth) {
    nlohmann::json j;
    j["server"] = {{"host", "127.0.0.1"},
                   {"port", proxy_port},
                   {"ssl", false},
                   {"starttls", false},
                   {"max_connections_per_account", 3}};
    j["accounts"] = nlohmann::json::array();
    for (int u = 0; u < 4; ++u) {
      const auto& user = server.users()[u];
      if (oauth && u == 2) {
        j["accounts"].push_back({{"email", user.email},
                                 {"auth", "xoauth2"},
                                 {"oauth2_token_command", TokenCommand()},
                                 {"max_connections", 1}});
      } else {
        j["accounts"].push_back({{"email", user.email}, {"password", user.password}});
      }
    }
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFile(path, j.dump(2)));
    return path;
  }

  // Prints token 1 on its first run, 2 on its second, 3 from then on.
  std::string TokenCommand() {
    const std::string script = dir_ + "/token.sh", runs = dir_ + "/token.runs";
    EXPECT_TRUE(
        WriteFile(script, absl::StrCat("echo run >> '", runs, "'\n", "case $(wc -l < '", runs,
                                       "') in\n  1) echo ", kTokens[0], ";;\n  2) echo ",
                                       kTokens[1], ";;\n  *) echo ", kTokens[2], ";;\nesac\n")));
    return "sh '" + script + "'";
  }

  int Run(const std::string& mode, const std::string& config, const std::string& tag) {
    const std::string flag = mode == "export" ? "--output-dir" : "--input-dir";
    return RunProcess({Binary("coordinator"), "--workers", "2", "--log-dir", dir_ + "/logs",
                       "--mode", mode, "--config", config, flag, dir_ + "/exported"},
                      dir_, {{"TMPDIR", dir_}}, tag, absl::Seconds(120));
  }

  nlohmann::json Report(const std::string& mode) {
    const std::string path = NewestReport(dir_ + "/logs", mode);
    if (path.empty()) {
      ADD_FAILURE() << "no " << mode << " report";
      return nlohmann::json::object();
    }
    return nlohmann::json::parse(ReadFile(path));
  }

  // Every account succeeded in one attempt.
  void ExpectAllSucceeded(const nlohmann::json& report) {
    ASSERT_EQ(report["accounts"].size(), 4u) << report.dump(2);
    for (const auto& a : report["accounts"]) {
      EXPECT_EQ(a["state"], "succeeded") << a["email"] << ": " << a["last_error"];
      EXPECT_EQ(a["attempts"], 1) << a["email"];
    }
  }

  // `list` ("refused" or "keywords_dropped" of every account) names exactly `want`.
  void ExpectNamed(const nlohmann::json& report, const std::string& list,
                   const std::vector<Expected>& want) {
    std::map<std::string, nlohmann::json> got;  // by "email folder uid"
    for (const auto& a : report["accounts"]) {
      for (const auto& m : a[list]) {
        EXPECT_EQ(m["email"], a["email"]);
        got[absl::StrCat(m["email"].get<std::string>(), " ", m["folder"].get<std::string>(), " ",
                         m["source_uid"].get<uint32_t>())] = m;
      }
    }
    EXPECT_EQ(got.size(), want.size()) << list << ": " << report.dump(2);
    for (const Expected& e : want) {
      auto it = got.find(absl::StrCat(Email(e.user), " ", e.folder, " ", e.uid));
      ASSERT_NE(it, got.end()) << list << ": " << Email(e.user) << " " << e.folder << " uid "
                               << e.uid;
      EXPECT_EQ(it->second["kind"], e.kind) << it->second.dump();
      EXPECT_TRUE(absl::StrContains(it->second["server_text"].get<std::string>(), e.server_text))
          << it->second.dump();
    }
  }

  std::vector<ServedMessage> Messages(const DovecotServer& s, int user, const std::string& f) {
    auto session = testing_fixtures::LoginAs(s, user);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return {};
    return testing_fixtures::MessagesIn(**session, f);
  }

  std::string dir_;
  std::unique_ptr<testing_fixtures::IntrospectionServer> intro_;
  std::unique_ptr<DovecotServer> a_, b_;
};

TEST_F(ProvidersE2ETest, ThrottledSourceRefusingTargetAndExpiringTokenEndOkAndExact) {
  const std::string u3 = Email(2);
  intro_->Grant(kTokens[0], u3, /*logins=*/1);
  intro_->Grant(kTokens[1], u3, /*logins=*/1);
  intro_->Grant(kTokens[2], u3);
  testing_fixtures::FaultProxyOptions pa;
  pa.target = absl::StrCat(a_->host(), ":", a_->imap_port());
  // An account's third connection logs in while its first two are open: refused, whatever
  // the load (Gmail caps each account's connections).
  pa.max_logins_per_user = 2;
  pa.faults = {
      // user3's token expires: its session ends before its 2nd and its 4th UID FETCH.
      {Fault::Action::kBye, "UID FETCH", 1, 1, "Session expired, please login again", "", u3},
      {Fault::Action::kBye, "UID FETCH", 3, 1, "Session expired, please login again", "", u3},
      {Fault::Action::kReplace, "UID FETCH", 0, 2, kMsThrottle},
      {Fault::Action::kReplace, "UID FETCH", 3, 1, kGmailThrottle},
      {Fault::Action::kSlowDownOk, "UID FETCH", 5, 2, ""},
      {Fault::Action::kReplace, "EXAMINE", 2, 1, kMsThrottle},
  };
  auto proxy_a = FaultProxy::Start(pa);
  ASSERT_TRUE(proxy_a.ok()) << proxy_a.status();
  testing_fixtures::FaultProxyOptions pb;
  pb.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  pb.faults = {
      {Fault::Action::kRefuse, "APPEND", 0, -1, kContentRefusal, kContentDateText},
      {Fault::Action::kRefuse, "APPEND", 0, -1, kKeywordRefusal, "$Overflow1"},
  };
  auto proxy_b = FaultProxy::Start(pb);
  ASSERT_TRUE(proxy_b.ok()) << proxy_b.status();

  // ---- export: throttles, a login cap, a token that expires twice.
  ASSERT_EQ(Run("export", Config("export.json", *a_, (*proxy_a)->port(), true), "export"), 0)
      << ReadFile(dir_ + "/export.stdout");
  const testing_fixtures::FaultCounts fired = (*proxy_a)->counts();
  for (size_t i = 0; i < fired.fired.size(); ++i) EXPECT_GE(fired.fired[i], 1) << "fault " << i;
  EXPECT_GE(fired.logins_refused, 1);
  nlohmann::json exp = Report("export");
  ExpectAllSucceeded(exp);
  uint64_t throttles = 0;
  for (const auto& a : exp["accounts"]) {
    throttles += a["throttles"].get<uint64_t>();
    if (a["throttles"].get<uint64_t>() > 0) {
      EXPECT_GT(a["throttled_ms"], 0) << a.dump(2);
    }
  }
  EXPECT_GE(throttles, 6u);  // 3 suggested waits, 1 without, 2 slow-down OKs (and the caps)
  EXPECT_GE(exp["totals"]["throttled_ms"].get<uint64_t>(), uint64_t{kSuggestedMs});
  EXPECT_EQ(exp["totals"]["throttles"], throttles);
  // The token was refused twice and read again each time; every one was used.
  EXPECT_GE(intro_->refused(), 2);
  for (const std::string& t : kTokens) EXPECT_GE(intro_->accepted(t), 1) << t;
  EXPECT_GE(ReadFile(dir_ + "/token.runs").size(), std::string("run\n").size() * 3);
  size_t u3_messages = 0;
  for (const std::string& f : FilesUnder(dir_ + "/exported/" + u3)) {
    u3_messages += absl::EndsWith(f, ".eml") ? 1 : 0;
  }
  EXPECT_EQ(u3_messages, 60u);

  // ---- import: B refuses 3 messages for size, 1 for its content, and 2 keywords of one.
  const std::string imp = Config("import.json", *b_, (*proxy_b)->port(), false);
  ASSERT_EQ(Run("import", imp, "import"), 0) << ReadFile(dir_ + "/import.stdout");
  const std::vector<Expected> refused = {
      {0, "INBOX", 21, "too big", "[LIMIT]"},
      {0, "INBOX", 22, "too big", "not sent: 80000 bytes exceed APPENDLIMIT=60000"},
      {1, "INBOX", 21, "content refused", kContentRefusal},
      {1, "Sent", 11, "too big", "[LIMIT]"},
  };
  const std::vector<Expected> keywords = {{0, "Tags", 8, "keywords dropped", kKeywordRefusal}};
  nlohmann::json imported = Report("import");
  ExpectAllSucceeded(imported);
  EXPECT_EQ(imported["totals"]["messages_refused"], 4);
  ExpectNamed(imported, "refused", refused);
  ExpectNamed(imported, "keywords_dropped", keywords);
  EXPECT_EQ(imported["accounts"][0]["keywords_dropped"][0]["keywords"],
            nlohmann::json({"$Overflow1", "$Overflow2"}));
  for (size_t i = 0; i < (*proxy_b)->counts().fired.size(); ++i) {
    EXPECT_GE((*proxy_b)->counts().fired[i], 1) << "B fault " << i;
  }

  // Every other message is exact on B: bytes, flags, keywords, INTERNALDATE.
  std::set<size_t> refused_sizes = {25000, 80000, 30000};
  const std::string content_body =
      testing_fixtures::GenerateMessage(absl::ToUnixSeconds(kContentDate), 3000);
  std::map<int, std::map<std::string, uint64_t>> counts_b;
  for (int u = 0; u < 4; ++u) {
    for (const auto& [folder, n] : testing_fixtures::FolderCounts(*a_, u)) {
      std::vector<ServedMessage> want;
      for (ServedMessage m : Messages(*a_, u, folder)) {
        if (refused_sizes.count(m.body.size()) || m.body == content_body) continue;
        std::vector<std::string> kept;
        for (const std::string& f : m.flags) {
          if (!absl::StartsWith(f, "$Overflow")) kept.push_back(f);
        }
        m.flags = kept;
        want.push_back(m);
      }
      EXPECT_EQ(Messages(*b_, u, folder), want) << Email(u) << " " << folder;
    }
    counts_b[u] = testing_fixtures::FolderCounts(*b_, u);
  }

  // ---- validate: refused, not missing; the keywords B did not take named.
  ASSERT_EQ(Run("validate", imp, "validate"), 0) << ReadFile(dir_ + "/validate.stdout");
  nlohmann::json val = Report("validate");
  ExpectAllSucceeded(val);
  ExpectNamed(val, "refused", refused);
  ExpectNamed(val, "keywords_dropped", keywords);
  for (const auto& a : val["accounts"]) {
    for (const auto& f : a["folders"]) EXPECT_EQ(f["missing"], 0) << a["email"] << f.dump();
  }
  const std::string out = ReadFile(dir_ + "/validate.stdout");
  for (const Expected& e : refused) {
    EXPECT_TRUE(
        absl::StrContains(out, absl::StrCat(Email(e.user), "  ", e.folder, "  uid ", e.uid)))
        << out;
  }
  EXPECT_TRUE(absl::StrContains(out, "refused by the target (not missing")) << out;
  EXPECT_TRUE(absl::StrContains(
      out,
      absl::StrCat(Email(0), "  Tags  uid 8  without $Overflow1 $Overflow2  (", kKeywordRefusal)))
      << out;

  // ---- import again: nothing appended (the refused ones refused again), no duplicate.
  ASSERT_EQ(Run("import", imp, "import2"), 0) << ReadFile(dir_ + "/import2.stdout");
  nlohmann::json again = Report("import");
  ExpectAllSucceeded(again);
  EXPECT_EQ(again["totals"]["messages_done"], 0);
  ExpectNamed(again, "refused", refused);
  for (int u = 0; u < 4; ++u) {
    EXPECT_EQ(testing_fixtures::FolderCounts(*b_, u), counts_b[u]) << Email(u);
  }
  // ... and validate still names the message without its keywords.
  ASSERT_EQ(Run("validate", imp, "validate2"), 0) << ReadFile(dir_ + "/validate2.stdout");
  ExpectNamed(Report("validate"), "keywords_dropped", keywords);

  const std::string all = AllRunOutput(dir_);
  for (const std::string& t : kTokens) EXPECT_FALSE(absl::StrContains(all, t)) << t;
  // What the reports say, for the record.
  nlohmann::json shown = {{"export_totals", exp["totals"]}};
  for (const auto& a : exp["accounts"]) {
    shown["export_accounts"].push_back({{"email", a["email"]},
                                        {"attempts", a["attempts"]},
                                        {"throttled_ms", a["throttled_ms"]},
                                        {"throttles", a["throttles"]},
                                        {"reconnects", a["reconnects"]}});
  }
  for (const auto& a : imported["accounts"]) {
    for (const auto& m : a["refused"]) shown["import_refused"].push_back(m);
    for (const auto& m : a["keywords_dropped"]) shown["import_keywords_dropped"].push_back(m);
  }
  std::cerr << shown.dump(2) << "\n";
}

}  // namespace
}  // namespace fleettest
