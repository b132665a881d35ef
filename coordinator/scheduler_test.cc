#include "coordinator/scheduler.h"

#include "gtest/gtest.h"

namespace coordinator {
namespace {

Scheduler Make(size_t n, bool fail_fast) {
  std::vector<std::string> emails;
  for (size_t i = 0; i < n; ++i)
    emails.push_back("u" + std::to_string(i) + "@x");
  return Scheduler(emails, SchedulerOptions{fail_fast, 2});
}

TEST(SchedulerTest, HandsOutInOrderAndFinishes) {
  Scheduler s = Make(2, true);
  auto a = s.Next("w1");
  auto b = s.Next("w2");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->task_id, 1u);
  EXPECT_EQ(b->task_id, 2u);
  EXPECT_NE(a->epoch, b->epoch);
  EXPECT_FALSE(s.Next("w1"));
  EXPECT_FALSE(s.finished());
  std::vector<CancelOrder> c;
  EXPECT_TRUE(s.Complete(a->task_id, a->epoch, absl::OkStatus(), &c));
  EXPECT_TRUE(s.Complete(b->task_id, b->epoch, absl::OkStatus(), &c));
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(s.tasks()[0].state, TaskState::kSucceeded);
}

TEST(SchedulerTest, StaleResultsAreIgnored) {
  Scheduler s = Make(1, true);
  auto a = s.Next("w1");
  std::vector<CancelOrder> c;
  EXPECT_FALSE(s.Complete(a->task_id, a->epoch + 1, absl::OkStatus(), &c));
  EXPECT_FALSE(s.Complete(99, 1, absl::OkStatus(), &c));
  EXPECT_EQ(s.tasks()[0].state, TaskState::kRunning);
}

TEST(SchedulerTest, FailFastCancelsRunningAndPending) {
  Scheduler s = Make(3, true);
  auto a = s.Next("w1");
  auto b = s.Next("w2");
  std::vector<CancelOrder> c;
  s.Complete(a->task_id, a->epoch, absl::UnavailableError("boom"), &c);
  EXPECT_TRUE(s.stopping());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].worker_id, "w2");
  EXPECT_EQ(c[0].task_id, b->task_id);
  EXPECT_EQ(s.tasks()[2].state, TaskState::kCancelled);
  EXPECT_NE(s.tasks()[2].last_error.find("not started"), std::string::npos);
  EXPECT_FALSE(s.Next("w1"));
  s.Complete(b->task_id, b->epoch, absl::CancelledError("stop"), &c);
  EXPECT_EQ(s.tasks()[1].state, TaskState::kCancelled);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kFailed);
  EXPECT_NE(s.tasks()[0].last_error.find("boom"), std::string::npos);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, IgnoreErrorsKeepsGoing) {
  Scheduler s = Make(2, false);
  auto a = s.Next("w1");
  std::vector<CancelOrder> c;
  s.Complete(a->task_id, a->epoch, absl::UnavailableError("boom"), &c);
  EXPECT_FALSE(s.stopping());
  auto b = s.Next("w1");
  ASSERT_TRUE(b);
  s.Complete(b->task_id, b->epoch, absl::OkStatus(), &c);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, WorkerLostRequeuesOnceThenFails) {
  Scheduler s = Make(1, false);
  auto a = s.Next("w1");
  std::vector<CancelOrder> c;
  s.WorkerLost("w1", "worker died", &c);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kPending);
  auto b = s.Next("w2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->attempt, 2u);
  EXPECT_GT(b->epoch, a->epoch);
  // The dead worker's late result is stale.
  EXPECT_FALSE(s.Complete(a->task_id, a->epoch, absl::OkStatus(), &c));
  s.WorkerLost("w2", "worker died", &c);
  EXPECT_EQ(s.tasks()[0].state, TaskState::kFailed);
  EXPECT_NE(s.tasks()[0].last_error.find("worker died"), std::string::npos);
  EXPECT_TRUE(s.finished());
}

TEST(SchedulerTest, WorkerLostOnlyTouchesItsTasks) {
  Scheduler s = Make(2, true);
  s.Next("w1");
  s.Next("w2");
  std::vector<CancelOrder> c;
  auto touched = s.WorkerLost("w1", "worker died", &c);
  ASSERT_EQ(touched.size(), 1u);
  EXPECT_EQ(touched[0], 1u);
  EXPECT_EQ(s.tasks()[1].state, TaskState::kRunning);
  EXPECT_FALSE(s.stopping());
}

TEST(SchedulerTest, FailRemaining) {
  Scheduler s = Make(3, false);
  s.Next("w1");
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
