#include "proto/status_convert.h"

#include "gtest/gtest.h"

namespace fleetproto {
namespace {

using coordinator::AccountView;
using coordinator::AggregateStatus;
using coordinator::JobSnapshot;
using coordinator::TaskState;
using coordinator::WorkerView;

JobSnapshot Sample() {
  JobSnapshot s;
  s.job_id = "export-1";
  s.mode = engine::Mode::kExport;
  s.now = absl::FromUnixSeconds(100);
  AccountView a;
  a.task.email = "a@example.com";
  a.task.state = TaskState::kRunning;
  a.task.worker_id = "w1";
  a.task.attempts = 2;
  a.task.last_error = "UNAVAILABLE: reset";
  a.progress.folder = "INBOX";
  a.progress.messages_total = 5;  // less than done: the total is at least what was done
  a.messages = 7;
  a.bytes = 700;
  a.elapsed = absl::Milliseconds(1500);
  engine::FolderResult f;
  f.name = "INBOX";
  f.transferred = 7;
  f.missing = 1;
  a.folders.push_back(f);
  AccountView b;
  b.task.email = "b@example.com";
  b.task.state = TaskState::kSucceeded;
  s.accounts = {a, b};
  WorkerView w;
  w.hello.worker_id = "w1";
  w.hello.max_parallel = 4;
  w.connected = true;
  w.connected_at = absl::FromUnixSeconds(90);
  w.last_seen = absl::FromUnixSeconds(99);
  s.workers.push_back(w);
  return s;
}

TEST(StatusConvertTest, JobStatus) {
  AggregateStatus g;
  g.messages_done = 7;
  g.messages_total = 12;
  g.eta = absl::Seconds(3);
  g.eta_basis = "messages";
  g.elapsed = absl::Seconds(10);
  pb::GetStatusResponse out;
  ToProto(Sample(), g, &out);
  EXPECT_EQ(out.job_id(), "export-1");
  EXPECT_EQ(out.mode(), pb::JOB_MODE_EXPORT);
  EXPECT_EQ(out.accounts_total(), 2u);
  EXPECT_EQ(out.accounts_running(), 1u);
  EXPECT_EQ(out.accounts_succeeded(), 1u);
  EXPECT_EQ(out.messages(), 7u);
  EXPECT_EQ(out.messages_total(), 12u);
  EXPECT_EQ(out.eta_ms(), 3000u);
  EXPECT_EQ(out.eta_basis(), "messages");
  EXPECT_EQ(out.elapsed_ms(), 10000u);
  ASSERT_EQ(out.workers_size(), 1);
  EXPECT_EQ(out.workers(0).connected_ms_ago(), 10000u);
  EXPECT_EQ(out.workers(0).last_seen_ms_ago(), 1000u);
  EXPECT_EQ(out.workers_connected(), 1u);
}

TEST(StatusConvertTest, Account) {
  pb::AccountStatus out;
  ToProto(Sample().accounts[0], &out);
  EXPECT_EQ(out.email(), "a@example.com");
  EXPECT_EQ(out.state(), pb::ACCOUNT_STATE_RUNNING);
  EXPECT_EQ(out.attempts(), 2u);
  EXPECT_EQ(out.last_error(), "UNAVAILABLE: reset");
  EXPECT_EQ(out.current_folder(), "INBOX");
  EXPECT_EQ(out.elapsed_ms(), 1500u);
  EXPECT_EQ(out.counters().messages_done(), 7u);
  EXPECT_EQ(out.counters().messages_total(), 7u);
  ASSERT_EQ(out.folders_size(), 1);
  EXPECT_EQ(out.folders(0).missing(), 1u);
  EXPECT_EQ(ToProto(TaskState::kCancelled), pb::ACCOUNT_STATE_CANCELLED);
}

TEST(StatusConvertTest, ParkedAccountAndConnections) {
  JobSnapshot s = Sample();
  AccountView p;
  p.task.email = "p@example.com";
  p.task.state = TaskState::kPending;
  p.task.parked_until = absl::FromUnixSeconds(160);
  p.task.budget_bytes = 1000;
  p.task.budget_spent = 990;
  s.accounts.push_back(p);
  s.accounts[0].task.connections = 3;
  pb::GetStatusResponse out;
  ToProto(s, AggregateStatus(), &out);
  EXPECT_EQ(out.accounts_parked(), 1u);
  EXPECT_EQ(out.accounts_pending(), 1u);
  pb::AccountStatus parked;
  ToProto(s.accounts[2], &parked);
  EXPECT_EQ(parked.parked_until_ms(), 160000);
  EXPECT_EQ(parked.budget_bytes(), 1000u);
  EXPECT_EQ(parked.budget_spent(), 990u);
  pb::AccountStatus running;
  ToProto(s.accounts[0], &running);
  EXPECT_EQ(running.parked_until_ms(), 0);
  EXPECT_EQ(running.connections(), 3);
  s.now = absl::FromUnixSeconds(160);  // its window reopened
  ToProto(s, AggregateStatus(), &out);
  EXPECT_EQ(out.accounts_parked(), 0u);
}

}  // namespace
}  // namespace fleetproto
