// WorkerSession with time driven by hand: slots, heartbeat cadence, fencing
// after missed acks, acks, cancel by epoch, the end of work. Accounts are held
// until cancelled (no engine, no network).
#include "worker/session.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "worker/testing/account_runners.h"

namespace worker {
namespace {

using Leases = std::vector<fleetproto::Lease>;

// Records what the session sends.
class Recorder : public SessionOutput {
 public:
  struct SentHeartbeat {
    uint64_t seq;
    Leases leases;
  };
  struct SentResult {
    fleetproto::Lease task;
    absl::StatusCode code;
  };

  void RequestTask() override {
    absl::MutexLock lock(&mu_);
    ++requests_;
  }
  void Heartbeat(uint64_t seq, const Leases& leases) override {
    absl::MutexLock lock(&mu_);
    heartbeats_.push_back({seq, leases});
  }
  void Progress(const TaskSpec&, const engine::Progress&) override {}
  void Result(const TaskSpec& spec, const engine::AccountResult& result, absl::Duration) override {
    absl::MutexLock lock(&mu_);
    results_.push_back({{spec.task_id, spec.epoch}, result.status.code()});
  }
  void CloseWrites() override {
    absl::MutexLock lock(&mu_);
    ++closes_;
  }

  int requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<SentHeartbeat> heartbeats() {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }
  std::vector<SentResult> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  int closes() {
    absl::MutexLock lock(&mu_);
    return closes_;
  }

 private:
  absl::Mutex mu_;
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<SentHeartbeat> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<SentResult> results_ ABSL_GUARDED_BY(mu_);
  int closes_ ABSL_GUARDED_BY(mu_) = 0;
};

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Duration kWait = absl::Seconds(30);

absl::Time At(int seconds) { return kT0 + absl::Seconds(seconds); }

TaskSpec Spec(uint64_t id, uint64_t epoch) {
  TaskSpec s;
  s.task_id = id;
  s.epoch = epoch;
  s.task.account.email = "u@x";
  return s;
}

SessionOptions Options(int slots) {
  SessionOptions o;
  o.max_parallel = slots;
  o.runner = TaskRunnerOptions(testing::HoldUntilCancelled);
  return o;
}

// A lease of 10 s with the coordinator's five heartbeats per lease (every 2 s):
// the worker fences itself 10 - 2 * 2 = 6 s after the send time of its last
// acknowledged heartbeat.
class SessionTest : public ::testing::Test {
 protected:
  void StartWithTask() {
    session_.Start(absl::Seconds(2), absl::Seconds(10), kT0);
    session_.OnTask(Spec(7, 3), absl::OkStatus());
    ASSERT_EQ(session_.running(), 1);
  }

  // The one result sent so far.
  Recorder::SentResult OnlyResult() {
    auto results = out_.results();
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? Recorder::SentResult{} : results[0];
  }

  Recorder out_;
  WorkerSession session_{Options(2), &out_};
};

TEST_F(SessionTest, StartAsksForOneTaskPerSlot) {
  Recorder out;
  WorkerSession session(Options(3), &out);
  EXPECT_EQ(out.requests(), 0);
  session.Start(absl::Seconds(2), absl::Seconds(10), kT0);
  EXPECT_EQ(out.requests(), 3);
  EXPECT_TRUE(out.heartbeats().empty());
}

TEST_F(SessionTest, HeartbeatsEveryIntervalNamingWhatRuns) {
  session_.Start(absl::Seconds(2), absl::Seconds(10), kT0);
  EXPECT_EQ(session_.heartbeat_interval(), absl::Seconds(2));
  EXPECT_EQ(session_.NextHeartbeat(), At(2));
  session_.Tick(At(1));  // not due
  EXPECT_TRUE(out_.heartbeats().empty());
  session_.Tick(At(2));
  session_.OnTask(Spec(7, 3), absl::OkStatus());
  session_.Tick(At(3));  // not due
  EXPECT_EQ(session_.NextHeartbeat(), At(4));
  session_.Tick(At(4));
  auto hb = out_.heartbeats();
  ASSERT_EQ(hb.size(), 2u);
  EXPECT_EQ(hb[0].seq, 1u);
  EXPECT_TRUE(hb[0].leases.empty());
  EXPECT_EQ(hb[1].seq, 2u);
  EXPECT_EQ(hb[1].leases, (Leases{{7, 3}}));
  EXPECT_EQ(session_.NextHeartbeat(), At(6));
}

TEST_F(SessionTest, NoHeartbeatIntervalKeepsTheDefault) {
  session_.Start(absl::ZeroDuration(), absl::Seconds(10), kT0);
  EXPECT_EQ(session_.heartbeat_interval(), absl::Seconds(5));
  EXPECT_EQ(session_.NextHeartbeat(), At(5));
}

TEST_F(SessionTest, FencesItselfWhenNoHeartbeatIsAcknowledged) {
  StartWithTask();
  session_.Tick(At(2));
  session_.Tick(At(4));
  EXPECT_FALSE(session_.fenced());
  EXPECT_EQ(session_.running(), 1);
  session_.Tick(At(6));  // 6 s without an ack: lease - 2 intervals
  EXPECT_TRUE(session_.fenced());
  ASSERT_TRUE(session_.WaitIdle(kWait));
  EXPECT_EQ(OnlyResult().task, (fleetproto::Lease{7, 3}));
  EXPECT_EQ(OnlyResult().code, absl::StatusCode::kCancelled);
  EXPECT_EQ(out_.requests(), 3);  // 2 slots at the start, then the freed one
  EXPECT_EQ(out_.closes(), 0);
}

TEST_F(SessionTest, AnAckRenewsFromTheSendTimeOfItsHeartbeat) {
  StartWithTask();
  session_.Tick(At(2));
  session_.Tick(At(4));
  session_.OnHeartbeatAck(2);   // sent at 4 s
  session_.OnHeartbeatAck(99);  // never sent: ignored
  session_.Tick(At(6));
  session_.Tick(At(8));
  EXPECT_FALSE(session_.fenced());
  session_.OnHeartbeatAck(1);  // older than the last ack: changes nothing
  session_.Tick(At(10));       // 6 s after 4 s
  EXPECT_TRUE(session_.fenced());
  ASSERT_TRUE(session_.WaitIdle(kWait));
}

TEST_F(SessionTest, AnAckAfterFencingLiftsTheFence) {
  StartWithTask();
  for (int t = 2; t <= 6; t += 2) session_.Tick(At(t));
  ASSERT_TRUE(session_.fenced());
  ASSERT_TRUE(session_.WaitIdle(kWait));
  session_.OnHeartbeatAck(3);  // sent at 6 s
  EXPECT_FALSE(session_.fenced());
  session_.OnTask(Spec(8, 1), absl::OkStatus());
  session_.Tick(At(8));
  session_.Tick(At(10));
  EXPECT_EQ(session_.running(), 1);
  session_.Tick(At(12));
  EXPECT_TRUE(session_.fenced());
  ASSERT_TRUE(session_.WaitIdle(kWait));
}

TEST_F(SessionTest, NothingToFenceWithoutTasksOrWithoutALease) {
  session_.Start(absl::Seconds(2), absl::Seconds(10), kT0);
  for (int t = 2; t <= 20; t += 2) session_.Tick(At(t));
  EXPECT_FALSE(session_.fenced());

  Recorder out;
  WorkerSession no_lease(Options(1), &out);
  no_lease.Start(absl::Seconds(2), absl::ZeroDuration(), kT0);
  no_lease.OnTask(Spec(7, 1), absl::OkStatus());
  for (int t = 2; t <= 20; t += 2) no_lease.Tick(At(t));
  EXPECT_FALSE(no_lease.fenced());
  EXPECT_EQ(no_lease.running(), 1);
}

TEST_F(SessionTest, CancelStopsOnlyThatEpoch) {
  StartWithTask();
  session_.OnCancel({7, 2, "an older assignment"});
  session_.OnCancel({8, 3, "another task"});
  EXPECT_FALSE(session_.WaitIdle(absl::Milliseconds(50)));
  session_.OnCancel({7, 3, "stale"});
  ASSERT_TRUE(session_.WaitIdle(kWait));
  EXPECT_EQ(OnlyResult().task, (fleetproto::Lease{7, 3}));
  EXPECT_EQ(OnlyResult().code, absl::StatusCode::kCancelled);
  EXPECT_EQ(out_.requests(), 3);
}

TEST_F(SessionTest, AnInvalidTaskFailsAtOnceAndFreesItsSlot) {
  session_.Start(absl::Seconds(2), absl::Seconds(10), kT0);
  session_.OnTask(Spec(5, 1), absl::InvalidArgumentError("no mode"));
  EXPECT_EQ(session_.running(), 0);
  EXPECT_EQ(OnlyResult().code, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out_.requests(), 3);
}

TEST_F(SessionTest, TheSameEpochTwiceIsRefused) {
  StartWithTask();
  session_.OnTask(Spec(7, 3), absl::OkStatus());
  EXPECT_EQ(OnlyResult().code, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(session_.running(), 1);
}

TEST_F(SessionTest, NoMoreTasksClosesOnceTheLastTaskHasReported) {
  StartWithTask();
  session_.OnNoMoreTasks();
  session_.OnNoMoreTasks();  // repeated: nothing new
  EXPECT_EQ(out_.closes(), 0);
  EXPECT_EQ(session_.running(), 1);
  session_.OnCancel({7, 3, "done"});
  ASSERT_TRUE(session_.WaitIdle(kWait));
  EXPECT_EQ(out_.closes(), 1);
  EXPECT_EQ(out_.requests(), 2);  // no new request after the end of work
}

TEST_F(SessionTest, NoMoreTasksWhileIdleClosesAtOnce) {
  session_.Start(absl::Seconds(2), absl::Seconds(10), kT0);
  session_.OnNoMoreTasks();
  EXPECT_EQ(out_.closes(), 1);
  session_.OnShutdown("the job has finished");
  EXPECT_EQ(out_.closes(), 1);  // closed once
}

TEST_F(SessionTest, ShutdownStopsEveryTaskAndCloses) {
  StartWithTask();
  session_.OnTask(Spec(8, 1), absl::OkStatus());
  session_.OnShutdown("interrupted");
  ASSERT_TRUE(session_.WaitIdle(kWait));
  EXPECT_EQ(out_.results().size(), 2u);
  EXPECT_EQ(out_.closes(), 1);
  EXPECT_EQ(out_.requests(), 2);
}

TEST_F(SessionTest, StopCancelsEveryTaskRefusesNewOnesAndCloses) {
  StartWithTask();
  session_.OnTask(Spec(8, 1), absl::OkStatus());
  session_.OnStop("Terminated");
  session_.OnTask(Spec(9, 1), absl::OkStatus());  // handed out before the coordinator knew
  ASSERT_TRUE(session_.WaitIdle(kWait));
  ASSERT_EQ(out_.results().size(), 3u);
  for (const auto& r : out_.results()) EXPECT_EQ(r.code, absl::StatusCode::kCancelled);
  EXPECT_EQ(out_.closes(), 1);
  EXPECT_EQ(out_.requests(), 2);  // the start's only: no new task asked for
}

TEST_F(SessionTest, ABrokenStreamStopsEveryTask) {
  StartWithTask();
  session_.OnTask(Spec(8, 1), absl::OkStatus());
  session_.OnStreamBroken();
  ASSERT_TRUE(session_.WaitIdle(kWait));
  for (const auto& r : out_.results()) EXPECT_EQ(r.code, absl::StatusCode::kCancelled);
  EXPECT_EQ(out_.results().size(), 2u);
}

TEST_F(SessionTest, TheDestructorStopsAndReportsRunningTasks) {
  Recorder out;
  {
    WorkerSession session(Options(1), &out);
    session.Start(absl::Seconds(2), absl::Seconds(10), kT0);
    session.OnTask(Spec(7, 1), absl::OkStatus());
  }
  EXPECT_EQ(out.results().size(), 1u);
}

}  // namespace
}  // namespace worker
