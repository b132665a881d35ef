// Test helpers of the Job's tests: a WorkerLink that records what it is sent, and the
// options of a Job of N accounts on a fake clock (no ticker).
#ifndef MIGRATOR_COORDINATOR_CORE_JOB_TESTING_H_
#define MIGRATOR_COORDINATOR_CORE_JOB_TESTING_H_

#include <string>
#include <vector>

#include "coordinator/core/job.h"

namespace coordinator {

struct FakeLink : WorkerLink {
  std::vector<TaskOrder> tasks;
  std::vector<uint64_t> cancels;
  std::vector<uint64_t> cancel_epochs;
  std::vector<uint64_t> acks;
  int no_more = 0;
  void SendTask(const TaskOrder& o) override { tasks.push_back(o); }
  void SendCancel(uint64_t id, uint64_t epoch, const std::string&) override {
    cancels.push_back(id);
    cancel_epochs.push_back(epoch);
  }
  void SendHeartbeatAck(uint64_t seq) override { acks.push_back(seq); }
  void SendNoMoreTasks() override { ++no_more; }
  void SendShutdown(const std::string&) override {}
};

// A fake clock shared by the tests of one Job.
inline absl::Time fake_now = absl::FromUnixSeconds(1700000000);

inline JobOptions Opts(int accounts, bool fail_fast, int local) {
  JobOptions o;
  o.clock = [] { return fake_now; };
  o.run_ticker = false;
  o.lease_timeout = absl::Seconds(10);
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

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_CORE_JOB_TESTING_H_
