// Failover through the real architecture (issue 4 "Done when"): `coordinator
// --workers 3` with real worker processes, 12 accounts on real Dovecots A and
// B, a real filesystem. A worker SIGKILLed mid-export; a worker SIGSTOPped past
// its lease and resumed (fenced: its stale results are rejected); the
// coordinator SIGKILLed mid-import and started again with the same command
// (resumed from its SQLite state). Each ends with exact counts: every message
// once, none missing. Synchronisation polls files, logs and IMAP counts with
// bounded deadlines.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
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
const absl::Duration kRun = absl::Seconds(240);
constexpr int kUsers = 12;
const char* const kFolders[] = {"INBOX", "Sent", "Work/2024"};

size_t EmlFiles(const std::string& dir) {
  size_t n = 0;
  for (const std::string& f : FilesUnder(dir)) n += absl::EndsWith(f, ".eml") ? 1 : 0;
  return n;
}

class FailoverE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    out_ = dir_ + "/exported";
    testing_fixtures::DovecotOptions o;
    o.users = kUsers;
    auto servers = testing_fixtures::DovecotPair::Start(o);
    ASSERT_TRUE(servers.ok()) << servers.status();
    a_ = std::move(servers->a);
    b_ = std::move(servers->b);
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
    }
    if (HasFailure()) {
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
    } else if (std::getenv("FLEET_TEST_KEEP") == nullptr) {
      std::system(("rm -rf '" + dir_ + "'").c_str());
    }
  }

  // User u gets base + u * step messages per folder (sizes differ, so some
  // accounts finish well before others).
  void Seed(int base, int step, size_t max_size) {
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    so.min_size = 2000;
    so.max_size = max_size;
    for (int u = 0; u < kUsers; ++u) {
      for (const char* folder : kFolders) {
        so.seed = u * 100 + std::string(folder).size();
        ASSERT_TRUE(a_->SeedGenerated(a_->users()[u].email, folder, base + u * step, so).ok());
      }
      expected_.push_back(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*a_, u)));
      ASSERT_EQ(expected_.back(), 3u * (base + u * step));
    }
  }

  std::string Config(const DovecotServer& s, const std::string& name) {
    const nlohmann::json j = testing_fixtures::ConfigJsonOf(s);
    const std::string path = dir_ + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string text = j.dump(2);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
  }

  std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        Binary("coordinator"), "--workers", "3", "--max-workers", "4", "--log-dir", dir_ + "/logs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  std::map<std::string, std::string> Env() { return {{"TMPDIR", dir_}}; }

  // Worker processes of this test (their socket lives under dir_).
  std::vector<int> Workers() { return ProcessesMentioning(dir_ + "/migrator-"); }

  // Every coordinator log of the given mode, concatenated.
  std::string Logs(const std::string& mode) {
    std::string all;
    for (const std::string& f : Glob(dir_ + "/logs", ".log")) {
      if (absl::StrContains(f, "/logs/" + mode + "-")) all += ReadFile(f);
    }
    return all;
  }

  nlohmann::json LastReport(const std::string& mode) {
    std::vector<std::string> reports = Glob(dir_ + "/logs", ".report.json");
    std::string last;
    for (const std::string& r : reports) {
      if (absl::StrContains(r, "/logs/" + mode + "-") && r > last) last = r;
    }
    return nlohmann::json::parse(ReadFile(last), nullptr, false);
  }

  void ExpectExactExport() {
    for (int u = 0; u < kUsers; ++u) {
      EXPECT_EQ(EmlFiles(out_ + "/" + a_->users()[u].email), expected_[u]) << a_->users()[u].email;
    }
  }

  // B holds exactly A's messages, folder by folder.
  void ExpectBEqualsA() {
    for (int u = 0; u < kUsers; ++u) {
      auto ca = testing_fixtures::FolderCounts(*a_, u), cb = testing_fixtures::FolderCounts(*b_, u);
      for (const auto& [name, n] : ca) EXPECT_EQ(cb[name], n) << "user " << u << " folder " << name;
    }
  }

  // Seeds A, starts an export (with `extra` flags), sends `sig` to one of the three workers
  // once a tenth of the mail is out, and waits for the coordinator: its exit code.
  int ExportHittingAWorker(int sig, const std::vector<std::string>& extra) {
    Seed(60, 10, 30000);
    const std::string exp = Config(*a_, "export.pass.config.json");
    uint64_t total = 0;
    for (uint64_t n : expected_) total += n;
    std::vector<std::string> args = {"--mode", "export", "--config", exp, "--output-dir", out_};
    args.insert(args.end(), extra.begin(), extra.end());
    Process c = Start(Argv(args), dir_, Env(), "export");
    bool mid = PollUntil([&] { return EmlFiles(out_) > total / 10; }, absl::Seconds(120));
    std::vector<int> workers = Workers();
    EXPECT_EQ(workers.size(), 3u);
    size_t at_signal = EmlFiles(out_);
    EXPECT_TRUE(!workers.empty() && ::kill(workers[0], sig) == 0);
    EXPECT_TRUE(mid);
    EXPECT_LT(at_signal, total) << "the export ended before the signal";
    int code = Wait(c, kRun);
    EXPECT_EQ(code, 0) << ReadFile(c.stderr_path);
    return code;
  }

  // Some account ran twice (its first attempt was lost) and every one succeeded.
  void ExpectRetriedAndAllSucceeded(const nlohmann::json& r) {
    int retried = 0;
    for (const auto& a : r["accounts"]) retried += a["attempts"] >= 2 ? 1 : 0;
    EXPECT_GE(retried, 1) << r.dump(2);
    EXPECT_EQ(r["totals"]["succeeded"], kUsers);
  }

  int Run(const std::vector<std::string>& args, const std::string& tag) {
    return RunProcess(Argv(args), dir_, Env(), tag, kRun);
  }

  std::string dir_, out_;
  std::unique_ptr<DovecotServer> a_, b_;
  std::vector<uint64_t> expected_;
};

TEST_F(FailoverE2ETest, WorkerKilledMidExportJobStillCompletesExactly) {
  ExportHittingAWorker(SIGKILL, {});
  ExpectExactExport();
  std::string log = Logs("export");
  EXPECT_TRUE(absl::StrContains(log, "killed by signal 9")) << log;
  nlohmann::json r = LastReport("export");
  ASSERT_TRUE(r.is_object());
  ExpectRetriedAndAllSucceeded(r);
}

// SIGTERM (what Kubernetes sends a pod it stops): the worker stops its accounts at a clean
// point, reports them cancelled so they are requeued at once, and exits 143; nothing
// partial is left and the job still ends exact.
TEST_F(FailoverE2ETest, WorkerTerminatedMidExportStopsCleanlyAndItsAccountsAreRequeued) {
  ExportHittingAWorker(SIGTERM, {"--lease-timeout", "120s"});
  ExpectExactExport();
  for (const std::string& f : FilesUnder(out_)) {
    EXPECT_FALSE(absl::StrContains(f, "/.tmp.")) << "left behind: " << f;
  }
  std::string log = Logs("export");
  EXPECT_TRUE(absl::StrContains(log, "stopping at a clean point")) << log;
  EXPECT_TRUE(absl::StrContains(log, "stopped on request: its accounts went back")) << log;
  EXPECT_TRUE(absl::StrContains(log, "exited with status 143")) << log;
  // Requeued by its cancelled result, not by a lease running out (120 s here).
  EXPECT_TRUE(absl::StrContains(log, "CANCELLED")) << log;
  nlohmann::json r = LastReport("export");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["fleet"]["leases_expired"], 0);
  ExpectRetriedAndAllSucceeded(r);
}

TEST_F(FailoverE2ETest, StoppedWorkerPastItsLeaseIsFencedAndNothingDoubles) {
  Seed(60, 10, 30000);
  const std::string exp = Config(*a_, "export.pass.config.json");
  uint64_t total = 0;
  for (uint64_t n : expected_) total += n;
  Process c = Start(
      Argv({"--mode", "export", "--config", exp, "--output-dir", out_, "--lease-timeout", "2s"}),
      dir_, Env(), "export");
  ASSERT_TRUE(PollUntil([&] { return EmlFiles(out_) > total / 10; }, absl::Seconds(120)));
  std::vector<int> workers = Workers();
  ASSERT_EQ(workers.size(), 3u);
  ASSERT_EQ(::kill(workers[0], SIGSTOP), 0);
  // Resume it only once one of its accounts runs elsewhere (attempt 2).
  bool expired = PollUntil(
      [&] {
        std::string log = Logs("export");
        return absl::StrContains(log, "lease expired") &&
               absl::StrContains(log, "(attempt 2, epoch");
      },
      absl::Seconds(120));
  ASSERT_EQ(::kill(workers[0], SIGCONT), 0);
  EXPECT_TRUE(expired);
  EXPECT_EQ(Wait(c, kRun), 0) << ReadFile(c.stderr_path);
  ExpectExactExport();
  std::string log = Logs("export");
  EXPECT_TRUE(absl::StrContains(log, "rejected a stale result")) << log;
  nlohmann::json r = LastReport("export");
  ASSERT_TRUE(r.is_object());
  EXPECT_GE(r["fleet"]["rejected_results"].get<int>(), 1) << r.dump(2);
  EXPECT_GE(r["fleet"]["leases_expired"].get<int>(), 1);
  // The fenced worker's late work duplicated nothing: import and validate.
  const std::string imp = Config(*b_, "import-b.json");
  EXPECT_EQ(Run({"--mode", "import", "--config", imp, "--input-dir", out_}, "import"), 0);
  EXPECT_EQ(Run({"--mode", "validate", "--config", imp, "--input-dir", out_}, "validate"), 0);
  ExpectBEqualsA();
}

TEST_F(FailoverE2ETest, CoordinatorKilledMidImportResumesWithSameCommand) {
  Seed(10, 50, 20000);
  const std::string exp = Config(*a_, "export.pass.config.json");
  ASSERT_EQ(Run({"--mode", "export", "--config", exp, "--output-dir", out_}, "export"), 0);
  ExpectExactExport();
  const std::string imp = Config(*b_, "import-b.json");
  const std::vector<std::string> import = {"--mode", "import",      "--config",
                                           imp,      "--input-dir", out_};
  Process c = Start(Argv(import), dir_, Env(), "import1");
  // Kill the coordinator once a few accounts are done, but not the largest.
  auto oks = [&] {
    std::string log = Logs("import");
    size_t n = 0;
    for (size_t p = log.find(": succeeded ("); p != std::string::npos;
         p = log.find(": succeeded (", p + 1))
      ++n;
    return n;
  };
  bool mid = PollUntil([&] { return oks() >= 3; }, absl::Seconds(120));
  ASSERT_EQ(::kill(c.pid, SIGKILL), 0);
  EXPECT_EQ(Wait(c, kRun), 128 + SIGKILL);
  ASSERT_TRUE(mid);
  size_t done_before = oks();
  EXPECT_LT(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, kUsers - 1)),
            expected_[kUsers - 1])
      << "the import ended before the kill";
  // The same command again: resumes from the state beside the logs.
  Process again;
  EXPECT_EQ(RunProcess(Argv(import), dir_, Env(), "import2", kRun, &again), 0)
      << ReadFile(again.stderr_path);
  nlohmann::json r = LastReport("import");  // import1 was killed: no report
  ASSERT_TRUE(r.is_object());
  std::string log = ReadFile(r["log"].get<std::string>());
  EXPECT_TRUE(absl::StrContains(log, "resuming")) << log;
  EXPECT_EQ(r["exit_code"], 0);
  EXPECT_GE(r["totals"]["succeeded_in_earlier_run"].get<size_t>(), done_before) << r.dump(2);
  for (const auto& a : r["accounts"]) {
    if (a["last_error"].get<std::string>().find("earlier run") == std::string::npos) continue;
    EXPECT_FALSE(absl::StrContains(log, "account " + a["email"].get<std::string>() + ": started"))
        << "redone: " << a["email"];
  }
  // Once more after the job finished: a new (idempotent) pass, exit 0, says so.
  Process third;
  EXPECT_EQ(RunProcess(Argv(import), dir_, Env(), "import3", kRun, &third), 0);
  // (an INFO line: in the run log; stderr has the console's lines)
  std::string third_log = ReadFile(LastReport("import")["log"].get<std::string>());
  EXPECT_TRUE(absl::StrContains(third_log, "starting a new pass")) << third_log;
  // Another job on the same state is refused (exit 2) unless --fresh.
  std::vector<std::string> other = import;
  other[1] = "validate";
  other.insert(other.end(), {"--state", dir_ + "/logs/import.state.sqlite"});
  Process refused;
  EXPECT_EQ(RunProcess(Argv(other), dir_, Env(), "refused", kRun, &refused), 2);
  EXPECT_TRUE(absl::StrContains(ReadFile(refused.stderr_path), "another job"))
      << ReadFile(refused.stderr_path);
  EXPECT_EQ(Run({"--mode", "validate", "--config", imp, "--input-dir", out_}, "validate"), 0);
  ExpectBEqualsA();
}

}  // namespace
}  // namespace fleettest
