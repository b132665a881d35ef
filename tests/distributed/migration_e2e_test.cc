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

// The path printed after `label` ("report: ", "csv: ") in a run's stdout.
std::string PrintedPath(const std::string& out, const std::string& label) {
  size_t at = out.find("\n" + label);
  if (at == std::string::npos) return "";
  at += 1 + label.size();
  return out.substr(at, out.find('\n', at) - at);
}

size_t Emls(const std::string& dir) {
  size_t n = 0;
  for (const std::string& f : FilesUnder(dir)) n += absl::EndsWith(f, ".eml") ? 1 : 0;
  return n;
}

// --only runs a subset of the durable job and keeps the others' state; the full run
// resumes (the subset is not redone) and its summary groups the failure by cause with the
// command retrying only it; that retry, with the password fixed, finishes the job.
TEST_F(MigrationE2ETest, OnlyRunsASubsetAndTheRetryCommandFinishesTheFailed) {
  Seed(3);
  const std::string cfg = Config(*a_, "export.pass.config.json", /*bad_user=*/1);
  const std::string out = dir_ + "/exported";
  const std::vector<std::string> base = {"--mode", "export", "--config", cfg, "--output-dir", out};
  auto with = [&base](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };
  const std::string u1 = a_->users()[0].email, u2 = a_->users()[1].email, u3 = a_->users()[2].email;

  Process unknown;
  EXPECT_EQ(Coordinator(with({"--only", "nobody@example.com"}), "unknown", &unknown), 2);
  EXPECT_TRUE(absl::StrContains(ReadFile(unknown.stderr_path), "nobody@example.com"));

  Process subset;
  ASSERT_EQ(Coordinator(with({"--only", u1}), "subset", &subset), 0);
  std::string text = ReadFile(subset.stdout_path);
  EXPECT_TRUE(absl::StrContains(text, "not in this run: 2 account(s)")) << text;
  EXPECT_EQ(Emls(out + "/" + u1), 12u);
  EXPECT_EQ(Emls(out + "/" + u2) + Emls(out + "/" + u3), 0u);
  nlohmann::json report = nlohmann::json::parse(ReadFile(PrintedPath(text, "report: ")));
  EXPECT_EQ(report["totals"]["accounts"], 1);
  EXPECT_EQ(report["not_in_this_run"], (nlohmann::json{u2, u3}));

  Process full;
  ASSERT_EQ(Coordinator(with({"--ignore-errors"}), "full", &full), 1);
  text = ReadFile(full.stdout_path);
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat("1 account(s): login refused (wrong password or token): ", u2, "\n")))
      << text;
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat(" --only ", u2, "\n"))) << text;
  EXPECT_FALSE(absl::StrContains(text, "not in this run")) << text;
  report = nlohmann::json::parse(ReadFile(PrintedPath(text, "report: ")));
  EXPECT_EQ(report["totals"]["succeeded_in_earlier_run"], 1);  // u1: resumed, not redone
  EXPECT_EQ(report["totals"]["failed"], 1);
  const std::string csv_path = PrintedPath(text, "csv: ");
  EXPECT_EQ(csv_path.substr(0, csv_path.size() - 4),
            PrintedPath(text, "report: ").substr(0, csv_path.size() - 4));
  const std::string csv = ReadFile(csv_path);
  EXPECT_TRUE(absl::StartsWith(csv, "email,state,folders,")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, absl::StrCat(u3, ",succeeded,"))) << csv;
  EXPECT_TRUE(absl::StrContains(csv, ",12,12,12,")) << csv;  // u3: source, target, done
  EXPECT_TRUE(absl::StrContains(csv, absl::StrCat(u2, ",failed,"))) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "UNAUTHENTICATED")) << csv;
  EXPECT_EQ(Emls(out + "/" + u3), 12u);

  Config(*a_, "export.pass.config.json");  // the password fixed: the same job
  Process retry;
  ASSERT_EQ(Coordinator(with({"--only", u2}), "retry", &retry), 0);
  text = ReadFile(retry.stdout_path);
  report = nlohmann::json::parse(ReadFile(PrintedPath(text, "report: ")));
  EXPECT_EQ(report["totals"]["succeeded"], 1);
  for (const std::string& u : {u1, u2, u3}) EXPECT_EQ(Emls(out + "/" + u), 12u) << u;
  EXPECT_TRUE(absl::StrContains(ReadFile(PrintedPath(text, "log: ")), "resuming"));
}

}  // namespace
}  // namespace fleettest
