// Scheduler: pull order, fencing, leases, retries with backoff, largest first,
// fail-fast. Time is a plain variable: no clock, no sleeps.
#include "coordinator/core/scheduler.h"

#include "gtest/gtest.h"

namespace coordinator {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

SchedulerOptions Options(bool fail_fast, uint32_t max_attempts = 3) {
  SchedulerOptions o;
  o.fail_fast = fail_fast;
  o.max_attempts = max_attempts;
  o.lease = absl::Seconds(30);
  o.backoff_initial = absl::Seconds(1);
  o.backoff_max = absl::Seconds(4);
  return o;
}

Scheduler Make(size_t n, bool fail_fast, uint32_t max_attempts = 3) {
  std::vector<std::string> emails;
  for (size_t i = 0; i < n; ++i) emails.push_back("u" + std::to_string(i) + "@x");
  return Scheduler(emails, Options(fail_fast, max_attempts));
}

TEST(SchedulerTest, HandsOutInOrderAndFinishes) {
  Scheduler s = Make(2, true);
  auto a = s.Next("w1", kT0);
  auto b = s.Next("w2", kT0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->task_id, 1u);
  EXPECT_EQ(b->task_id, 2u);
  EXPECT_NE(a->epoch, b->epoch);
  EXPECT_FALSE(s.Next("w1", kT0));
  EXPECT_FALSE(s.finished());
  std::vector<CancelOrder> c;
  EXPECT_EQ(s.Complete(a->task_id, a->epoch, absl::OkStatus(), kT0, &c),
            Scheduler::Outcome::kSucceeded);
  s.Complete(b->task_id, b->epoch, absl::OkStatus(), kT0, &c);
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(s.tasks()[0].state, TaskState::kSucceeded);
}

TEST(SchedulerTest, StaleResultsAreIgnored) {
  Scheduler s = Make(1, true);
  auto a = s.Next("w1", kT0);
  std::vector<CancelOrder> c;
  EXPECT_EQ(s.Complete(a->task_id, a->epoch + 1, absl::OkStatus(), kT0, &c),
            Scheduler::Outcome::kStale);
  EXPECT_EQ(s.Complete(99, 1, absl::OkStatus(), kT0, &c), Scheduler::Outcome::kStale);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kRunning);
}

TEST(SchedulerTest, FailFastCancelsRunningAndPending) {
  Scheduler s = Make(3, true);
  auto a = s.Next("w1", kT0);
  auto b = s.Next("w2", kT0);
  std::vector<CancelOrder> c;
  s.Complete(a->task_id, a->epoch, absl::UnauthenticatedError("bad login"), kT0, &c);
  EXPECT_TRUE(s.stopping());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].worker_id, "w2");
  EXPECT_EQ(c[0].task_id, b->task_id);
  EXPECT_EQ(s.tasks()[2].state, TaskState::kCancelled);
  EXPECT_NE(s.tasks()[2].last_error.find("not started"), std::string::npos);
  EXPECT_FALSE(s.Next("w1", kT0));
  s.Complete(b->task_id, b->epoch, absl::CancelledError("stop"), kT0, &c);
  EXPECT_EQ(s.tasks()[1].state, TaskState::kCancelled);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kFailed);
  EXPECT_NE(s.tasks()[0].last_error.find("bad login"), std::string::npos);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, NonRetriableFailuresFailAtOnce) {
  for (absl::Status st : {absl::UnauthenticatedError("x"), absl::InvalidArgumentError("x"),
                          absl::PermissionDeniedError("x"), absl::ResourceExhaustedError("x")}) {
    Scheduler s = Make(1, false);
    auto a = s.Next("w1", kT0);
    std::vector<CancelOrder> c;
    EXPECT_EQ(s.Complete(a->task_id, a->epoch, st, kT0, &c), Scheduler::Outcome::kFailed) << st;
    EXPECT_EQ(s.tasks()[0].attempts, 1u);
    EXPECT_TRUE(s.finished());
  }
}

TEST(SchedulerTest, RetriableFailuresRetryWithCappedBackoffThenFail) {
  Scheduler s = Make(1, true, /*max_attempts=*/4);
  std::vector<CancelOrder> c;
  absl::Time now = kT0;
  absl::Duration expected[] = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(4)};
  for (absl::Duration wait : expected) {
    auto a = s.Next("w1", now);
    ASSERT_TRUE(a);
    EXPECT_EQ(s.Complete(a->task_id, a->epoch, absl::UnavailableError("server gone"), now, &c),
              Scheduler::Outcome::kRetry);
    EXPECT_FALSE(s.stopping());  // fail-fast waits for the last attempt
    EXPECT_FALSE(s.Next("w1", now + wait - absl::Milliseconds(1)));
    EXPECT_FALSE(s.HasReady(now + wait - absl::Milliseconds(1)));
    EXPECT_EQ(s.NextDeadline(), now + wait);
    now += wait;
  }
  EXPECT_EQ(Backoff(Options(true), 10), absl::Seconds(4));  // capped
  auto last = s.Next("w1", now);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->attempt, 4u);
  EXPECT_EQ(s.Complete(last->task_id, last->epoch, absl::DeadlineExceededError("timeout"), now, &c),
            Scheduler::Outcome::kFailed);
  EXPECT_TRUE(s.stopping());
  EXPECT_NE(s.tasks()[0].last_error.find("attempt 4 of 4"), std::string::npos);
}

TEST(SchedulerTest, LeaseExpiresUnlessRenewed) {
  Scheduler s = Make(2, true);
  auto a = s.Next("w1", kT0);
  auto b = s.Next("w2", kT0);
  std::vector<CancelOrder> c;
  // w1 renews at t+20s; w2 is silent.
  EXPECT_TRUE(s.Renew(a->task_id, a->epoch, "w1", kT0 + absl::Seconds(20)));
  EXPECT_FALSE(s.Renew(a->task_id, a->epoch, "w2", kT0));  // not its task
  EXPECT_FALSE(s.Renew(a->task_id, a->epoch + 7, "w1", kT0));
  EXPECT_TRUE(s.ExpireLeases(kT0 + absl::Seconds(29), &c).empty());
  auto lost = s.ExpireLeases(kT0 + absl::Seconds(30), &c);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], b->task_id);
  EXPECT_FALSE(s.stopping());  // requeued, not failed
  EXPECT_EQ(s.tasks()[1].state, TaskState::kPending);
  EXPECT_NE(s.tasks()[1].last_error.find("lease expired"), std::string::npos);
  ASSERT_EQ(c.size(), 1u);  // the old holder is told to stop
  EXPECT_EQ(c[0].worker_id, "w2");
  EXPECT_EQ(c[0].epoch, b->epoch);
  // Requeued with attempt+1 and a new epoch after the backoff; the old epoch
  // is fenced off.
  auto b2 = s.Next("w1", kT0 + absl::Seconds(31));
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->task_id, b->task_id);
  EXPECT_EQ(b2->attempt, 2u);
  EXPECT_GT(b2->epoch, b->epoch);
  EXPECT_FALSE(s.Renew(b->task_id, b->epoch, "w2", kT0 + absl::Seconds(31)));
  EXPECT_EQ(s.Complete(b->task_id, b->epoch, absl::OkStatus(), kT0 + absl::Seconds(31), &c),
            Scheduler::Outcome::kStale);
  EXPECT_TRUE(s.ExpireLeases(kT0 + absl::Seconds(49), &c).size() == 0);
  EXPECT_EQ(s.ExpireLeases(kT0 + absl::Seconds(50), &c).size(), 1u);  // a
}

TEST(SchedulerTest, WorkerLostRequeuesUntilMaxAttemptsThenFails) {
  Scheduler s = Make(1, false, /*max_attempts=*/2);
  auto a = s.Next("w1", kT0);
  std::vector<CancelOrder> c;
  s.WorkerLost("w1", "worker died", kT0, &c);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kPending);
  auto b = s.Next("w2", kT0 + absl::Seconds(1));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->attempt, 2u);
  EXPECT_GT(b->epoch, a->epoch);
  s.WorkerLost("w2", "worker died", kT0, &c);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kFailed);
  EXPECT_NE(s.tasks()[0].last_error.find("worker died"), std::string::npos);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, LostWhileStoppingIsCancelled) {
  Scheduler s = Make(1, true);
  s.Next("w1", kT0);
  std::vector<CancelOrder> c;
  s.Stop("interrupted", &c);
  s.WorkerLost("w1", "worker died", kT0, &c);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kCancelled);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, LargestKnownFirstThenUnknownInConfigOrder) {
  Scheduler s = Make(5, false);
  s.SetSize(2, 10);   // u1
  s.SetSize(4, 500);  // u3
  s.SetSize(5, 50);   // u4
  std::vector<uint64_t> order;
  while (auto a = s.Next("w", kT0)) order.push_back(a->task_id);
  EXPECT_EQ(order, (std::vector<uint64_t>{4, 5, 2, 1, 3}));
}

TEST(SchedulerTest, SizeLearntWhileRunningOrdersTheRetry) {
  Scheduler s = Make(3, false);
  auto a = s.Next("w", kT0);  // u0, size unknown
  s.SetSize(a->task_id, 1000);
  std::vector<CancelOrder> c;
  s.Complete(a->task_id, a->epoch, absl::UnavailableError("x"), kT0, &c);
  auto next = s.Next("w", kT0 + absl::Seconds(1));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->task_id, a->task_id);  // known and large: before u1, u2
}

TEST(SchedulerTest, RestoredTasksAreNotRedoneAndEpochsStayMonotonic) {
  Scheduler s = Make(3, true);
  s.RestoreSucceeded(2, "ok in an earlier run");
  s.SetMinEpoch(41);
  auto a = s.Next("w", kT0);
  auto b = s.Next("w", kT0);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(s.Next("w", kT0));
  EXPECT_EQ(a->task_id, 1u);
  EXPECT_EQ(b->task_id, 3u);
  EXPECT_EQ(a->epoch, 42u);
  EXPECT_TRUE(s.tasks()[1].earlier_run);
  std::vector<CancelOrder> c;
  s.Complete(a->task_id, a->epoch, absl::OkStatus(), kT0, &c);
  s.Complete(b->task_id, b->epoch, absl::OkStatus(), kT0, &c);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, CancelledWithoutStopIsRetried) {
  Scheduler s = Make(1, true);
  auto a = s.Next("w1", kT0);
  std::vector<CancelOrder> c;
  EXPECT_EQ(s.Complete(a->task_id, a->epoch, absl::CancelledError("worker shutting down"), kT0, &c),
            Scheduler::Outcome::kRetry);
  EXPECT_FALSE(s.stopping());
}

TEST(SchedulerTest, FailRemaining) {
  Scheduler s = Make(3, false);
  s.Next("w1", kT0);
  s.FailRemaining("no live workers");
  EXPECT_TRUE(s.finished());
  for (const TaskInfo& t : s.tasks()) EXPECT_EQ(t.state, TaskState::kFailed);
}

TEST(SchedulerTest, StopWithNothingRunningFinishes) {
  Scheduler s = Make(2, true);
  std::vector<CancelOrder> c;
  s.Stop("interrupted", &c);
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(s.stop_reason(), "interrupted");
}

}  // namespace
}  // namespace coordinator
