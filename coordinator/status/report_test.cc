#include "coordinator/status/report.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace coordinator {
namespace {

JobSnapshot Sample() {
  JobSnapshot s;
  s.job_id = "export-20260101-000000";
  AccountView ok;
  ok.task.email = "a@example.com";
  ok.task.state = TaskState::kSucceeded;
  ok.messages = 100;
  ok.bytes = 2'000'000;
  ok.elapsed = absl::Seconds(10);
  ok.throttled_ms = 1500;
  ok.throttles = 2;
  ok.reconnects = 3;
  engine::FolderResult f;
  f.name = "INBOX";
  f.transferred = 100;
  ok.folders.push_back(f);
  AccountView bad;
  bad.task.email = "b@example.com";
  bad.task.state = TaskState::kFailed;
  bad.task.last_error = "UNAVAILABLE: connection refused";
  s.accounts = {ok, bad};
  return s;
}

RunInfo Info() {
  RunInfo r;
  r.mode = "export";
  r.started = absl::FromUnixSeconds(1000);
  r.finished = absl::FromUnixSeconds(1010);
  return r;
}

TEST(ReportTest, TableNamesEveryAccountAndTotals) {
  std::string t = FormatSummaryTable(Sample(), Info());
  EXPECT_NE(t.find("a@example.com"), std::string::npos);
  EXPECT_NE(t.find("b@example.com"), std::string::npos);
  EXPECT_NE(t.find("connection refused"), std::string::npos);
  EXPECT_NE(t.find("total: 2 account(s): 1 succeeded, 1 failed"), std::string::npos);
  EXPECT_NE(t.find("10.0 msg/s"), std::string::npos);
  EXPECT_NE(t.find("0.20 MB/s"), std::string::npos);
}

TEST(ReportTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1'500'000), "1.5 MB");
}

TEST(ReportTest, JsonReportIsWrittenPrivately) {
  nlohmann::json j = BuildJsonReport(Sample(), Info(), 1);
  EXPECT_EQ(j["totals"]["succeeded"], 1);
  EXPECT_EQ(j["accounts"][1]["state"], "failed");
  EXPECT_EQ(j["accounts"][0]["folders"][0]["name"], "INBOX");
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/report_test.json";
  ASSERT_TRUE(WriteJsonReport(j, path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  nlohmann::json back = nlohmann::json::parse(in);
  EXPECT_EQ(back["exit_code"], 1);
}

// The report speaks the status API's words (README "The JSON report").
TEST(ReportTest, JsonReportUsesTheStatusApiVocabulary) {
  nlohmann::json j = BuildJsonReport(Sample(), Info(), 1);
  EXPECT_EQ(j["elapsed_ms"], 10000);
  EXPECT_EQ(j["started_at"], "1970-01-01T00:16:40Z");
  EXPECT_EQ(j["finished_at"], "1970-01-01T00:16:50Z");
  EXPECT_EQ(j["stopping"], false);
  EXPECT_EQ(j["totals"]["failed"], 1);
  EXPECT_EQ(j["totals"]["succeeded_in_earlier_run"], 0);
  EXPECT_EQ(j["totals"]["messages_done"], 100);
  EXPECT_EQ(j["totals"]["bytes_done"], 2'000'000);
  EXPECT_DOUBLE_EQ(j["totals"]["bytes_per_second"].get<double>(), 200'000);
  const nlohmann::json& ok = j["accounts"][0];
  EXPECT_EQ(ok["state"], "succeeded");
  EXPECT_EQ(ok["elapsed_ms"], 10000);
  EXPECT_EQ(ok["messages_done"], 100);
  EXPECT_EQ(ok["bytes_done"], 2'000'000);
  EXPECT_DOUBLE_EQ(ok["messages_per_second"].get<double>(), 10);
  EXPECT_DOUBLE_EQ(ok["bytes_per_second"].get<double>(), 200'000);
  EXPECT_EQ(ok["folders"][0]["messages"], 100);
  EXPECT_EQ(ok["throttled_ms"], 1500);
  EXPECT_EQ(ok["throttles"], 2);
  EXPECT_EQ(ok["reconnects"], 3);
  EXPECT_EQ(j["totals"]["throttled_ms"], 1500);
  EXPECT_EQ(j["totals"]["throttles"], 2);
  EXPECT_EQ(j["totals"]["reconnects"], 3);
  const nlohmann::json& bad = j["accounts"][1];
  EXPECT_EQ(bad["throttles"], 0);
  EXPECT_EQ(bad["last_error"], "UNAVAILABLE: connection refused");
  EXPECT_TRUE(bad.contains("worker_id"));
  for (const char* old : {"reason", "worker", "elapsed_s", "messages_per_s", "mb_per_s"}) {
    EXPECT_FALSE(bad.contains(old)) << old;
  }
  for (const char* old : {"ok", "ok_in_earlier_run", "messages", "bytes"}) {
    EXPECT_FALSE(j["totals"].contains(old)) << old;
  }
}

}  // namespace
}  // namespace coordinator
