// Job with fake links: dispatch on request, NoMoreTasks at the end, worker
// loss.
#include "coordinator/core/job.h"

#include "coordinator/core/job_testing.h"
#include "gtest/gtest.h"

namespace coordinator {
namespace {

engine::AccountResult Ok() { return engine::AccountResult(); }

TEST(JobTest, DispatchesOnRequestAndEndsWithNoMoreTasks) {
  Job job(Opts(2, true, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2, ""}, &link).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(job.Connect({"w1", "h", 2, 2, ""}, &link)));
  job.RequestTask("w1");
  job.RequestTask("w1");
  ASSERT_EQ(link.tasks.size(), 2u);
  EXPECT_EQ(link.tasks[0].task.account.email, "u0@x");
  job.RequestTask("w1");  // parked: nothing pending
  EXPECT_EQ(link.tasks.size(), 2u);
  job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_EQ(link.no_more, 0);
  job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, Ok(), absl::ZeroDuration());
  EXPECT_EQ(link.no_more, 1);
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kSucceeded), 2u);
}

TEST(JobTest, LostWorkerTasksGoToAnotherWorker) {
  Job job(Opts(1, true, 0));
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");  // parked
  ASSERT_EQ(l1.tasks.size(), 1u);
  job.Disconnect("w1");
  job.Tick();
  EXPECT_TRUE(l2.tasks.empty());  // the lease still runs
  fake_now += absl::Seconds(11);
  job.Heartbeat("w2", 1, {});  // w2 stays responsive
  job.Tick();                  // lease expired: requeued, backoff 1 s
  fake_now += absl::Seconds(1);
  job.Tick();
  // w1 may still run it with all 4 of the account's connections: they stay counted for
  // another lease (or until w1 says it stopped), so w2 waits.
  EXPECT_TRUE(l2.tasks.empty());
  fake_now += absl::Seconds(9);
  job.Heartbeat("w2", 2, {});
  job.Tick();
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  EXPECT_EQ(l2.tasks[0].task.max_connections, 4);
  // The old assignment's result is stale.
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_FALSE(job.finished());
  job.Result("w2", l2.tasks[0].task_id, l2.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
}

TEST(JobTest, NoLiveLocalWorkersFailsTheRest) {
  Job job(Opts(2, false, 1));
  FakeLink link;
  job.LocalWorkerStarted("w1", 123);
  ASSERT_TRUE(job.Connect({"w1", "h", 123, 1, ""}, &link).ok());
  job.RequestTask("w1");
  job.LocalWorkerExited("w1", "killed by signal 9");
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kFailed), 2u);
  EXPECT_NE(s.accounts[0].task.last_error.find("worker died"), std::string::npos);
  job.Disconnect("w1");  // the stream break arrives later: harmless
}

TEST(JobTest, FailFastSendsCancel) {
  Job job(Opts(3, true, 0));
  FakeLink link;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2, ""}, &link).ok());
  job.RequestTask("w1");
  job.RequestTask("w1");
  engine::AccountResult bad;
  bad.status = absl::UnauthenticatedError("login failed for u0@x");
  job.Result("w1", link.tasks[0].task_id, link.tasks[0].epoch, bad, absl::ZeroDuration());
  ASSERT_EQ(link.cancels.size(), 1u);
  EXPECT_EQ(link.cancels[0], link.tasks[1].task_id);
  EXPECT_FALSE(job.finished());
  engine::AccountResult cancelled;
  cancelled.status = absl::CancelledError("cancelled");
  job.Result("w1", link.tasks[1].task_id, link.tasks[1].epoch, cancelled, absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.Count(TaskState::kFailed), 1u);
  EXPECT_EQ(s.Count(TaskState::kCancelled), 2u);
}

// Start grace: the first accounts are spread over all the spawned workers.
TEST(JobStartTest, WaitsForAllLocalWorkersThenSpreadsRoundRobin) {
  Job job(Opts(4, true, 2));
  FakeLink la, lb;
  job.LocalWorkerStarted("w1", 101);
  job.LocalWorkerStarted("w2", 102);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 4, ""}, &la).ok());
  for (int i = 0; i < 4; ++i) job.RequestTask("w1");
  EXPECT_TRUE(la.tasks.empty()) << "w1 got work before w2 connected";
  job.Tick();
  EXPECT_TRUE(la.tasks.empty());
  ASSERT_TRUE(job.Connect({"w2", "h", 102, 4, ""}, &lb).ok());
  job.RequestTask("w2");  // w2's first slot only: still waiting for the rest
  EXPECT_TRUE(la.tasks.empty());
  EXPECT_TRUE(lb.tasks.empty());
  for (int i = 0; i < 3; ++i) job.RequestTask("w2");
  EXPECT_EQ(la.tasks.size(), 2u);
  EXPECT_EQ(lb.tasks.size(), 2u);
}

TEST(JobStartTest, GraceExpiryHandsWorkToTheConnectedWorkers) {
  JobOptions o = Opts(4, true, 2);
  o.start_grace = absl::Seconds(2);
  Job job(o);
  FakeLink la;
  job.LocalWorkerStarted("w1", 101);
  job.LocalWorkerStarted("w2", 102);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 4, ""}, &la).ok());
  for (int i = 0; i < 4; ++i) job.RequestTask("w1");
  fake_now += absl::Milliseconds(1900);
  job.Heartbeat("w1", 1, {});
  job.Tick();
  EXPECT_TRUE(la.tasks.empty()) << "work handed out before the grace ended";
  fake_now += absl::Milliseconds(200);
  job.Tick();
  EXPECT_EQ(la.tasks.size(), 4u);
}

TEST(JobStartTest, WorkerExitingBeforeConnectingEndsTheWait) {
  Job job(Opts(4, true, 2));
  FakeLink la;
  job.LocalWorkerStarted("w1", 101);
  job.LocalWorkerStarted("w2", 102);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 4, ""}, &la).ok());
  for (int i = 0; i < 4; ++i) job.RequestTask("w1");
  EXPECT_TRUE(la.tasks.empty());
  job.LocalWorkerExited("w2", "exited with status 1");
  EXPECT_EQ(la.tasks.size(), 4u);
  EXPECT_FALSE(job.finished());
}

TEST(JobStartTest, RemoteOnlyJobsDoNotWait) {
  Job job(Opts(2, true, 0));
  FakeLink la;
  ASSERT_TRUE(job.Connect({"r1", "h", 1, 4, ""}, &la).ok());
  job.RequestTask("r1");
  EXPECT_EQ(la.tasks.size(), 1u);
}

}  // namespace
}  // namespace coordinator

namespace coordinator {
namespace {

struct RecordingJournal : JobJournal {
  std::vector<std::pair<TaskInfo, bool>> records;
  std::vector<AccountTotals> totals;  // one per record
  void Record(const TaskInfo& t, const AccountTotals& a, bool terminal) override {
    records.push_back({t, terminal});
    totals.push_back(a);
  }
};

TEST(JobLeaseTest, StaleResultIsRejectedCountedAndCancelled) {
  Job job(Opts(1, true, 0));
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 1u);
  const TaskOrder old = l1.tasks[0];
  // w1 goes silent (SIGSTOP); w2 keeps heartbeating and asks for work. The lease (10 s)
  // runs out, then the hold of w1's connections (another lease).
  for (int i = 0; i < 22; ++i) {
    fake_now += absl::Seconds(1);
    job.Heartbeat("w2", i, {});
    job.Tick();
  }
  job.RequestTask("w2");
  job.Tick();
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  EXPECT_GT(l2.tasks[0].epoch, old.epoch);
  // w1 wakes up: its heartbeat names the old epoch (cancelled), then its
  // progress and result arrive: rejected, counted, each answered by a cancel.
  l1.cancels.clear();
  job.Heartbeat("w1", 7, {{old.task_id, old.epoch}});
  EXPECT_EQ(l1.acks.back(), 7u);
  engine::Progress p;
  p.messages_total = 99;
  job.Progress("w1", old.task_id, old.epoch, p);
  job.Result("w1", old.task_id, old.epoch, Ok(), absl::ZeroDuration());
  ASSERT_EQ(l1.cancels.size(), 3u);
  for (uint64_t e : l1.cancel_epochs) EXPECT_EQ(e, old.epoch);
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.fleet.rejected_results, 1u);
  EXPECT_EQ(s.fleet.rejected_progress, 1u);
  EXPECT_EQ(s.fleet.leases_expired, 1u);
  EXPECT_EQ(s.accounts[0].task.state, TaskState::kRunning);
  EXPECT_EQ(s.accounts[0].task.size, 0u);  // stale progress taught nothing
  job.Result("w2", l2.tasks[0].task_id, l2.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
}

TEST(JobLeaseTest, HeartbeatsKeepTheLeaseAlive) {
  Job job(Opts(1, true, 0));
  FakeLink l1;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 1u);
  for (int i = 0; i < 60; ++i) {
    fake_now += absl::Seconds(2);
    job.Heartbeat("w1", i, {{l1.tasks[0].task_id, l1.tasks[0].epoch}});
    job.Tick();
  }
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.accounts[0].task.state, TaskState::kRunning);
  EXPECT_EQ(s.fleet.leases_expired, 0u);
  EXPECT_TRUE(l1.cancels.empty());
}

TEST(JobLeaseTest, UnresponsiveWorkerGetsNoNewWork) {
  Job job(Opts(2, false, 0));
  FakeLink l1;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 2, ""}, &l1).ok());
  job.RequestTask("w1");
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 2u);
  engine::AccountResult retry;
  retry.status = absl::UnavailableError("server said BYE");
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, retry, absl::ZeroDuration());
  job.RequestTask("w1");  // parked: the retry waits for its backoff
  EXPECT_EQ(l1.tasks.size(), 2u);
  fake_now += absl::Seconds(20);  // silent for longer than the lease
  job.Tick();
  EXPECT_EQ(l1.tasks.size(), 2u) << "an unresponsive worker got work";
  job.Heartbeat("w1", 1, {});  // heard from again: the parked slot is used
  ASSERT_EQ(l1.tasks.size(), 3u);
  EXPECT_EQ(l1.tasks[2].attempt, 2u);
}

TEST(JobLeaseTest, JournalSeesEveryTransitionAndRestoreSkipsDoneAccounts) {
  RecordingJournal journal;
  JobOptions o = Opts(3, false, 0);
  o.journal = &journal;
  StoredAccount done;
  done.index = 1;
  done.state = TaskState::kSucceeded;
  done.epoch = 17;
  done.totals.messages = 5;
  StoredAccount big;
  big.index = 2;
  big.size = 1000;
  o.restored = {done, big};
  Job job(o);
  FakeLink l1;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 3, ""}, &l1).ok());
  for (int i = 0; i < 3; ++i) job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 2u);
  EXPECT_EQ(l1.tasks[0].task.account.email, "u2@x");  // largest first
  EXPECT_GT(l1.tasks[0].epoch, 17u);
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Ok(), absl::ZeroDuration());
  ASSERT_FALSE(journal.records.empty());
  EXPECT_EQ(journal.records.back().first.state, TaskState::kSucceeded);
  EXPECT_TRUE(journal.records.back().second);
  EXPECT_EQ(journal.records[0].first.state, TaskState::kRunning);
  EXPECT_FALSE(journal.records[0].second);
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.earlier_run, 1u);
  EXPECT_EQ(s.accounts[1].messages, 5u);
}

}  // namespace
}  // namespace coordinator

namespace coordinator {
namespace {

// A local worker process that exits loses its tasks at once (no lease wait):
// they are requeued like an expired lease (an attempt counted, backoff), and a
// late result from the dead worker's epoch is rejected.
TEST(JobLocalExitTest, ExitRequeuesItsTasksWithoutWaitingForTheLease) {
  Job job(Opts(1, true, 2));
  FakeLink l1, l2;
  job.LocalWorkerStarted("w1", 101);
  job.LocalWorkerStarted("w2", 102);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 102, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");
  ASSERT_EQ(l1.tasks.size(), 1u);
  EXPECT_FALSE(job.LocalWorkerExited("w1", "killed by signal 9"));
  JobSnapshot s = job.Snapshot();
  ASSERT_EQ(s.accounts.size(), 1u);
  EXPECT_EQ(s.accounts[0].task.state, TaskState::kPending);
  EXPECT_EQ(s.accounts[0].task.attempts, 1u);
  EXPECT_NE(s.accounts[0].task.last_error.find("worker died (w1 killed by"), std::string::npos)
      << s.accounts[0].task.last_error;
  EXPECT_EQ(s.fleet.retries, 1u);
  fake_now += absl::Seconds(1);  // the retry backoff; the lease is 10 s
  job.Heartbeat("w2", 1, {});
  job.Tick();
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  EXPECT_GT(l2.tasks[0].epoch, l1.tasks[0].epoch);
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_FALSE(job.finished());
  EXPECT_EQ(job.Snapshot().fleet.rejected_results, 1u);
  EXPECT_TRUE(l1.cancels.empty()) << "the dead worker's link was used";
  job.Result("w2", l2.tasks[0].task_id, l2.tasks[0].epoch, Ok(), absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
}

// The only local worker dies abnormally: the job asks for a respawn instead of
// failing the rest ("no live workers"); the replacement registers under the
// same id although the old stream has not been seen breaking yet, and gets
// the requeued accounts.
TEST(JobLocalExitTest, RespawnedWorkerTakesOverItsIdAndTheAccounts) {
  Job job(Opts(2, true, 1));
  FakeLink l1, l2;
  job.LocalWorkerStarted("w1", 101);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 2, ""}, &l1).ok());
  job.RequestTask("w1");
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 2u);
  EXPECT_TRUE(job.LocalWorkerExited("w1", "killed by signal 9",
                                    /*can_respawn=*/true));
  EXPECT_FALSE(job.finished()) << "failed the accounts instead of waiting";
  EXPECT_EQ(job.Snapshot().Count(TaskState::kPending), 2u);
  EXPECT_TRUE(absl::IsAlreadyExists(job.Connect({"w1", "h", 7, 2, ""}, &l2)))
      << "the id is reserved for the replacement";
  job.LocalWorkerStarted("w1", 102);
  ASSERT_TRUE(job.Connect({"w1", "h", 102, 2, ""}, &l2).ok());
  job.Disconnect("w1", &l1);  // the old stream's end: ignored
  job.RequestTask("w1");
  job.RequestTask("w1");
  fake_now += absl::Seconds(1);
  job.Tick();
  ASSERT_EQ(l2.tasks.size(), 2u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  EXPECT_EQ(l1.tasks.size(), 2u);
  for (const TaskOrder& t : l2.tasks)
    job.Result("w1", t.task_id, t.epoch, Ok(), absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
  EXPECT_EQ(job.Snapshot().Count(TaskState::kSucceeded), 2u);
}

TEST(JobLocalExitTest, NoRespawnOnceFinishedAndAFailedRespawnEndsTheJob) {
  Job job(Opts(1, true, 1));
  FakeLink l1;
  job.LocalWorkerStarted("w1", 101);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 1, ""}, &l1).ok());
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 1u);
  ASSERT_TRUE(job.LocalWorkerExited("w1", "killed by signal 9", true));
  EXPECT_FALSE(job.finished());
  EXPECT_FALSE(job.LocalWorkerExited("w1", "could not be respawned: fork"));
  EXPECT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_NE(s.accounts[0].task.last_error.find("no live workers"), std::string::npos);
  EXPECT_FALSE(job.LocalWorkerExited("w1", "killed by signal 9", true));
}

// A worker that died during the start grace and was respawned does not hold
// the first dispatch until it registers again.
TEST(JobLocalExitTest, RespawnedWorkerDoesNotHoldTheStart) {
  Job job(Opts(4, true, 2));
  FakeLink la;
  job.LocalWorkerStarted("w1", 101);
  job.LocalWorkerStarted("w2", 102);
  ASSERT_TRUE(job.LocalWorkerExited("w2", "exited with status 1", true));
  job.LocalWorkerStarted("w2", 103);
  ASSERT_TRUE(job.Connect({"w1", "h", 101, 4, ""}, &la).ok());
  for (int i = 0; i < 4; ++i) job.RequestTask("w1");
  EXPECT_EQ(la.tasks.size(), 4u);
}

// ---- limits (README "Budgets") ----

TEST(JobLimitsTest, AccountsOfOneUserShareItsConnectionsAcrossWorkers) {
  JobOptions o = Opts(2, true, 0);
  o.config.server.max_connections_per_account = 3;
  for (config::Account& a : o.config.accounts) a.login = "Shared";  // one user on the server
  Job job(o);
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");
  ASSERT_EQ(l1.tasks.size(), 1u);
  EXPECT_EQ(l1.tasks[0].task.max_connections, 3);
  EXPECT_TRUE(l2.tasks.empty()) << "the user's 3 connections are all granted to w1";
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Ok(), absl::ZeroDuration());
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].task.max_connections, 3);
  EXPECT_EQ(job.Snapshot().accounts[1].task.connections, 3);
}

TEST(JobLimitsTest, StaleAssignmentKeepsItsConnectionsUntilItsWorkerStops) {
  Job job(Opts(1, true, 0));
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");
  ASSERT_EQ(l1.tasks.size(), 1u);
  const TaskOrder old = l1.tasks[0];
  fake_now += absl::Seconds(11);  // w1 silent: its lease runs out
  job.Heartbeat("w2", 1, {});
  job.Tick();
  fake_now += absl::Seconds(2);  // past the retry's backoff
  job.Heartbeat("w2", 2, {});
  job.Tick();
  EXPECT_TRUE(l2.tasks.empty());
  // w1 wakes up still running it: told to stop, its connections still count.
  job.Heartbeat("w1", 1, {{old.task_id, old.epoch}});
  job.Tick();
  EXPECT_TRUE(l2.tasks.empty());
  EXPECT_EQ(l1.cancel_epochs.back(), old.epoch);
  // It stopped (its heartbeat no longer names it): w2 gets the account at once.
  job.Heartbeat("w1", 2, {});
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].task.max_connections, 4);
}

TEST(JobLimitsTest, StaleResultReleasesTheOldConnections) {
  Job job(Opts(1, true, 0));
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  job.RequestTask("w2");
  const TaskOrder old = l1.tasks[0];
  fake_now += absl::Seconds(11);
  job.Heartbeat("w2", 1, {});
  job.Tick();
  fake_now += absl::Seconds(2);  // past the retry's backoff
  job.Heartbeat("w2", 2, {});
  job.Tick();
  EXPECT_TRUE(l2.tasks.empty());
  engine::AccountResult cancelled;
  cancelled.status = absl::CancelledError("fenced");
  job.Result("w1", old.task_id, old.epoch, cancelled, absl::ZeroDuration());
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(job.Snapshot().fleet.rejected_results, 1u);
}

TEST(JobLimitsTest, BudgetSpentParksTheAccountAndOthersRun) {
  JobOptions o = Opts(2, true, 0);
  o.mode = engine::Mode::kExport;
  o.config.server.download_bytes_per_day = 1000;  // export: downloads count
  o.config.server.upload_bytes_per_day = 1;
  o.config.server.budget_window_seconds = 60;
  o.config.accounts[1].bytes_per_day = 1'000'000;
  Job job(o);
  FakeLink l1;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  const absl::Time start = fake_now;
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 1u);
  const TaskOrder first = l1.tasks[0];
  EXPECT_EQ(first.task.budget_bytes, 1000u);
  EXPECT_EQ(first.task.budget_spent, 0u);
  EXPECT_EQ(first.task.budget_resume_at, start + absl::Seconds(60));
  fake_now += absl::Seconds(5);
  engine::AccountResult spent;
  spent.status = absl::ResourceExhaustedError("account u0@x: byte budget spent");
  spent.budget_used = 900;
  spent.parked_until = first.task.budget_resume_at;
  job.Result("w1", first.task_id, first.epoch, spent, absl::ZeroDuration());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.accounts[0].task.state, TaskState::kPending);
  EXPECT_TRUE(s.accounts[0].task.parked(fake_now));
  EXPECT_EQ(s.accounts[0].task.parked_until, start + absl::Seconds(60));
  EXPECT_EQ(s.accounts[0].task.budget_spent, 900u);
  EXPECT_EQ(s.accounts[0].task.attempts, 0u);  // not an attempt
  EXPECT_FALSE(job.finished());
  // The other account runs meanwhile, with its own budget.
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 2u);
  EXPECT_EQ(l1.tasks[1].task.account.email, "u1@x");
  EXPECT_EQ(l1.tasks[1].task.budget_bytes, 1'000'000u);
  job.Result("w1", l1.tasks[1].task_id, l1.tasks[1].epoch, Ok(), absl::ZeroDuration());
  job.RequestTask("w1");
  EXPECT_EQ(l1.tasks.size(), 2u) << "parked until its window reopens";
  fake_now = start + absl::Seconds(60);
  job.Heartbeat("w1", 1, {});
  job.Tick();
  ASSERT_EQ(l1.tasks.size(), 3u);
  EXPECT_EQ(l1.tasks[2].task.account.email, "u0@x");
  EXPECT_EQ(l1.tasks[2].task.budget_spent, 0u);  // a new window
  EXPECT_EQ(l1.tasks[2].task.budget_resume_at, fake_now + absl::Seconds(60));
  EXPECT_EQ(l1.tasks[2].attempt, 1u);
  job.Result("w1", l1.tasks[2].task_id, l1.tasks[2].epoch, Ok(), absl::ZeroDuration());
  EXPECT_TRUE(job.finished());
}

}  // namespace
}  // namespace coordinator

namespace coordinator {
namespace {

engine::Progress Throttled(uint64_t ms, uint64_t throttles, uint64_t reconnects) {
  engine::Progress p;
  p.throttled_ms = ms;
  p.throttles = throttles;
  p.reconnects = reconnects;
  return p;
}

void ExpectThrottling(const AccountView& v, uint64_t ms, uint64_t throttles, uint64_t reconnects) {
  EXPECT_EQ(v.throttled_ms, ms);
  EXPECT_EQ(v.throttles, throttles);
  EXPECT_EQ(v.reconnects, reconnects);
}

// The throttling counters add up over an account's attempts (a retried failure, a lost
// lease counted up to its last progress, the success) and over the runs of a durable job
// (restored from the journal's row), rather than showing the last attempt's alone.
TEST(JobThrottleTest, CountersAreSummedOverAttemptsAndRuns) {
  RecordingJournal journal;
  JobOptions o = Opts(1, false, 0);
  o.journal = &journal;
  StoredAccount earlier;  // an earlier run of the job, interrupted
  earlier.index = 0;
  earlier.state = TaskState::kPending;
  earlier.totals.throttling = ThrottleTotals{500, 2, 1};
  o.restored = {earlier};
  Job job(o);
  FakeLink l1, l2;
  ASSERT_TRUE(job.Connect({"w1", "h", 1, 1, ""}, &l1).ok());
  ASSERT_TRUE(job.Connect({"w2", "h", 2, 1, ""}, &l2).ok());
  job.RequestTask("w1");
  ASSERT_EQ(l1.tasks.size(), 1u);
  ExpectThrottling(job.Snapshot().accounts[0], 500, 2, 1);

  // Attempt 1: progress, then a retriable failure whose counters supersede the progress'.
  job.Progress("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, Throttled(300, 3, 1));
  ExpectThrottling(job.Snapshot().accounts[0], 800, 5, 2);
  engine::AccountResult unavailable;
  unavailable.status = absl::UnavailableError("throttled");
  unavailable.throttled_ms = 400;
  unavailable.throttles = 4;
  unavailable.reconnects = 1;
  job.Result("w1", l1.tasks[0].task_id, l1.tasks[0].epoch, unavailable, absl::ZeroDuration());
  ExpectThrottling(job.Snapshot().accounts[0], 900, 6, 2);
  EXPECT_EQ(journal.totals.back().throttling.throttles, 6u);

  // Attempt 2 (after the backoff) on w2: progress, then its lease runs out.
  fake_now += absl::Seconds(1);
  job.RequestTask("w2");
  ASSERT_EQ(l2.tasks.size(), 1u);
  EXPECT_EQ(l2.tasks[0].attempt, 2u);
  ExpectThrottling(job.Snapshot().accounts[0], 900, 6, 2);
  job.Progress("w2", l2.tasks[0].task_id, l2.tasks[0].epoch, Throttled(100, 1, 0));
  fake_now += absl::Seconds(11);
  job.Heartbeat("w1", 1, {});
  job.Tick();  // w2's lease expired: requeued
  ExpectThrottling(job.Snapshot().accounts[0], 1000, 7, 2);
  EXPECT_EQ(journal.totals.back().throttling.throttled_ms, 1000u);

  // Attempt 3 succeeds (after the backoff, and after the lease for which w2's connections
  // stay counted: w2 may still be running it).
  fake_now += absl::Seconds(11);
  job.Heartbeat("w1", 2, {});
  job.RequestTask("w1");
  job.Tick();
  ASSERT_EQ(l1.tasks.size(), 2u);
  EXPECT_EQ(l1.tasks[1].attempt, 3u);
  engine::AccountResult ok;
  ok.throttled_ms = 50;
  ok.throttles = 1;
  ok.reconnects = 1;
  job.Result("w1", l1.tasks[1].task_id, l1.tasks[1].epoch, ok, absl::ZeroDuration());
  ASSERT_TRUE(job.finished());
  JobSnapshot s = job.Snapshot();
  EXPECT_EQ(s.accounts[0].task.state, TaskState::kSucceeded);
  ExpectThrottling(s.accounts[0], 1050, 8, 3);
  ASSERT_TRUE(journal.records.back().second);
  const ThrottleTotals& t = journal.totals.back().throttling;
  EXPECT_EQ(t.throttled_ms, 1050u);
  EXPECT_EQ(t.throttles, 8u);
  EXPECT_EQ(t.reconnects, 3u);

  // A coordinator restarted on that state shows them for the account done earlier.
  StoredAccount done;
  done.index = 0;
  done.state = TaskState::kSucceeded;
  done.totals = journal.totals.back();
  JobOptions again = Opts(1, false, 0);
  again.restored = {done};
  Job resumed(again);
  ExpectThrottling(resumed.Snapshot().accounts[0], 1050, 8, 3);
}

}  // namespace
}  // namespace coordinator
