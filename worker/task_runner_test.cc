#include "worker/task_runner.h"

#include <functional>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "worker/testing/account_runners.h"

namespace worker {
namespace {

class Recorder : public TaskReporter {
 public:
  void OnTaskProgress(const TaskSpec&, const engine::Progress&) override {}
  void OnTaskDone(const TaskSpec& spec, const engine::AccountResult& r, absl::Duration) override {
    absl::MutexLock lock(&mu_);
    done_.emplace_back(spec.task_id, r.status);
  }
  std::vector<std::pair<uint64_t, absl::Status>> done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<uint64_t, absl::Status>> done_;
};

// Bounded wait until `condition` holds.
bool Poll(const std::function<bool()>& condition) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));  // polling interval
  }
  return true;
}

using testing::HoldUntilCancelled;

TaskSpec Spec(uint64_t id) {
  TaskSpec s;
  s.task_id = id;
  s.epoch = 1;
  s.task.account.email = "u@x";
  s.data_location = ::testing::TempDir() + "/task_runner_test";
  return s;
}

TEST(TaskRunnerTest, RunsEachTaskAndReportsOnce) {
  Recorder rec;
  {
    TaskRunner runner(TaskRunnerOptions(), &rec);
    ASSERT_TRUE(runner.Start(Spec(1)).ok());
    ASSERT_TRUE(runner.Start(Spec(2)).ok());
    ASSERT_TRUE(runner.WaitIdle(absl::Seconds(30)));
    EXPECT_EQ(runner.running(), 0);
  }
  auto done = rec.done();
  ASSERT_EQ(done.size(), 2u);
  for (auto& [id, st] : done) EXPECT_FALSE(st.ok());  // whatever the engine says
}

TEST(TaskRunnerTest, HeldTaskStopsOnCancel) {
  Recorder rec;
  TaskRunnerOptions opts(HoldUntilCancelled);
  TaskRunner runner(opts, &rec);
  ASSERT_TRUE(runner.Start(Spec(7)).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(runner.Start(Spec(7))));
  EXPECT_FALSE(runner.WaitIdle(absl::Milliseconds(50)));
  EXPECT_EQ(runner.RunningIds(), std::vector<uint64_t>{7});
  EXPECT_EQ(runner.RunningLeases(), (std::vector<std::pair<uint64_t, uint64_t>>{{7, 1}}));
  EXPECT_FALSE(runner.Cancel(7, /*epoch=*/2));  // another assignment's cancel
  EXPECT_EQ(runner.running(), 1);
  EXPECT_TRUE(runner.Cancel(7, /*epoch=*/1));
  ASSERT_TRUE(runner.WaitIdle(absl::Seconds(30)));
  auto done = rec.done();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(absl::IsCancelled(done[0].second));
  EXPECT_FALSE(runner.Cancel(7));
}

// A new epoch of a task still running here (fenced) stops the old one first:
// the account never runs twice at once in one worker.
TEST(TaskRunnerTest, NewEpochCancelsAndWaitsForTheOldOne) {
  Recorder rec;
  TaskRunnerOptions opts(HoldUntilCancelled);
  TaskRunner runner(opts, &rec);
  ASSERT_TRUE(runner.Start(Spec(7)).ok());
  TaskSpec again = Spec(7);
  again.epoch = 2;
  ASSERT_TRUE(runner.Start(again).ok());
  // The old epoch was cancelled; the new one holds (until cancelled).
  using Leases = std::vector<std::pair<uint64_t, uint64_t>>;
  ASSERT_TRUE(Poll([&] { return runner.RunningLeases() == Leases{{7, 2}}; }));
  ASSERT_EQ(rec.done().size(), 1u);
  EXPECT_TRUE(runner.Cancel(7, 2));
  ASSERT_TRUE(runner.WaitIdle(absl::Seconds(30)));
  EXPECT_EQ(rec.done().size(), 2u);
}

TEST(TaskRunnerTest, DestructorCancelsHeldTasks) {
  Recorder rec;
  TaskRunnerOptions opts(HoldUntilCancelled);
  {
    TaskRunner runner(opts, &rec);
    ASSERT_TRUE(runner.Start(Spec(1)).ok());
  }
  EXPECT_EQ(rec.done().size(), 1u);
}

}  // namespace
}  // namespace worker
