// The console's lines (plain, pure) and the console itself writing to a file: widths,
// heights, the summary line, each finished account once, no escape code in plain mode.
#include "coordinator/frontends/tty/console_render.h"

#include <stdio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "coordinator/core/job_testing.h"
#include "coordinator/frontends/tty/console.h"
#include "gtest/gtest.h"

namespace coordinator {
namespace {

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80 ? 1 : 0;
  return n;
}

AccountView Account(int i, TaskState state) {
  AccountView a;
  a.task.task_id = static_cast<uint64_t>(i) + 1;
  a.task.account_index = i;
  a.task.email = "user" + std::to_string(i) + "@example.com";
  a.task.state = state;
  a.task.attempts = 1;
  return a;
}

JobSnapshot Snapshot(int running) {
  JobSnapshot s;
  s.mode = engine::Mode::kExport;
  s.accounts.push_back(Account(0, TaskState::kSucceeded));
  s.accounts.back().messages = 100;
  AccountView failed = Account(1, TaskState::kFailed);
  failed.task.last_error = "login refused\nsecond line";
  s.accounts.push_back(failed);
  for (int i = 0; i < running; ++i) {
    AccountView a = Account(2 + i, TaskState::kRunning);
    a.progress.folder = "INBOX/Archiv\xc3\xa9";  // "Archivé"
    a.progress.folders_done = 2;
    a.progress.folders_total = 5;
    a.progress.messages_total = 400;
    a.messages = 50;
    a.elapsed = absl::Seconds(10);
    s.accounts.push_back(a);
  }
  s.accounts.push_back(Account(2 + running, TaskState::kPending));
  return s;
}

AggregateStatus Aggregated() {
  AggregateStatus a;
  a.messages_done = 150;
  a.messages_total = 500;
  a.bytes_done = 1500000;
  a.bytes_total = 5000000;
  a.totals_known = false;
  a.rates.messages_per_second = 12.5;
  a.rates.bytes_per_second = 125000;
  a.elapsed = absl::Seconds(65);
  a.eta = absl::Seconds(100);
  return a;
}

TEST(ConsoleRenderTest, FitWidthCountsCodePoints) {
  EXPECT_EQ(FitWidth("short", 10), "short");
  EXPECT_EQ(FitWidth("0123456789abc", 10), "0123456...");
  std::string accented = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // four "é"
  EXPECT_EQ(FitWidth(accented, 4), accented);
  EXPECT_EQ(CodePoints(FitWidth(accented + accented, 5)), 5u);
  EXPECT_EQ(FitWidth("abc", 0), "");
}

TEST(ConsoleRenderTest, SummaryLineSaysWhereTheJobIs) {
  std::string line = SummaryLine(Snapshot(2), Aggregated());
  EXPECT_EQ(line,
            "export 1m05s | accounts 2/5 done, 2 running, 1 failed | messages 150/500+ | "
            "1.5 MB/5.0 MB+ | 12 msg/s, 125.0 kB/s | ETA 1m40s")
      << line;
  AggregateStatus known = Aggregated();
  known.totals_known = true;
  known.eta = absl::ZeroDuration();
  line = SummaryLine(Snapshot(2), known);
  EXPECT_TRUE(absl::StrContains(line, "messages 150/500 |")) << line;
  EXPECT_TRUE(absl::StrContains(line, "ETA ?")) << line;
}

TEST(ConsoleRenderTest, AccountLines) {
  JobSnapshot s = Snapshot(1);
  EXPECT_EQ(RunningLine(s.accounts[2]),
            "  user2@example.com  INBOX/Archiv\xc3\xa9  folders 2/5  messages 50/400  5.0 msg/s");
  EXPECT_EQ(FinishedLine(s.accounts[0]), "ok      user0@example.com: 100 messages, 0 B in 0s");
  EXPECT_EQ(FinishedLine(s.accounts[1]), "FAILED  user1@example.com: login refused (attempt 1)");
}

TEST(ConsoleRenderTest, LiveDisplayFitsTheTerminal) {
  JobSnapshot s = Snapshot(10);
  for (TermSize size : {TermSize{80, 24}, TermSize{40, 6}, TermSize{20, 3}, TermSize{10, 2}}) {
    std::vector<std::string> lines = RenderLive(s, Aggregated(), size);
    ASSERT_FALSE(lines.empty());
    EXPECT_LE(lines.size(), static_cast<size_t>(size.rows - 1)) << size.cols << "x" << size.rows;
    for (const std::string& l : lines) {
      EXPECT_LE(CodePoints(l), static_cast<size_t>(size.cols - 1)) << l;
      EXPECT_EQ(l.find('\x1b'), std::string::npos) << l;
    }
    EXPECT_TRUE(absl::StartsWith(lines[0], "export")) << lines[0];
  }
  std::vector<std::string> all = RenderLive(s, Aggregated(), TermSize{200, 50});
  EXPECT_EQ(all.size(), 11u);  // the summary and all ten running accounts
  std::vector<std::string> cut = RenderLive(s, Aggregated(), TermSize{200, 6});
  ASSERT_EQ(cut.size(), 5u);
  EXPECT_EQ(cut[4], "  ... and 7 more running");
  EXPECT_TRUE(RenderLive(s, Aggregated(), TermSize{80, 1}).empty());
}

// ---------------------------------------------------------------- the console

// The Job's options of the core's tests, on the real clock (the console shows elapsed time).
JobOptions Opts(int accounts) {
  JobOptions o = coordinator::Opts(accounts, /*fail_fast=*/false, /*local=*/0);
  o.clock = nullptr;
  o.mode = engine::Mode::kExport;
  return o;
}

std::string ReadAll(FILE* f) {
  std::string out;
  char buf[4096];
  rewind(f);
  for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  return out;
}

// What the console wrote to `fd` so far (pread: the console's own offset is left alone).
std::string Written(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Runs a job of two accounts (one succeeds, one fails) under a console writing to a file.
std::string RunUnderConsole(ConsoleOptions options) {
  FILE* f = tmpfile();
  options.fd = fileno(f);
  options.progress_interval = absl::Milliseconds(1);
  options.redraw_interval = absl::Milliseconds(5);
  Job job(Opts(2));
  StatusTracker tracker(&job, absl::Seconds(30), absl::Milliseconds(10));
  {
    Console console(&job, &tracker, options);
    FakeLink link;
    EXPECT_TRUE(job.Connect({"w1", "h", 1, 2, ""}, &link).ok());
    job.RequestTask("w1");
    job.RequestTask("w1");
    EXPECT_EQ(link.tasks.size(), 2u);
    engine::Progress p;
    p.folder = "INBOX";
    p.folders_total = 1;
    p.messages_done = 3;
    p.messages_total = 3;
    job.Progress("w1", link.tasks[0].task_id, link.tasks[0].epoch, p);
    // Until the console showed the running account (live) or a progress line (plain).
    const std::string shown = options.live ? "  u0@x  INBOX" : "progress: export ";
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!absl::StrContains(Written(options.fd), shown) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));  // polling interval
    }
    engine::AccountResult ok;
    ok.messages = 3;
    job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, ok, absl::Seconds(1));
    engine::AccountResult bad;
    bad.status = absl::UnauthenticatedError("login refused");
    job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, bad, absl::Seconds(1));
    job.Disconnect("w1", &link);
    console.Finish();
  }
  std::string out = ReadAll(f);
  fclose(f);
  return out;
}

TEST(ConsoleTest, PlainModePrintsLinesWithoutEscapes) {
  ConsoleOptions options;
  options.live = false;
  std::string out = RunUnderConsole(options);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  int ok = 0, failed = 0, progress = 0, final = 0;
  for (const std::string& l : lines) {
    ok += absl::StartsWith(l, "ok      u0@x: 3 messages") ? 1 : 0;
    failed += absl::StartsWith(l, "FAILED  u1@x: ") && absl::StrContains(l, "login refused");
    progress += absl::StartsWith(l, "progress: export ") ? 1 : 0;
    final += absl::StartsWith(l, "final: export ") ? 1 : 0;
  }
  EXPECT_EQ(ok, 1) << out;
  EXPECT_EQ(failed, 1) << out;
  EXPECT_GE(progress, 1) << out;
  EXPECT_EQ(final, 1) << out;
  EXPECT_TRUE(absl::StrContains(lines.back(), "accounts 2/2 done, 0 running, 1 failed")) << out;
}

TEST(ConsoleTest, LiveModeRedrawsInPlaceAndEndsWithTheSummary) {
  ConsoleOptions options;
  options.live = true;
  options.color = false;
  std::string out = RunUnderConsole(options);
  EXPECT_TRUE(absl::StrContains(out, "\x1b[J")) << out;  // erased and redrawn
  EXPECT_TRUE(absl::StrContains(out, "  u0@x  INBOX  folders 0/1  messages 3/3")) << out;
  for (const char* sgr : {"\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[0m"}) {
    EXPECT_EQ(out.find(sgr), std::string::npos) << "no colour asked for";
  }
  // The end: the display erased, then the finished accounts and the summary stay.
  size_t last_erase = out.rfind("\x1b[J");
  std::string tail = out.substr(last_erase + 3);
  EXPECT_TRUE(absl::StrContains(tail, "accounts 2/2 done")) << tail;
  EXPECT_EQ(tail.find('\x1b'), std::string::npos) << tail;
  size_t oks = 0;
  for (size_t at = 0; (at = out.find("ok      u0@x", at)) != std::string::npos; ++at) ++oks;
  EXPECT_EQ(oks, 1u) << out;
}

}  // namespace
}  // namespace coordinator
