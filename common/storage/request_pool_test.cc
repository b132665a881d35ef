#include "common/storage/request_pool.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace storage {
namespace {

// Tasks that hold until released, counting how many run at once.
struct Gate {
  absl::Mutex mu;
  bool open = false;
  int running = 0, most = 0, ran = 0;

  void Task() {
    absl::MutexLock lock(&mu);
    most = std::max(most, ++running);
    mu.Await(absl::Condition(&open));
    --running;
    ++ran;
  }
  void WaitRunning(int n) {
    absl::MutexLock lock(&mu);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return running >= n; };
    mu.Await(absl::Condition(&reached));
  }
  void Open() {
    absl::MutexLock lock(&mu);
    open = true;
  }
};

TEST(RequestPoolTest, RunsAtMostConcurrencyTasksAtOnce) {
  RequestPool pool(3, 1 << 20);
  Gate gate;
  TaskGroup group(pool);
  for (int i = 0; i < 10; ++i) {
    group.Run([&gate] {
      gate.Task();
      return absl::OkStatus();
    });
  }
  gate.WaitRunning(3);  // three run together: the round trips overlap
  gate.Open();
  EXPECT_TRUE(group.Wait().ok());
  EXPECT_EQ(gate.ran, 10);
  EXPECT_EQ(gate.most, 3);
}

TEST(RequestPoolTest, ALowerConcurrencyHoldsFromThenOn) {
  RequestPool pool(4, 1 << 20);
  pool.SetConcurrency(1);
  EXPECT_EQ(pool.concurrency(), 1);
  Gate gate;
  gate.Open();
  TaskGroup group(pool);
  for (int i = 0; i < 8; ++i) {
    group.Run([&gate] {
      gate.Task();
      return absl::OkStatus();
    });
  }
  EXPECT_TRUE(group.Wait().ok());
  EXPECT_EQ(gate.most, 1);
  pool.SetConcurrency(100000);
  EXPECT_EQ(pool.concurrency(), RequestPool::kMaxConcurrency);
}

TEST(RequestPoolTest, TaskGroupReturnsTheFirstErrorAfterAllRan) {
  RequestPool pool(2, 1 << 20);
  std::atomic<int> ran{0};
  TaskGroup group(pool);
  for (int i = 0; i < 6; ++i) {
    group.Run([&ran, i] {
      ++ran;
      return i == 2 ? absl::UnavailableError("503 SlowDown") : absl::OkStatus();
    });
  }
  absl::Status st = group.Wait();
  EXPECT_EQ(ran.load(), 6);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
}

TEST(RequestPoolTest, BytesAreBoundedButOneLargeItemPassesAlone) {
  RequestPool pool(2, 100);
  EXPECT_TRUE(pool.TryAcquireBytes(60));
  EXPECT_FALSE(pool.TryAcquireBytes(50));  // 110 > 100
  EXPECT_TRUE(pool.TryAcquireBytes(40));
  EXPECT_EQ(pool.held_bytes(), 100u);
  pool.ReleaseBytes(100);
  EXPECT_TRUE(pool.TryAcquireBytes(1000));  // alone: larger than the bound, let through
  EXPECT_FALSE(pool.TryAcquireBytes(1));
  // A waiter goes on once the bytes come back.
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    pool.AcquireBytes(10);
    acquired = true;
  });
  EXPECT_FALSE(acquired.load());
  pool.ReleaseBytes(1000);
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(pool.held_bytes(), 10u);
}

}  // namespace
}  // namespace storage
