#include "coordinator/status/report.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
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

// The text built one account at a time is the tree's, byte for byte (and with no account).
TEST(ReportTest, JsonReportTextIsTheDumpOfTheTree) {
  EXPECT_EQ(JsonReportText(Sample(), Info(), 1),
            BuildJsonReport(Sample(), Info(), 1).dump(2) + "\n");
  JobSnapshot none = Sample();
  none.accounts.clear();
  EXPECT_EQ(JsonReportText(none, Info(), 0), BuildJsonReport(none, Info(), 0).dump(2) + "\n");
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

// test --sizes: every folder with its messages, bytes and folder on B; sums per account and
// in total, in the table and the JSON report.
TEST(ReportTest, SizesListEveryFolderWithItsTargetAndTotals) {
  JobSnapshot s;
  s.mode = engine::Mode::kTest;
  s.sizes = true;
  AccountView a;
  a.task.email = "a@example.com";
  a.task.state = TaskState::kSucceeded;
  engine::FolderResult inbox, work;
  inbox.name = "INBOX";
  inbox.source_messages = 30;
  inbox.source_bytes = 1'500'000;
  inbox.target = "INBOX";
  work.name = "Work/2024";
  work.source_messages = 4;
  work.source_bytes = 9'000;
  work.target = "Work.2024";
  work.create = true;
  a.folders = {inbox, work};
  s.accounts = {a, a};
  s.accounts[1].task.email = "b@example.com";
  const std::string details = FormatDetails(s);
  EXPECT_NE(details.find("ON SERVER B"), std::string::npos) << details;
  EXPECT_NE(details.find("Work.2024 (to create)"), std::string::npos) << details;
  EXPECT_NE(details.find("1.5 MB"), std::string::npos) << details;
  EXPECT_NE(details.find("(2 folders)"), std::string::npos) << details;
  RunInfo info = Info();
  info.mode = "test";
  info.sizes = true;
  const std::string table = FormatSummaryTable(s, info);
  EXPECT_NE(table.find("sizes on server A: 2 account(s), 4 folder(s), 68 message(s), 3.0 MB"),
            std::string::npos)
      << table;
  nlohmann::json j = BuildJsonReport(s, info, 0);
  EXPECT_EQ(j["sizes"], true);
  EXPECT_EQ(j["dry_run"], false);
  EXPECT_EQ(j["totals"]["source_messages"], 68);
  EXPECT_EQ(j["totals"]["source_bytes"], 3'018'000);
  EXPECT_EQ(j["totals"]["folders_total"], 4);
  EXPECT_EQ(j["accounts"][0]["source_bytes"], 1'509'000);
  EXPECT_EQ(j["accounts"][0]["folders"][1]["target"], "Work.2024");
  EXPECT_EQ(j["accounts"][0]["folders"][1]["create"], true);
  EXPECT_EQ(j["accounts"][0]["folders"][1]["source_bytes"], 9'000);
}

// A dry run: the folders with something to do, and the plan's totals; nothing "done".
TEST(ReportTest, DryRunShowsThePlanAndItsTotals) {
  JobSnapshot s;
  s.mode = engine::Mode::kImport;
  s.dry_run = true;
  AccountView a;
  a.task.email = "a@example.com";
  a.task.state = TaskState::kSucceeded;
  engine::FolderResult inbox, done, fresh;
  inbox.name = "INBOX";
  inbox.source_messages = 8;
  inbox.present = 4;
  inbox.to_move = 3;
  inbox.bytes_to_move = 7'000;
  inbox.refused = 1;
  inbox.target = "INBOX";
  done.name = "Old";
  done.source_messages = done.present = 2;
  fresh.name = "Work/2025";
  fresh.source_messages = fresh.to_move = 3;
  fresh.bytes_to_move = 5'000;
  fresh.create = true;
  fresh.target = "Work.2025";
  a.folders = {inbox, done, fresh};
  s.accounts = {a};
  const std::string details = FormatDetails(s);
  EXPECT_NE(details.find("TO MOVE"), std::string::npos) << details;
  EXPECT_NE(details.find("Work.2025 (to create)"), std::string::npos) << details;
  EXPECT_EQ(details.find("Old"), std::string::npos) << details;  // nothing to do there
  EXPECT_NE(details.find("1 to create"), std::string::npos) << details;
  RunInfo info = Info();
  info.mode = "import";
  info.dry_run = true;
  const std::string table = FormatSummaryTable(s, info);
  EXPECT_NE(table.find("dry run, nothing was written: 1 folder(s) to create, 6 message(s) to "
                       "move (12.0 kB), 6 already present, 1 refused by the target"),
            std::string::npos)
      << table;
  nlohmann::json j = BuildJsonReport(s, info, 0);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["totals"]["messages_to_move"], 6);
  EXPECT_EQ(j["totals"]["bytes_to_move"], 12'000);
  EXPECT_EQ(j["totals"]["messages_present"], 6);
  EXPECT_EQ(j["totals"]["folders_to_create"], 1);
  EXPECT_EQ(j["totals"]["messages_done"], 0);
  EXPECT_EQ(j["accounts"][0]["folders"][0]["to_move"], 3);
  EXPECT_EQ(j["accounts"][0]["folders"][0]["present"], 4);
  EXPECT_EQ(j["accounts"][0]["messages_to_move"], 6);
}

// Messages appended repaired (--fix-messages): counted per folder, account and in all, each
// named with what changed, and a line in the summary.
TEST(ReportTest, RepairedMessagesAreCountedAndNamed) {
  JobSnapshot s = Sample();
  engine::FolderResult& f = s.accounts[0].folders[0];
  f.repaired = 2;
  f.repaired_messages = {{77, 12, 4000, 4010, "10 bare newline(s) made CRLF"},
                         {77, 13, 500, 499, "1 NUL byte(s) removed"}};
  s.accounts[0].repaired = 2;
  RunInfo run = Info();
  run.fix_messages = true;
  nlohmann::json j = BuildJsonReport(s, run, 0);
  EXPECT_EQ(j["fix_messages"], true);
  EXPECT_EQ(j["totals"]["messages_repaired"], 2);
  const nlohmann::json& a = j["accounts"][0];
  EXPECT_EQ(a["messages_repaired"], 2);
  EXPECT_EQ(a["folders"][0]["repaired"], 2);
  ASSERT_EQ(a["repaired"].size(), 2u);
  EXPECT_EQ(a["repaired"][0]["folder"], "INBOX");
  EXPECT_EQ(a["repaired"][0]["source_uid"], 12);
  EXPECT_EQ(a["repaired"][0]["size"], 4000);
  EXPECT_EQ(a["repaired"][0]["repaired_size"], 4010);
  EXPECT_EQ(a["repaired"][0]["repairs"], "10 bare newline(s) made CRLF");
  EXPECT_EQ(j["accounts"][1]["messages_repaired"], 0);
  EXPECT_NE(FormatSummaryTable(s, run).find("repaired for the target: 2 message(s)"),
            std::string::npos);
  EXPECT_EQ(FormatSummaryTable(Sample(), run).find("repaired"), std::string::npos);
}

// One row per account under a header; commas, quotes and newlines quoted (RFC 4180).
TEST(ReportTest, CsvReportQuotesAndHasOneRowPerAccount) {
  JobSnapshot s = Sample();
  s.accounts[0].folders[0].source_messages = 7;
  s.accounts[0].folders[0].target_messages = 5;
  s.accounts[0].task.attempts = 2;
  s.accounts[0].refused = 1;
  s.accounts[0].repaired = 3;
  s.accounts[1].task.last_error = "UNAVAILABLE: said \"no\", then\nclosed";
  std::string csv = BuildCsvReport(s);
  EXPECT_EQ(csv,
            "email,state,folders,source_messages,target_messages,messages_done,bytes_done,"
            "messages_refused,messages_repaired,skipped,duration_s,attempts,last_error\r\n"
            "a@example.com,succeeded,1,7,5,100,2000000,1,3,0,10.0,2,\r\n"
            "b@example.com,failed,0,0,0,0,0,0,0,0,0.0,0,"
            "\"UNAVAILABLE: said \"\"no\"\", then\nclosed\"\r\n");
  std::string path = ::testing::TempDir() + "/report_test.csv";
  ASSERT_TRUE(WriteReportFile(csv, path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ReportTest, FailureCauses) {
  EXPECT_EQ(FailureCause("UNAUTHENTICATED: LOGIN failed"),
            "login refused (wrong password or token)");
  EXPECT_EQ(FailureCause("RESOURCE_EXHAUSTED: over quota"), "target full / quota");
  EXPECT_EQ(FailureCause("UNAVAILABLE: connection refused"), "server unreachable or throttled");
  EXPECT_EQ(FailureCause("DEADLINE_EXCEEDED: timeout"), "server unreachable or throttled");
  EXPECT_EQ(FailureCause("CANCELLED: stopped"), "cancelled (fail-fast or interrupted)");
  EXPECT_EQ(FailureCause("DATA_LOSS: bad file"), "DATA_LOSS");
  EXPECT_EQ(FailureCause(""), "unknown");
}

JobSnapshot Failures(int wrong_password, int quota) {
  JobSnapshot s;
  auto add = [&s](const std::string& email, TaskState state, const std::string& error) {
    AccountView a;
    a.task.email = email;
    a.task.state = state;
    a.task.last_error = error;
    s.accounts.push_back(a);
  };
  add("ok@x", TaskState::kSucceeded, "");
  for (int i = 0; i < quota; ++i) {
    add(absl::StrCat("q", i, "@x"), TaskState::kFailed, "RESOURCE_EXHAUSTED: over quota");
  }
  for (int i = 0; i < wrong_password; ++i) {
    add(absl::StrCat("p", i, "@x"), TaskState::kFailed, "UNAUTHENTICATED: LOGIN failed");
  }
  add("c@x", TaskState::kCancelled, "not started: fail-fast");
  return s;
}

TEST(ReportTest, FailuresAreGroupedByCauseBiggestFirst) {
  std::vector<FailureGroup> g = GroupFailures(Failures(3, 2));
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].cause, "login refused (wrong password or token)");
  EXPECT_EQ(g[0].emails, (std::vector<std::string>{"p0@x", "p1@x", "p2@x"}));
  EXPECT_EQ(g[1].cause, "target full / quota");
  EXPECT_EQ(g[1].emails, (std::vector<std::string>{"q0@x", "q1@x"}));
  EXPECT_EQ(g[2].cause, "cancelled (fail-fast or interrupted)");
  EXPECT_EQ(g[2].emails, (std::vector<std::string>{"c@x"}));
}

TEST(ReportTest, FailureSummaryNamesAccountsAndTheRetryCommand) {
  RunInfo run = Info();
  run.retry_args = {"coordinator", "--mode", "export", "--config", "my config.json"};
  std::string t = FormatFailureGroups(Failures(1, 2), run, "/logs/x.failed.txt");
  EXPECT_NE(t.find("  2 account(s): target full / quota: q0@x, q1@x\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  1 account(s): login refused (wrong password or token): p0@x\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("retry only these: coordinator --mode export --config 'my config.json' "
                   "--only q0@x,q1@x,p0@x,c@x\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(FormatFailureGroups(JobSnapshot{}, run, ""), "");  // nothing failed
}

TEST(ReportTest, ManyFailuresAreCutAndRetriedFromAFile) {
  RunInfo run = Info();
  run.retry_args = {"coordinator", "--mode", "import"};
  JobSnapshot s = Failures(12, 0);
  std::string t = FormatFailureGroups(s, run, "/logs/import-1.failed.txt");
  EXPECT_NE(t.find("12 account(s): login refused (wrong password or token): p0@x, p1@x, p2@x, "
                   "p3@x, p4@x, p5@x, p6@x, p7@x, p8@x, p9@x and 2 more\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("coordinator --mode import --accounts-file /logs/import-1.failed.txt\n"),
            std::string::npos)
      << t;
  std::string file = FailedAccountsFile(s);
  EXPECT_EQ(file.substr(0, 10), "p0@x\np1@x\n");
  EXPECT_NE(file.find("c@x\n"), std::string::npos);
  EXPECT_EQ(file.find("ok@x"), std::string::npos);
}

TEST(ReportTest, AccountsNotInThisRunAreNamed) {
  RunInfo run = Info();
  run.not_in_run = {"z@x"};
  EXPECT_NE(FormatSummaryTable(Sample(), run).find("not in this run: 1 account(s)"),
            std::string::npos);
  EXPECT_EQ(BuildJsonReport(Sample(), run, 0)["not_in_this_run"][0], "z@x");
}

}  // namespace
}  // namespace coordinator

namespace coordinator {
namespace {

// Refused messages and messages taken without some keywords: named in the JSON report
// (with the keywords), in the summary and in validate's details.
TEST(ReportTest, RefusedAndKeywordsDroppedAreNamed) {
  JobSnapshot s = Sample();
  s.mode = engine::Mode::kValidate;
  engine::FolderResult& f = s.accounts[0].folders[0];
  f.refused = 1;
  engine::RefusedMessage big;
  big.uid = 4;
  big.kind = "too big";
  big.reason = "NO [LIMIT] Mail size is larger than the maximum size allowed";
  f.refused_messages = {big};
  engine::RefusedMessage kept;
  kept.uid = 9;
  kept.kind = "keywords dropped";
  kept.reason = "NO Too many user flags in mailbox";
  kept.keywords = {"$Extra1", "$Extra2"};
  f.keywords_dropped = {kept};
  s.accounts[0].refused = 1;
  nlohmann::json j = BuildJsonReport(s, Info(), 0);
  const nlohmann::json& a = j["accounts"][0];
  EXPECT_EQ(a["messages_refused"], 1);
  ASSERT_EQ(a["refused"].size(), 1u);
  EXPECT_EQ(a["refused"][0]["source_uid"], 4);
  EXPECT_FALSE(a["refused"][0].contains("keywords"));
  EXPECT_EQ(a["messages_keywords_dropped"], 1);
  ASSERT_EQ(a["keywords_dropped"].size(), 1u);
  EXPECT_EQ(a["keywords_dropped"][0]["folder"], "INBOX");
  EXPECT_EQ(a["keywords_dropped"][0]["source_uid"], 9);
  EXPECT_EQ(a["keywords_dropped"][0]["keywords"], nlohmann::json({"$Extra1", "$Extra2"}));
  EXPECT_EQ(a["keywords_dropped"][0]["server_text"], "NO Too many user flags in mailbox");
  EXPECT_EQ(j["totals"]["messages_keywords_dropped"], 1);
  const std::string table = FormatSummaryTable(s, Info());
  EXPECT_NE(table.find("taken by the target without some keywords: 1 message(s)"),
            std::string::npos)
      << table;
  const std::string details = FormatDetails(s);
  EXPECT_NE(details.find("a@example.com  INBOX  uid 4"), std::string::npos) << details;
  EXPECT_NE(details.find("a@example.com  INBOX  uid 9  without $Extra1 $Extra2  (NO Too many"),
            std::string::npos)
      << details;
}

}  // namespace
}  // namespace coordinator
