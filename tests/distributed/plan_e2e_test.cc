// Sizes and dry runs through the real coordinator and worker processes, real Dovecot A and
// B, a real filesystem: `--mode test --sizes --import-config` reports every folder's
// messages and bytes as seeded, with the folder on B and totals (JSON report and table);
// `--dry-run` export, import and validate report the plan and write nothing: no output
// directory, no job state, no import template, server B unchanged byte for byte.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/tree_snapshot.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::TreeSnapshot;

constexpr char kResume[] = "R\xC3\xA9sum\xC3\xA9";  // "Résumé"
const absl::Duration kRun = absl::Seconds(120);

class PlanE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto servers = testing_fixtures::DovecotPair::Start({});  // 2 users each
    ASSERT_TRUE(servers.ok()) << servers.status();
    a_ = std::move(servers->a);
    b_ = std::move(servers->b);
    out_ = dir_ + "/exported";
  }

  // Seeds messages of these sizes into a folder of user `u` on A; returns their bytes.
  uint64_t Seed(int u, const std::string& folder, const std::vector<size_t>& sizes) {
    uint64_t bytes = 0;
    for (size_t size : sizes) {
      const uint64_t salt = ++seeded_;
      EXPECT_TRUE(a_->SeedMessage(a_->users()[u].email, folder,
                                  testing_fixtures::GenerateMessage(salt, size), {},
                                  absl::FromUnixSeconds(1700000000 + salt * 60))
                      .ok());
      bytes += size;
    }
    return bytes;
  }

  std::string Config(const DovecotServer& s, const std::string& name) {
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFile(path, testing_fixtures::ConfigJsonOf(s).dump(2))) << path;
    return path;
  }

  // Runs the coordinator with its own log dir (dir_/<tag>) and returns the exit code;
  // *report gets its JSON report.
  int Coordinator(const std::string& tag, const std::vector<std::string>& args,
                  nlohmann::json* report = nullptr) {
    std::vector<std::string> argv = {Binary("coordinator"), "--workers", "1",
                                     "--max-workers",       "2",         "--log-dir",
                                     dir_ + "/" + tag};
    argv.insert(argv.end(), args.begin(), args.end());
    const int code = RunProcess(argv, dir_, {{"TMPDIR", dir_}}, tag, kRun);
    std::vector<std::string> reports = Glob(dir_ + "/" + tag, ".report.json");
    EXPECT_EQ(reports.size(), 1u) << tag;
    if (report != nullptr && reports.size() == 1) {
      *report = nlohmann::json::parse(ReadFile(reports[0]));
    }
    return code;
  }
  std::string Stdout(const std::string& tag) { return ReadFile(dir_ + "/" + tag + ".stdout"); }

  std::string dir_, out_;
  std::unique_ptr<DovecotServer> a_, b_;
  uint64_t seeded_ = 0;
};

// account email → folder name → the folder's object in the report.
std::map<std::string, std::map<std::string, nlohmann::json>> Folders(const nlohmann::json& r) {
  std::map<std::string, std::map<std::string, nlohmann::json>> out;
  for (const auto& a : r["accounts"]) {
    for (const auto& f : a["folders"]) out[a["email"]][f["name"]] = f;
  }
  return out;
}

TEST_F(PlanE2ETest, SizesListEveryFolderAsSeededWithItsFolderOnServerBAndTotals) {
  const uint64_t inbox0 = Seed(0, "INBOX", {700, 1900, 2500});
  const uint64_t resume0 = Seed(0, kResume, {1200, 800});
  const uint64_t inbox1 = Seed(1, "INBOX", {3000});
  const uint64_t work1 = Seed(1, "Work/2024", {900, 1100});
  const std::string exp = Config(*a_, "export.json"), imp = Config(*b_, "import.json");
  nlohmann::json report;
  ASSERT_EQ(
      Coordinator("sizes", {"--mode", "test", "--sizes", "--config", exp, "--import-config", imp},
                  &report),
      0)
      << Stdout("sizes");
  const std::string u0 = a_->users()[0].email, u1 = a_->users()[1].email;
  auto f = Folders(report);
  EXPECT_EQ(f[u0]["INBOX"]["source_messages"], 3);
  EXPECT_EQ(f[u0]["INBOX"]["source_bytes"], inbox0);
  EXPECT_EQ(f[u0]["INBOX"]["target"], "INBOX");
  EXPECT_EQ(f[u0][kResume]["source_messages"], 2);
  EXPECT_EQ(f[u0][kResume]["source_bytes"], resume0);
  EXPECT_EQ(f[u0][kResume]["target"], kResume);
  EXPECT_EQ(f[u0][kResume]["create"], true);  // B lacks it: import creates it
  EXPECT_EQ(f[u1]["Work/2024"]["source_bytes"], work1);
  EXPECT_EQ(f[u1]["Sent"]["source_messages"], 0);
  EXPECT_EQ(f[u1]["Sent"]["create"], false);
  EXPECT_EQ(report["sizes"], true);
  EXPECT_EQ(report["totals"]["source_messages"], 8);
  EXPECT_EQ(report["totals"]["source_bytes"], inbox0 + resume0 + inbox1 + work1);
  EXPECT_EQ(report["accounts"][1]["source_bytes"], inbox1 + work1);
  const std::string text = Stdout("sizes");
  EXPECT_TRUE(absl::StrContains(text, "ON SERVER B")) << text;
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat(kResume, " (to create)"))) << text;
  EXPECT_TRUE(absl::StrContains(text, "sizes on server A: 2 account(s)")) << text;
  // Misused flags are usage errors.
  EXPECT_EQ(RunProcess({Binary("coordinator"), "--mode", "import", "--sizes", "--config", imp},
                       dir_, {}, "bad-sizes", kRun),
            2);
  EXPECT_EQ(RunProcess({Binary("coordinator"), "--mode", "test", "--dry-run", "--config", exp},
                       dir_, {}, "bad-dry", kRun),
            2);
}

TEST_F(PlanE2ETest, DryRunsReportThePlanAndWriteNothing) {
  const uint64_t first = Seed(0, "INBOX", {900, 1500, 2200, 700}) + Seed(1, kResume, {800, 1300});
  const std::string exp = Config(*a_, "export.pass.config.json");
  const std::string imp = Config(*b_, "import.json");
  // Export: nothing exists yet, and nothing will: no directory, state or import template.
  nlohmann::json report;
  ASSERT_EQ(Coordinator("dry-export",
                        {"--mode", "export", "--dry-run", "--config", exp, "--output-dir", out_},
                        &report),
            0)
      << Stdout("dry-export");
  EXPECT_EQ(report["dry_run"], true);
  EXPECT_EQ(report["totals"]["messages_to_move"], 6);
  EXPECT_EQ(report["totals"]["bytes_to_move"], first);
  EXPECT_EQ(report["totals"]["messages_done"], 0);
  EXPECT_FALSE(TreeSnapshot(out_).has_value());
  EXPECT_TRUE(Glob(dir_ + "/dry-export", ".sqlite").empty());
  EXPECT_EQ(FileMode(dir_ + "/import.pass.config.json"), -1);
  EXPECT_TRUE(absl::StrContains(Stdout("dry-export"), "dry run, nothing was written"));

  // Half migrated; the other half arrives on A and is exported.
  ASSERT_EQ(Coordinator("export", {"--mode", "export", "--config", exp, "--output-dir", out_}), 0);
  ASSERT_EQ(Coordinator("import", {"--mode", "import", "--config", imp, "--input-dir", out_}), 0);
  const uint64_t half = Seed(0, "INBOX", {1000, 1800}) + Seed(1, "Work/2025", {1200, 3300, 600});
  ASSERT_EQ(Coordinator("export2", {"--mode", "export", "--config", exp, "--output-dir", out_}), 0);
  const auto tree = TreeSnapshot(out_);
  const auto b0 = testing_fixtures::MailboxSnapshot(*b_, 0);
  const auto b1 = testing_fixtures::MailboxSnapshot(*b_, 1);

  ASSERT_EQ(
      Coordinator("dry-import",
                  {"--mode", "import", "--dry-run", "--config", imp, "--input-dir", out_}, &report),
      0)
      << Stdout("dry-import");
  EXPECT_EQ(report["totals"]["messages_to_move"], 5);
  EXPECT_EQ(report["totals"]["bytes_to_move"], half);
  EXPECT_EQ(report["totals"]["messages_present"], 6);
  EXPECT_EQ(report["totals"]["folders_to_create"], 1);
  auto f = Folders(report);
  EXPECT_EQ(f[b_->users()[1].email]["Work/2025"]["create"], true);
  EXPECT_EQ(f[b_->users()[0].email]["INBOX"]["to_move"], 2);
  EXPECT_TRUE(Glob(dir_ + "/dry-import", ".sqlite").empty());
  EXPECT_TRUE(absl::StrContains(Stdout("dry-import"), "Work/2025")) << Stdout("dry-import");

  ASSERT_EQ(Coordinator("dry-validate",
                        {"--mode", "validate", "--dry-run", "--resync-missing", "--config", imp,
                         "--input-dir", out_},
                        &report),
            0)
      << Stdout("dry-validate");
  EXPECT_EQ(report["totals"]["messages_to_move"], 5);
  EXPECT_EQ(report["totals"]["bytes_to_move"], half);

  // Nothing was written: the export tree and server B, byte for byte.
  EXPECT_EQ(TreeSnapshot(out_), tree);
  EXPECT_EQ(testing_fixtures::MailboxSnapshot(*b_, 0), b0);
  EXPECT_EQ(testing_fixtures::MailboxSnapshot(*b_, 1), b1);
}

}  // namespace
}  // namespace fleettest
