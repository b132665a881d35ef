// Job with fake links: dispatch on request, NoMoreTasks at the end, worker
// loss.
#include "coordinator/job.h"

#include "gtest/gtest.h"

namespace coordinator {
namespace {

struct FakeLink : WorkerLink {
  std::vector<TaskOrder> tasks;
  std::vector<uint64_t> cancels;
  int no_more = 0;
  void SendTask(const TaskOrder& o) override { tasks.push_back(o); }
  void SendCancel(uint64_t id, uint64_t, const std::string&) override {
    cancels.push_back(id);
  }
  void SendNoMoreTasks() override { ++no_more; }
  void SendShutdown(const std::string&) override {}
};

JobOptions Opts(int accounts, bool fail_fast, int local) {
  JobOptions o;
  o.job_id = "test";
  o.fail_fast = fail_fast;
  o.local_workers = local;
  for (int i = 0; i < accounts; ++i) {
    config::Account a;
    a.index = i;
    a.email = "u" + std::to_string(i) + "@x";
    a.password = "pw";
    o.config.accounts.push_back(a);
  }
  return o;
}

engine::AccountResult Ok() { return engine::AccountResult(); }

TEST(JobTest, DispatchesOnRequestAndEndsWithNoMoreTasks) {
  Job job(Opts(2, true, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2}, &link).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(job.Connect({"w1", "h", 2, 2}, &link)));
  job.RequestTask("w1");
  job.RequestTask("w1");
  ASSERT_EQ(link.tasks.size(), 2u);
  EXPECT_EQ(link.tasks[0].task.account.email, "u0@x");
  job.RequestTask("w1");  // parked: nothing pending
  EXPECT_EQ(link.tasks.size(), 2u);
  job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, Ok(),
             absl::ZeroDuration());
  EXPECT_EQ(link.no_more, 0);
  job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, Ok(),
             absl::ZeroDuration());
  EXPECT_EQ(link.no_more, 1);
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kSucceeded), 2u);
}

TEST(JobTest, LostWorkerTasksGoToAnotherWorker) {
  Job job(Opts(1, true, 0));
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");  // parked
  ASSERT_EQ(l1.tasks.size(), 1u);
  job.Disconnect("w1");
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  // The old assignment's result is stale.
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Ok(),
             absl::ZeroDuration());
  EXPECT_FALSE(job.finished());
  job.Result("w2", l2.tasks[0].task_id, l2.tasks[0].epoch, Ok(),
             absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
}

TEST(JobTest, NoLiveLocalWorkersFailsTheRest) {
  Job job(Opts(2, false, 1));
  FakeLink link;
  job.LocalWorkerStarted("w1", 123);
  ASSERT_TRUE(job.Connect({"w1", "h", 123, 1}, &link).ok());
  job.RequestTask("w1");
  job.LocalWorkerExited("w1", "killed by signal 9");
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kFailed), 2u);
  EXPECT_NE(s.accounts[0].task.last_error.find("worker died"),
            std::string::npos);
  job.Disconnect("w1");  // the stream break arrives later: harmless
}

TEST(JobTest, FailFastSendsCancel) {
  Job job(Opts(3, true, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2}, &link).ok());
  job.RequestTask("w1");
  job.RequestTask("w1");
  engine::AccountResult bad;
  bad.status = absl::UnauthenticatedError("login failed for u0@x");
  job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, bad,
             absl::ZeroDuration());
  ASSERT_EQ(link.cancels.size(), 1u);
  EXPECT_EQ(link.cancels[0], link.tasks[1].task_id);
  EXPECT_FALSE(job.finished());
  engine::AccountResult cancelled;
  cancelled.status = absl::CancelledError("cancelled");
  job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, cancelled,
             absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kFailed), 1u);
  EXPECT_EQ(s.Count(TaskState::kCancelled), 2u);
}

}  // namespace
}  // namespace coordinator
