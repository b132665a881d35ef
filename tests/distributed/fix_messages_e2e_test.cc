// --fix-messages through the real coordinator and workers: Dovecot B behind the fault proxy
// refuses APPENDs with bare newlines or NUL bytes as Cyrus does. Without the flag the
// messages are reported refused; with it the flag reaches the workers, the messages land
// repaired and the run log, the summary and the JSON and CSV reports count and name them;
// validate is ok and a later import appends nothing.
#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_seed.h"
#include "tests/fixtures/fault_proxy.h"
#include "tests/fixtures/imap_check.h"

namespace fleettest {
namespace {

using namespace std::string_literals;  // NUL bytes inside literals
using testing_fixtures::DovecotServer;
const absl::Duration kRun = absl::Seconds(120);

class FixMessagesE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto pair = testing_fixtures::DovecotPair::Start();
    ASSERT_TRUE(pair.ok()) << pair.status();
    a_ = std::move(pair->a);
    b_ = std::move(pair->b);
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
  }

  // A config of both users of `s`, reached at `port` (plain IMAP).
  std::string Config(const DovecotServer& s, int port, const std::string& name) {
    nlohmann::json j;
    j["server"] = {{"host", s.host()}, {"port", port}, {"ssl", false}};
    j["accounts"] = nlohmann::json::array();
    for (int u = 0; u < 2; ++u) {
      j["accounts"].push_back({{"email", s.users()[u].email}, {"password", s.users()[u].password}});
    }
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFile(path, j.dump(2)));
    return path;
  }

  int Mode(const std::string& mode, const std::string& config, const std::string& tag,
           std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {Binary("coordinator"),
                                     "--workers",
                                     "2",
                                     "--log-dir",
                                     dir_ + "/logs",
                                     "--mode",
                                     mode,
                                     "--config",
                                     config,
                                     mode == "export" ? "--output-dir" : "--input-dir",
                                     dir_ + "/exported"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, dir_, {{"TMPDIR", dir_}}, tag, kRun);
  }

  // The JSON report of the run whose stdout is <tag>.stdout (it names the report's path).
  nlohmann::json Report(const std::string& tag) {
    const std::string out = ReadFile(dir_ + "/" + tag + ".stdout");
    for (const std::string& r : Glob(dir_ + "/logs", ".report.json")) {
      if (absl::StrContains(out, r)) return nlohmann::json::parse(ReadFile(r));
    }
    ADD_FAILURE() << "no report named in " << tag << ".stdout: " << out;
    return nlohmann::json::object();
  }

  std::string dir_;
  std::unique_ptr<DovecotServer> a_, b_;
};

TEST_F(FixMessagesE2ETest, TheFlagReachesTheWorkersAndTheReportsNameWhatWasRepaired) {
  const std::string email = a_->users()[0].email;
  testing_fixtures::SeedOptions so;
  for (int u = 0; u < 2; ++u) {
    so.seed = u + 1;
    ASSERT_TRUE(a_->SeedGenerated(a_->users()[u].email, "INBOX", 6, so).ok());
  }
  ASSERT_EQ(Mode("export", Config(*a_, a_->imap_port(), "export.json"), "export"), 0);
  auto store = storage::OpenStore(dir_ + "/exported");
  ASSERT_TRUE(store.ok()) << store.status();
  const std::vector<testing_fixtures::ExportedMessage> crafted = {
      {1001,
       "From: a@x\nSubject: bare\nMessage-ID: <e2e-bare@fix>\n\nbody\n",
       "<e2e-bare@fix>",
       "01-Mar-2024 09:00:00 +0000",
       {"\\Seen"}},
      {1002, "From: a@x\nSubject: no id\n\nbody\n", "", "02-Mar-2024 09:00:00 +0000", {}},
      {1003,
       "From: a@x\r\nMessage-ID: <e2e-nul@fix>\r\n\r\nNUL \0!\r\n"s,
       "<e2e-nul@fix>",
       "03-Mar-2024 09:00:00 +0000",
       {}},
  };
  for (const auto& m : crafted) {
    ASSERT_TRUE(testing_fixtures::AddToExport(**store, email, "INBOX", m).ok());
  }
  testing_fixtures::FaultProxyOptions po;
  po.target = absl::StrCat(b_->host(), ":", b_->imap_port());
  po.append_refusals.nul = "NO Message contains NUL characters";
  po.append_refusals.bare_newline = "NO Message contains bare newlines";
  auto proxy = testing_fixtures::FaultProxy::Start(po);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const std::string imp = Config(*b_, (*proxy)->port(), "import.json");

  ASSERT_EQ(Mode("import", imp, "import"), 0);
  nlohmann::json plain = Report("import");
  EXPECT_EQ(plain["fix_messages"], false);
  EXPECT_EQ(plain["totals"]["messages_refused"], 3);
  EXPECT_EQ(plain["totals"]["messages_repaired"], 0);

  ASSERT_EQ(Mode("import", imp, "fixed", {"--fix-messages"}), 0);
  nlohmann::json fixed = Report("fixed");
  EXPECT_EQ(fixed["fix_messages"], true);
  EXPECT_EQ(fixed["totals"]["messages_repaired"], 3);
  EXPECT_EQ(fixed["totals"]["messages_refused"], 0);
  const nlohmann::json& acc = fixed["accounts"][0];
  EXPECT_EQ(acc["email"], email);
  EXPECT_EQ(acc["messages_done"], 3);
  EXPECT_EQ(acc["messages_repaired"], 3);
  ASSERT_EQ(acc["repaired"].size(), 3u);
  for (const auto& r : acc["repaired"]) {
    EXPECT_EQ(r["folder"], "INBOX");
    EXPECT_GE(r["source_uid"].get<int>(), 1001);
    EXPECT_FALSE(r["repairs"].get<std::string>().empty());
  }
  EXPECT_EQ(fixed["accounts"][1]["messages_repaired"], 0);
  // The CSV report beside it: the account's messages_repaired column.
  const std::string log_path = fixed["log"].get<std::string>();
  const std::string csv =
      ReadFile(absl::StrCat(absl::StripSuffix(log_path, ".log"), ".report.csv"));
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n");
  ASSERT_GE(lines.size(), 3u) << csv;
  std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  const size_t column =
      std::find(header.begin(), header.end(), "messages_repaired") - header.begin();
  ASSERT_LT(column, header.size()) << lines[0];
  bool found = false;
  for (const std::string& line : lines) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() <= column || fields[0] != email) continue;
    EXPECT_EQ(fields[column], "3") << line;
    found = true;
  }
  EXPECT_TRUE(found) << csv;
  const std::string log = ReadFile(log_path);
  EXPECT_TRUE(absl::StrContains(log, "folder INBOX: message uid 1003 (")) << log;
  EXPECT_TRUE(absl::StrContains(log, "appended repaired")) << log;
  EXPECT_TRUE(absl::StrContains(log, "1 NUL byte(s) removed")) << log;
  EXPECT_TRUE(
      absl::StrContains(ReadFile(dir_ + "/fixed.stdout"), "repaired for the target: 3 message(s)"));

  ASSERT_EQ(Mode("validate", imp, "validate"), 0);
  EXPECT_EQ(Report("validate")["totals"]["messages_refused"], 0);
  ASSERT_EQ(Mode("import", imp, "again", {"--fix-messages"}), 0);
  EXPECT_EQ(Report("again")["totals"]["messages_done"], 0);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)), 9u);
}

}  // namespace
}  // namespace fleettest
