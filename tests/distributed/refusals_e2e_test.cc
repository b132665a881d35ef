// Refused messages through the real coordinator and workers: a Dovecot B with
// quota_max_mail_size refuses oversize and zero-byte messages; import and validate end ok
// (exit 0) and name them in the JSON report as refused; --strict fails the account.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
const absl::Duration kRun = absl::Seconds(120);

class RefusalsE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto a = DovecotServer::Start({});
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    testing_fixtures::DovecotOptions ob;
    ob.max_mail_size = 20000;
    auto b = DovecotServer::Start(ob);
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
  }

  std::string Config(const DovecotServer& s, const std::string& name) {
    nlohmann::json j;
    j["server"] = {
        {"host", s.host()}, {"port", s.imaps_port()}, {"ssl", true}, {"ca_file", s.ca_file()}};
    j["accounts"] = nlohmann::json::array();
    for (int u = 0; u < 2; ++u) {
      j["accounts"].push_back({{"email", s.users()[u].email}, {"password", s.users()[u].password}});
    }
    const std::string path = dir_ + "/" + name;
    const std::string text = j.dump(2);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0) << path;
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
  }

  int Mode(const std::string& mode, const std::string& config, const std::string& tag,
           std::vector<std::string> extra = {}) {
    const std::string flag = mode == "export" ? "--output-dir" : "--input-dir";
    std::vector<std::string> argv = {Binary("coordinator"),
                                     "--workers",
                                     "2",
                                     "--log-dir",
                                     dir_ + "/logs",
                                     "--mode",
                                     mode,
                                     "--config",
                                     config,
                                     flag,
                                     dir_ + "/exported"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, dir_, {{"TMPDIR", dir_}}, tag, kRun);
  }

  nlohmann::json Report(const std::string& mode) {
    const std::string newest = NewestReport(dir_ + "/logs", mode);
    if (newest.empty()) {
      ADD_FAILURE() << "no " << mode << " report";
      return nlohmann::json::object();
    }
    return nlohmann::json::parse(ReadFile(newest));
  }

  std::string dir_;
  std::unique_ptr<DovecotServer> a_, b_;
};

TEST_F(RefusalsE2ETest, RefusedMessagesAreReportedAndTheAccountSucceeds) {
  const std::string email = a_->users()[0].email;
  for (int i = 0; i < 20; ++i) {
    const size_t size = i == 3 ? 30000 : i == 9 ? 45000 : 800 + i * 97;
    const std::string body = i == 14 ? "" : testing_fixtures::GenerateMessage(i + 1, size);
    ASSERT_TRUE(a_->SeedMessage(email, "INBOX", body, {"\\Seen"},
                                absl::FromUnixSeconds(1700000000 + i * 60))
                    .ok());
  }
  testing_fixtures::SeedOptions so;
  so.seed = 5;
  ASSERT_TRUE(a_->SeedGenerated(a_->users()[1].email, "INBOX", 10, so).ok());
  ASSERT_EQ(Mode("export", Config(*a_, "export.json"), "export"), 0);
  const std::string imp = Config(*b_, "import.json");

  ASSERT_EQ(Mode("import", imp, "import"), 0);
  nlohmann::json report = Report("import");
  EXPECT_EQ(report["totals"]["messages_refused"], 3);
  EXPECT_EQ(report["totals"]["succeeded"], 2);
  const nlohmann::json& acc = report["accounts"][0];
  EXPECT_EQ(acc["state"], "succeeded");
  EXPECT_EQ(acc["messages_done"], 17);
  EXPECT_EQ(acc["messages_refused"], 3);
  std::set<uint64_t> uids;
  for (const auto& r : acc["refused"]) {
    EXPECT_EQ(r["email"], email);
    EXPECT_EQ(r["folder"], "INBOX");
    EXPECT_FALSE(r["internaldate"].get<std::string>().empty());
    EXPECT_FALSE(r["server_text"].get<std::string>().empty());
    uids.insert(r["source_uid"].get<uint64_t>());
  }
  EXPECT_EQ(uids, (std::set<uint64_t>{4, 10, 15}));
  std::cerr << "import report, account 0: " << acc.dump(2) << "\n";
  EXPECT_NE(ReadFile(report["log"].get<std::string>()).find("refused by the target"),
            std::string::npos);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)), 17u);

  // Validate: refused, not missing; exit 0.
  ASSERT_EQ(Mode("validate", imp, "validate"), 0);
  nlohmann::json val = Report("validate");
  EXPECT_EQ(val["accounts"][0]["messages_refused"], 3);
  for (const auto& f : val["accounts"][0]["folders"]) EXPECT_EQ(f["missing"], 0) << f.dump();
  EXPECT_NE(ReadFile(dir_ + "/validate.stdout").find("refused by the target"), std::string::npos)
      << ReadFile(dir_ + "/validate.stdout");

  // A re-run appends nothing; --strict fails the account (exit 1).
  ASSERT_EQ(Mode("import", imp, "import2", {"--fresh"}), 0);
  EXPECT_EQ(testing_fixtures::TotalCount(testing_fixtures::FolderCounts(*b_, 0)), 17u);
  EXPECT_EQ(Mode("import", imp, "strict", {"--fresh", "--strict", "--ignore-errors"}), 1);
  nlohmann::json strict = Report("import");
  EXPECT_EQ(strict["strict"], true);
  EXPECT_EQ(strict["accounts"][0]["state"], "failed");
  EXPECT_EQ(strict["accounts"][1]["state"], "succeeded");
}

}  // namespace
}  // namespace fleettest
