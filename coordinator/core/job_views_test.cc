// Job's read side at scale: paged account listings (every account exactly once, stable
// while accounts change state) and the summary snapshot's totals (the same as those of
// the full snapshot).
#include <set>

#include "coordinator/core/job.h"
#include "coordinator/core/job_testing.h"
#include "gtest/gtest.h"

namespace coordinator {
namespace {

engine::AccountResult Failed() {
  engine::AccountResult r;
  r.status = absl::PermissionDeniedError("wrong password");
  return r;
}

// Runs the first `n` accounts to the end on w1: every third fails, the others succeed.
void RunSome(Job& job, FakeLink& link, int n) {
  for (int i = 0; i < n; ++i) job.RequestTask("w1");
  for (int i = 0; i < n; ++i) {
    const TaskOrder& o = link.tasks[i];
    engine::AccountResult r = o.task.account.index % 3 == 0 ? Failed() : engine::AccountResult();
    r.messages = 2;
    r.bytes = 100;
    job.Result("w1", o.task_id, o.epoch, r, absl::ZeroDuration());
  }
}

TEST(JobPagesTest, EveryAccountOnceAcrossPagesWhileStatesChange) {
  Job job(Opts(23, /*fail_fast=*/false, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 30, ""}, &link).ok());
  std::multiset<int> seen;
  size_t start = 0, pages = 0;
  do {
    AccountPage page = job.ListAccounts(std::nullopt, start, 5);
    EXPECT_EQ(page.matching, 23u);
    EXPECT_LE(page.accounts.size(), 5u);
    for (const AccountView& a : page.accounts) seen.insert(a.task.account_index);
    if (pages == 1) RunSome(job, link, 12);  // accounts change state between two pages
    start = page.next;
    ++pages;
  } while (start != 0 && pages < 100);
  EXPECT_EQ(pages, 5u);  // 5 + 5 + 5 + 5 + 3, and then no token
  EXPECT_EQ(seen.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(seen.count(i), 1u) << "account " << i;
}

TEST(JobPagesTest, StateFilterPagesOnlyMatchingAccountsAndEndsAtTheLastOne) {
  Job job(Opts(30, /*fail_fast=*/false, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 30, ""}, &link).ok());
  RunSome(job, link, 20);  // failed: 0, 3, ..., 18 (7 accounts)
  std::vector<int> failed;
  size_t start = 0;
  int calls = 0;
  do {
    AccountPage page = job.ListAccounts(TaskState::kFailed, start, 2);
    EXPECT_EQ(page.matching, 7u);
    for (const AccountView& a : page.accounts) {
      EXPECT_EQ(a.task.state, TaskState::kFailed);
      failed.push_back(a.task.account_index);
    }
    start = page.next;
  } while (start != 0 && ++calls < 100);
  EXPECT_EQ(failed, (std::vector<int>{0, 3, 6, 9, 12, 15, 18}));
  EXPECT_EQ(calls, 3);  // 2 + 2 + 2 + 1: the last page says it is the last
  // A start past every match: an empty last page.
  AccountPage tail = job.ListAccounts(TaskState::kFailed, 19, 2);
  EXPECT_TRUE(tail.accounts.empty());
  EXPECT_EQ(tail.next, 0u);
}

TEST(JobPagesTest, SummarySnapshotHasTheFullSnapshotsTotalsAndNoAccounts) {
  Job job(Opts(10, /*fail_fast=*/false, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 30, ""}, &link).ok());
  RunSome(job, link, 6);
  job.RequestTask("w1");  // one running
  JobSnapshot summary = job.Snapshot(SnapshotDetail::kSummary);
  JobSnapshot full = job.Snapshot();
  EXPECT_TRUE(summary.accounts.empty());
  JobSnapshot by_hand = full;
  by_hand.totals.reset();  // counted from the accounts
  for (const JobSnapshot* s : {&summary, &full, &by_hand}) {
    const JobTotals t = s->Totals();
    EXPECT_EQ(t.accounts, 10u);
    EXPECT_EQ(s->Count(TaskState::kFailed), 2u);
    EXPECT_EQ(s->Count(TaskState::kSucceeded), 4u);
    EXPECT_EQ(s->Count(TaskState::kRunning), 1u);
    EXPECT_EQ(s->Count(TaskState::kPending), 3u);
    EXPECT_EQ(t.messages, 12u);
    EXPECT_EQ(t.bytes, 600u);
    EXPECT_FALSE(t.totals_known);
  }
  ASSERT_EQ(summary.workers.size(), 1u);
  EXPECT_EQ(summary.workers[0].running, 1u);
}

// The summary's totals are kept as accounts change: a fail-fast stop that cancels the
// pending accounts (without touching each) is counted too.
TEST(JobPagesTest, SummaryTotalsFollowAFailFastStop) {
  Job job(Opts(6, /*fail_fast=*/true, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2, ""}, &link).ok());
  job.RequestTask("w1");
  job.RequestTask("w1");
  engine::AccountResult ok;
  ok.messages = 3;
  job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, ok, absl::ZeroDuration());
  EXPECT_EQ(job.Snapshot(SnapshotDetail::kSummary).Totals().messages, 3u);
  job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, Failed(), absl::ZeroDuration());
  JobSnapshot summary = job.Snapshot(SnapshotDetail::kSummary);
  JobSnapshot by_hand = job.Snapshot();
  by_hand.totals.reset();
  EXPECT_EQ(summary.Count(TaskState::kCancelled), 4u);
  EXPECT_EQ(by_hand.Count(TaskState::kCancelled), 4u);
  EXPECT_EQ(summary.Totals().messages_total, by_hand.Totals().messages_total);
  EXPECT_EQ(summary.Totals().messages_total, 3u);
  EXPECT_TRUE(summary.Totals().totals_known);
  EXPECT_TRUE(by_hand.Totals().totals_known);
}

}  // namespace
}  // namespace coordinator
