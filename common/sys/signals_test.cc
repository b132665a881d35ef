#include "common/sys/signals.h"

#include <signal.h>
#include <unistd.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sys {
namespace {

// Its own test binary: the process gets real SIGTERM/SIGINT, and every thread of it must
// block them (this one is the only thread when the test starts).
TEST(SignalThreadTest, TakesEachStopSignalOnItsThreadUntilDestroyed) {
  SignalThread::BlockStopSignals();
  absl::Mutex mu;
  std::vector<int> seen;
  {
    SignalThread thread([&](int sig) {
      absl::MutexLock lock(&mu);
      seen.push_back(sig);
    });
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    {
      absl::MutexLock lock(&mu);
      ASSERT_TRUE(
          mu.AwaitWithTimeout(absl::Condition(
                                  +[](std::vector<int>* v) { return v->size() == 1; }, &seen),
                              absl::Seconds(10)));
    }
    ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](std::vector<int>* v) { return v->size() == 2; }, &seen),
                                    absl::Seconds(10)));
  }  // the destructor stops the thread
  EXPECT_EQ(seen, (std::vector<int>{SIGTERM, SIGINT}));
}

}  // namespace
}  // namespace sys
