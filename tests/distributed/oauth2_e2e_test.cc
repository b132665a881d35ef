// OAuth2 through the real coordinator and workers, against a Dovecot whose oauth2 passdb
// asks an introspection endpoint the test controls. Each account's token command prints
// a revoked token on its first run, so the first login is refused and the worker runs the
// command again: one account then gets a valid token and finishes, the other's command
// fails. That account alone fails, named in the summary and the report, while the others
// are exported in full; no token appears in any output (stdout, stderr, logs, report, at
// debug log level).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/oauth2_introspection.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::IntrospectionServer;

class OAuth2E2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto intro = IntrospectionServer::Start();
    ASSERT_TRUE(intro.ok()) << intro.status();
    intro_ = std::move(*intro);
    testing_fixtures::DovecotOptions o;
    o.users = 3;
    o.oauth2_introspection_url = intro_->url();
    auto server = DovecotServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    a_ = std::move(*server);
    testing_fixtures::SeedOptions so;
    for (int u = 0; u < 3; ++u) {
      for (const char* folder : {"INBOX", "Sent", "Work"}) {
        ASSERT_TRUE(a_->SeedGenerated(a_->users()[u].email, folder, 10, so).ok());
      }
    }
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
  }

  // A token command (a script under DIR) that prints `first` on its first run and then
  // `later` on every run, exiting with `later_exit`.
  std::string TokenCommand(const std::string& name, const std::string& first,
                           const std::string& later, int later_exit) {
    const std::string script = dir_ + "/" + name + ".sh", runs = dir_ + "/" + name + ".runs";
    EXPECT_TRUE(
        WriteFile(script, absl::StrCat("echo run >> '", runs, "'\n", "if [ $(wc -l < '", runs,
                                       "') -eq 1 ]; then echo ", first, "; exit 0; fi\n", "echo ",
                                       later, "\nexit ", later_exit, "\n")));
    return "sh '" + script + "'";
  }

  std::string dir_;
  std::unique_ptr<IntrospectionServer> intro_;
  std::unique_ptr<DovecotServer> a_;
};

TEST_F(OAuth2E2ETest, RefusedTokenIsRefreshedAndAnUnrefreshableOneFailsOnlyItsAccount) {
  const std::vector<std::string> tokens = {"tokE-revoked-Nq4Hs7", "tokE-good-Bz6Lc1",
                                           "tokE-revoked-Ut2Wx5", "tokE-unused-Ko9Jd3",
                                           "tokE-good-Fy8Pm2"};
  intro_->Grant(tokens[1], a_->users()[0].email);
  intro_->Grant(tokens[4], a_->users()[2].email);
  nlohmann::json j;
  j["server"] = {
      {"host", a_->host()}, {"port", a_->imaps_port()}, {"ssl", true}, {"ca_file", a_->ca_file()}};
  j["accounts"] = nlohmann::json::array();
  // user1: refused, then a good token from the command. user2: refused, then the
  // command fails (after printing a token). user3: a token file (read once, accepted).
  j["accounts"].push_back({{"email", a_->users()[0].email},
                           {"auth", "xoauth2"},
                           {"oauth2_token_command", TokenCommand("t1", tokens[0], tokens[1], 0)},
                           {"oauth2_token_max_age", 600}});
  j["accounts"].push_back({{"email", a_->users()[1].email},
                           {"auth", "oauthbearer"},
                           {"oauth2_token_command", TokenCommand("t2", tokens[2], tokens[3], 3)}});
  ASSERT_TRUE(WriteFile(dir_ + "/t3.token", tokens[4] + "\n"));
  j["accounts"].push_back({{"email", a_->users()[2].email},
                           {"auth", "xoauth2"},
                           {"oauth2_token_file", dir_ + "/t3.token"}});
  ASSERT_TRUE(WriteFile(dir_ + "/export.json", j.dump(2)));

  const std::string out = dir_ + "/exported";
  Process p;
  int code = RunProcess(
      {Binary("coordinator"), "--workers", "2", "--log-dir", dir_ + "/logs", "--mode", "export",
       "--config", dir_ + "/export.json", "--output-dir", out, "--ignore-errors"},
      dir_, {{"TMPDIR", dir_}, {"MIGRATOR_LOG_LEVEL", "debug"}}, "export", absl::Seconds(120), &p);
  EXPECT_EQ(code, 1);

  // The accounts that could log in were exported in full.
  for (int u : {0, 2}) {
    size_t n = 0;
    for (const std::string& f : FilesUnder(out + "/" + a_->users()[u].email)) {
      n += absl::EndsWith(f, ".eml") ? 1 : 0;
    }
    EXPECT_EQ(n, 30u) << a_->users()[u].email;
  }
  // The failed one: named, final (one attempt), its cause the token command.
  std::vector<std::string> reports = Glob(dir_ + "/logs", ".report.json");
  ASSERT_EQ(reports.size(), 1u);
  nlohmann::json report = nlohmann::json::parse(ReadFile(reports[0]));
  ASSERT_EQ(report["accounts"].size(), 3u);
  for (const auto& a : report["accounts"]) {
    const std::string email = a["email"];
    if (email == a_->users()[1].email) {
      EXPECT_EQ(a["state"], "failed");
      EXPECT_EQ(a["attempts"], 1) << "a refused token that cannot be refreshed is final";
      const std::string error = a["last_error"];
      EXPECT_TRUE(absl::StrContains(error, email)) << error;
      EXPECT_TRUE(absl::StrContains(error, "oauth2_token_command: exited with status 3")) << error;
    } else {
      EXPECT_EQ(a["state"], "succeeded") << email << ": " << a["last_error"];
    }
  }
  const std::string summary = ReadFile(p.stdout_path) + ReadFile(p.stderr_path);
  EXPECT_TRUE(absl::StrContains(summary, a_->users()[1].email)) << summary;
  // Each command ran twice (refused, then refreshed); the token file was read once.
  EXPECT_EQ(ReadFile(dir_ + "/t1.runs"), "run\nrun\n");
  EXPECT_EQ(ReadFile(dir_ + "/t2.runs"), "run\nrun\n");
  EXPECT_EQ(intro_->refused(), 2);
  EXPECT_GE(intro_->accepted(tokens[1]), 1);
  EXPECT_GE(intro_->accepted(tokens[4]), 1);

  const std::string all = AllRunOutput(dir_);
  EXPECT_FALSE(all.empty());
  for (const std::string& t : tokens) EXPECT_FALSE(absl::StrContains(all, t)) << t;
  EXPECT_FALSE(absl::StrContains(all, "tokE-")) << "a token in the output";
}

}  // namespace
}  // namespace fleettest
