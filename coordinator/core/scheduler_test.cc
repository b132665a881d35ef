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

// ---- limits (README "Budgets"): budgets and connections, on an injected clock ----

Scheduler WithBudget(size_t n, uint64_t budget, absl::Duration window) {
  std::vector<std::string> emails;
  for (size_t i = 0; i < n; ++i) emails.push_back("u" + std::to_string(i) + "@x");
  SchedulerOptions o = Options(true);
  o.budget_window = window;
  Scheduler s(emails, o);
  for (size_t i = 0; i < n; ++i) {
    s.SetLimits(i + 1, AccountLimitSpec{emails[i], 0, i == 0 ? budget : 0});
  }
  return s;
}

TEST(SchedulerBudgetTest, ParkedUntilTheWindowReopensWhileOthersRun) {
  Scheduler s = WithBudget(2, 1000, absl::Seconds(60));
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->task_id, 1u);
  EXPECT_EQ(a->budget_bytes, 1000u);
  EXPECT_EQ(a->budget_spent, 0u);
  EXPECT_EQ(a->budget_resume_at, kT0 + absl::Seconds(60));
  const absl::Time t1 = kT0 + absl::Seconds(10);
  s.Charge(1, 950, t1);
  EXPECT_EQ(s.Park(1, a->epoch + 1, t1), Scheduler::Outcome::kStale);
  EXPECT_EQ(s.Park(1, a->epoch, t1), Scheduler::Outcome::kParked);
  const TaskInfo& t = *s.Find(1);
  EXPECT_EQ(t.state, TaskState::kPending);
  EXPECT_TRUE(t.parked(t1));
  EXPECT_EQ(t.parked_until, kT0 + absl::Seconds(60));
  EXPECT_EQ(t.attempts, 0u);  // not an attempt
  EXPECT_EQ(t.last_error,
            "byte budget spent (950 of 1000 bytes in this window); parked until "
            "2023-11-14T22:14:20Z");
  // The other account runs meanwhile; the parked one waits for its window.
  auto b = s.Next("w1", t1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->task_id, 2u);
  EXPECT_EQ(b->budget_bytes, 0u);
  s.Complete(2, b->epoch, absl::OkStatus(), t1, &c);
  EXPECT_FALSE(s.Next("w1", kT0 + absl::Seconds(59)));
  EXPECT_FALSE(s.HasReady(kT0 + absl::Seconds(59)));
  EXPECT_EQ(s.NextDeadline(), kT0 + absl::Seconds(60));
  EXPECT_FALSE(s.finished());
  // The window reopens: a new one starts, nothing spent in it.
  const absl::Time t2 = kT0 + absl::Seconds(60);
  EXPECT_TRUE(s.HasReady(t2));
  auto again = s.Next("w1", t2);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->task_id, 1u);
  EXPECT_EQ(again->attempt, 1u);
  EXPECT_EQ(again->budget_spent, 0u);
  EXPECT_EQ(again->budget_resume_at, t2 + absl::Seconds(60));
  EXPECT_FALSE(s.Find(1)->parked(t2));
  s.Complete(1, again->epoch, absl::OkStatus(), t2, &c);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerBudgetTest, SpendingCarriesOverWithinTheWindow) {
  Scheduler s = WithBudget(1, 1000, absl::Seconds(60));
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  s.Charge(1, 300, kT0 + absl::Seconds(1));
  s.Complete(1, a->epoch, absl::UnavailableError("server went away"), kT0 + absl::Seconds(1), &c);
  auto b = s.Next("w1", kT0 + absl::Seconds(5));  // after the backoff, same window
  ASSERT_TRUE(b);
  EXPECT_EQ(b->budget_spent, 300u);
  EXPECT_EQ(b->budget_resume_at, kT0 + absl::Seconds(60));
}

TEST(SchedulerBudgetTest, ALostRunThatSpentTheBudgetIsParkedNotRetriedAtOnce) {
  Scheduler s = WithBudget(1, 500, absl::Seconds(60));
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  ASSERT_TRUE(a);
  const absl::Time t1 = kT0 + absl::Seconds(31);
  s.ExpireLeases(t1, &c);  // requeued with a 1 s backoff ...
  s.Charge(1, 800, t1);    // ... but its progress says the budget is spent
  EXPECT_TRUE(s.Find(1)->parked(t1));
  EXPECT_FALSE(s.Next("w2", t1 + absl::Seconds(2)));
  EXPECT_TRUE(s.Next("w2", kT0 + absl::Seconds(60)));
}

TEST(SchedulerBudgetTest, RestoredBudgetKeepsTheParkAndTheSpending) {
  Scheduler s = WithBudget(2, 1000, absl::Seconds(60));
  // An earlier coordinator parked u0 until kT0+60 after spending 1000; u1's budget row is
  // of a window that is over.
  const absl::Time now = kT0 + absl::Seconds(20);
  s.RestoreBudget(1, kT0, 1000, kT0 + absl::Seconds(60), now);
  s.RestoreBudget(2, kT0 - absl::Seconds(120), 5, absl::InfinitePast(), now);
  EXPECT_TRUE(s.Find(1)->parked(now));
  EXPECT_EQ(s.Find(1)->budget_spent, 1000u);
  auto a = s.Next("w1", now);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->task_id, 2u);
  EXPECT_FALSE(s.Next("w1", now));
  auto b = s.Next("w1", kT0 + absl::Seconds(60));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->task_id, 1u);
  EXPECT_EQ(b->budget_spent, 0u);
}

TEST(SchedulerBudgetTest, ParkWhileStoppingCancelsAndKeepsTheResumeTime) {
  Scheduler s = WithBudget(1, 1000, absl::Seconds(60));
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  s.Stop("interrupted", &c);
  s.Charge(1, 1000, kT0);
  EXPECT_EQ(s.Park(1, a->epoch, kT0), Scheduler::Outcome::kCancelled);
  EXPECT_EQ(s.Find(1)->state, TaskState::kCancelled);
  EXPECT_EQ(s.Find(1)->parked_until, kT0 + absl::Seconds(60));
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerConnectionsTest, SharedKeyWaitsForFreeConnections) {
  Scheduler s = Make(3, false);
  s.SetLimits(1, AccountLimitSpec{"admin", 4, 0});
  s.SetLimits(2, AccountLimitSpec{"admin", 3, 0});  // the key's limit: the smaller, 3
  s.SetLimits(3, AccountLimitSpec{"other", 2, 0});
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->connections, 3);
  auto b = s.Next("w2", kT0);  // u1 shares "admin": skipped, u2 goes
  ASSERT_TRUE(b);
  EXPECT_EQ(b->task_id, 3u);
  EXPECT_EQ(b->connections, 2);
  EXPECT_FALSE(s.Next("w2", kT0));
  EXPECT_FALSE(s.HasReady(kT0));
  EXPECT_EQ(s.connections().Held("admin"), 3);
  s.Complete(1, a->epoch, absl::OkStatus(), kT0, &c);
  auto d = s.Next("w2", kT0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->task_id, 2u);
  EXPECT_EQ(d->connections, 3);
}

TEST(SchedulerConnectionsTest, StaleAssignmentHoldsItsConnectionsUntilItStops) {
  SchedulerOptions o = Options(false);
  o.stale_hold = absl::Seconds(20);
  Scheduler s({"u0@x"}, o);
  s.SetLimits(1, AccountLimitSpec{"u0@x", 4, 0});
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  const absl::Time t1 = kT0 + absl::Seconds(30);
  s.ExpireLeases(t1, &c);  // requeued, backoff 1 s
  const absl::Time t2 = t1 + absl::Seconds(2);
  EXPECT_FALSE(s.Next("w2", t2)) << "w1 may still hold the 4 connections";
  EXPECT_EQ(s.NextDeadline(), t1 + absl::Seconds(20));
  // w1 still names it: held on; then it no longer does: released.
  EXPECT_FALSE(s.WorkerRuns("w1", {{1, a->epoch}}, t2));
  EXPECT_FALSE(s.Next("w2", t2));
  EXPECT_TRUE(s.WorkerRuns("w1", {}, t2));
  auto b = s.Next("w2", t2);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->connections, 4);
  // A second loss: nobody says anything; the hold runs out.
  const absl::Time t3 = t2 + absl::Seconds(30);
  s.ExpireLeases(t3, &c);
  EXPECT_FALSE(s.ExpireStaleConnections(t3 + absl::Seconds(19)));
  EXPECT_FALSE(s.Next("w3", t3 + absl::Seconds(19)));
  EXPECT_TRUE(s.ExpireStaleConnections(t3 + absl::Seconds(20)));
  EXPECT_TRUE(s.Next("w3", t3 + absl::Seconds(20)));
}

TEST(SchedulerConnectionsTest, StaleResultOrProcessExitReleasesAtOnce) {
  Scheduler s = Make(1, false);
  s.SetLimits(1, AccountLimitSpec{"u0@x", 2, 0});
  std::vector<CancelOrder> c;
  auto a = s.Next("w1", kT0);
  s.ExpireLeases(kT0 + absl::Seconds(30), &c);
  EXPECT_FALSE(s.StaleRunEnded(1, a->epoch + 5));  // never granted
  EXPECT_TRUE(s.StaleRunEnded(1, a->epoch));
  auto b = s.Next("w2", kT0 + absl::Seconds(32));
  ASSERT_TRUE(b);
  EXPECT_FALSE(s.StaleRunEnded(1, b->epoch));  // the current run is not stale
  s.WorkerLost("w2", "worker died (w2 killed by signal 9)", kT0 + absl::Seconds(33), &c);
  EXPECT_EQ(s.connections().Held("u0@x"), 0);
}

}  // namespace
}  // namespace coordinator
