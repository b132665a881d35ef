// The whole job through the real architecture: `coordinator --workers N`
// spawning real `worker` processes over gRPC, the real engine, real Dovecot A
// and B, a real filesystem. Covers the seed's modes end to end, idempotency
// across a SIGKILLed worker, fail-fast vs
// --ignore-errors, secrets never written anywhere, and --min-free-gb.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
const absl::Duration kRun = absl::Seconds(120);

class MigrationE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    testing_fixtures::DovecotOptions o;
    for (int u = 1; u <= 3; ++u) {  // unique passwords, so a leak is found by a search
      o.user_list.push_back(
          {absl::StrCat("user", u, "@example.com"), absl::StrCat("Sx-", u, "-q9Ze7")});
    }
    auto servers = testing_fixtures::DovecotPair::Start(o);
    ASSERT_TRUE(servers.ok()) << servers.status();
    a_ = std::move(servers->a);
    b_ = std::move(servers->b);
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
  }

  void Seed(int per_folder, size_t max_size = 8000) {
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    so.max_size = max_size;
    for (int u = 0; u < 3; ++u) {
      const std::string& email = a_->users()[u].email;
      for (const char* folder : {"INBOX", "Sent", "Work/2024", "R\xC3\xA9sum\xC3\xA9"}) {
        so.seed = u * 10 + std::string(folder).size();
        ASSERT_TRUE(a_->SeedGenerated(email, folder, per_folder, so).ok());
      }
    }
  }

  // Writes a config for `server` (password of user `bad_user` replaced when >=
  // 0).
  std::string Config(const DovecotServer& s, const std::string& name, int bad_user = -1) {
    nlohmann::json j;
    j["server"] = {
        {"host", s.host()}, {"port", s.imaps_port()}, {"ssl", true}, {"ca_file", s.ca_file()}};
    j["accounts"] = nlohmann::json::array();
    for (int u = 0; u < 3; ++u) {
      j["accounts"].push_back({{"email", s.users()[u].email},
                               {"password", u == bad_user ? kBadPassword : s.users()[u].password}});
    }
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFile(path, j.dump(2))) << path;
    return path;
  }

  int Coordinator(const std::vector<std::string>& args, const std::string& tag,
                  Process* p = nullptr) {
    std::vector<std::string> argv = {Binary("coordinator"), "--workers", "2", "--log-dir",
                                     dir_ + "/logs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, dir_, {{"TMPDIR", dir_}}, tag, kRun, p);
  }

  // Runs `mode` on the job's data dir (--output-dir for export, else --input-dir).
  int Mode(const std::string& mode, const std::string& config, const std::string& tag) {
    const std::string flag = mode == "export" ? "--output-dir" : "--input-dir";
    return Coordinator({"--mode", mode, "--config", config, flag, dir_ + "/exported"}, tag);
  }

  // Every folder of every account holds on B exactly as many messages as on A.
  void ExpectBMatchesA() {
    for (int u = 0; u < 3; ++u) {
      auto ca = testing_fixtures::FolderCounts(*a_, u), cb = testing_fixtures::FolderCounts(*b_, u);
      for (const auto& [name, n] : ca) EXPECT_EQ(cb[name], n) << "user " << u << " " << name;
    }
  }

  static constexpr char kBadPassword[] = "Wr0ng-Pa55-x7";
  std::string dir_;
  std::unique_ptr<DovecotServer> a_, b_;
};

TEST_F(MigrationE2ETest, TestExportImportValidateThenIdempotentReruns) {
  Seed(25);
  const std::string exp = Config(*a_, "export.pass.config.json");
  const std::string out = dir_ + "/exported";
  EXPECT_EQ(Coordinator({"--mode", "test", "--config", exp}, "test"), 0);
  EXPECT_EQ(Mode("export", exp, "export"), 0);
  // The import template was written beside the export config, private.
  EXPECT_EQ(FileMode(dir_ + "/import.pass.config.json") & 0777, 0600);
  const std::string imp = Config(*b_, "import-b.json");
  EXPECT_EQ(Mode("import", imp, "import"), 0);
  EXPECT_EQ(Mode("validate", imp, "validate"), 0);
  for (int u = 0; u < 3; ++u)
    EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*a_, u)), 100u);
  ExpectBMatchesA();
  // Re-runs write and append nothing.
  EXPECT_EQ(Mode("import", imp, "import2"), 0);
  EXPECT_EQ(Mode("export", exp, "export2"), 0);
  size_t emls = 0;
  for (const std::string& f : FilesUnder(out)) emls += absl::EndsWith(f, ".eml") ? 1 : 0;
  EXPECT_EQ(emls, 300u);
  for (int u = 0; u < 3; ++u)
    EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, u)), 100u);
}

TEST_F(MigrationE2ETest, KilledWorkerDuringImportLeavesNoDuplicate) {
  Seed(400, 40000);
  const std::string exp = Config(*a_, "export.pass.config.json");
  const std::string out = dir_ + "/exported";
  ASSERT_EQ(Coordinator({"--mode", "export", "--config", exp, "--output-dir", out}, "export"), 0);
  const std::string imp = Config(*b_, "import-b.json");
  Process p = Start({Binary("coordinator"), "--workers", "2", "--log-dir", dir_ + "/logs", "--mode",
                     "import", "--config", imp, "--input-dir", out},
                    dir_, {{"TMPDIR", dir_}}, "import-killed");
  // Kill every worker as soon as B holds some, but not all, of the mail.
  bool mid = PollUntil(
      [&] {
        return testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)) +
                   testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 1)) >
               0;
      },
      absl::Seconds(60));
  // Only this test's workers: their socket lives in our TMPDIR (tests run in parallel).
  std::vector<int> workers = ProcessesMentioning(dir_ + "/migrator-");
  for (int pid : workers) ::kill(pid, SIGKILL);
  int code = Wait(p, kRun);
  EXPECT_TRUE(mid);
  EXPECT_FALSE(workers.empty());
  EXPECT_NE(code, -1) << "coordinator hung after its workers died";
  // Run the job again: it completes, and B holds each message exactly once.
  EXPECT_EQ(Mode("import", imp, "import2"), 0);
  EXPECT_EQ(Mode("validate", imp, "validate"), 0);
  ExpectBMatchesA();
}

TEST_F(MigrationE2ETest, WrongPasswordFailsFastOrIsSkippedAndNeverWritten) {
  Seed(5);
  const std::string bad = Config(*a_, "export.pass.config.json", /*bad_user=*/1);
  const std::string out = dir_ + "/exported";
  EXPECT_EQ(Coordinator({"--mode", "export", "--config", bad, "--output-dir", out}, "ff"), 1);
  EXPECT_EQ(
      Coordinator({"--mode", "export", "--config", bad, "--output-dir", out, "--ignore-errors"},
                  "ignore"),
      1);
  std::string ignore_out = ReadFile(dir_ + "/ignore.stdout") + ReadFile(dir_ + "/ignore.stderr");
  EXPECT_TRUE(absl::StrContains(ignore_out, a_->users()[1].email)) << ignore_out;
  // With --ignore-errors the other accounts were exported in full.
  for (int u : {0, 2}) {
    size_t n = 0;
    for (const std::string& f : FilesUnder(out + "/" + a_->users()[u].email)) {
      n += absl::EndsWith(f, ".eml") ? 1 : 0;
    }
    EXPECT_EQ(n, 20u) << a_->users()[u].email;
  }
  const std::string all = AllRunOutput(dir_);
  EXPECT_FALSE(all.empty());
  EXPECT_FALSE(absl::StrContains(all, kBadPassword));
  for (const auto& u : a_->users()) EXPECT_FALSE(absl::StrContains(all, u.password));
}

TEST_F(MigrationE2ETest, MinFreeGbAboveFreeSpaceRefusesExport) {
  Seed(2);
  const std::string exp = Config(*a_, "export.pass.config.json");
  const std::string out = dir_ + "/exported";
  Process p;
  int code = Coordinator(
      {"--mode", "export", "--config", exp, "--output-dir", out, "--min-free-gb", "1000000"},
      "nofree", &p);
  EXPECT_EQ(code, 3);
  std::string text = ReadFile(p.stdout_path) + ReadFile(p.stderr_path);
  EXPECT_TRUE(absl::StrContains(text, "min-free-gb")) << text;
  size_t emls = 0;
  for (const std::string& f : FilesUnder(dir_)) emls += absl::EndsWith(f, ".eml") ? 1 : 0;
  EXPECT_EQ(emls, 0u);
}

}  // namespace
}  // namespace fleettest
