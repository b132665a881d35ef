// Pacer with an injected clock, sleeper and random source: the suggested wait honoured,
// backoff growth, cap and jitter, the connection count down and back up, the budget.
#include "common/engine/pacing.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/imap/reply_class.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace engine {
namespace {

using ::testing::HasSubstr;

// A clock that moves only when the pacer sleeps, and a random source the test sets.
struct Fake {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  absl::Duration slept = absl::ZeroDuration();
  double random = 0;

  Pacer Make(PacingOptions o, int connections) {
    return Pacer(
        o, connections, [this] { return now; },
        [this](absl::Duration d) {
          now += d;
          slept += d;
        },
        [this] { return random; });
  }
};

absl::Status Reply(imap::ReplyClass cls, absl::Duration suggested = absl::ZeroDuration(),
                   const std::string& text = "NO Request is throttled.") {
  imap::ReplyInfo info;
  info.cls = cls;
  info.suggested_wait = suggested;
  return imap::WithReply(absl::UnavailableError(text), info);
}

absl::Status Throttle(absl::Duration suggested = absl::ZeroDuration()) {
  return Reply(imap::ReplyClass::kThrottle, suggested);
}

// How long the account pauses now.
absl::Duration PauseOf(Fake& f, Pacer& p) {
  const absl::Duration before = f.slept;
  p.WaitResumed();
  return f.slept - before;
}

TEST(PacerTest, SuggestedWaitIsHonouredAndCappedByMaxWait) {
  Fake f;
  PacingOptions o;
  o.max_wait = absl::Seconds(10);
  Pacer p = f.Make(o, 4);
  auto d = p.OnFailure(Throttle(absl::Milliseconds(1500)), 3, 0);
  EXPECT_TRUE(d.retry);
  EXPECT_FALSE(d.counts_attempt);
  EXPECT_EQ(PauseOf(f, p), absl::Milliseconds(1500));
  EXPECT_EQ(p.counters().throttled_ms, 1500u);
  EXPECT_EQ(p.counters().throttles, 1u);
  // Exchange's 299609 ms is cut to max_wait.
  p.OnFailure(Throttle(absl::Milliseconds(299609)), 3, 0);
  EXPECT_EQ(PauseOf(f, p), absl::Seconds(10));
  EXPECT_EQ(p.counters().throttled_ms, 11500u);
}

TEST(PacerTest, ThrottlesDuringAPauseOverlapInsteadOfAddingUp) {
  Fake f;
  Pacer p = f.Make(PacingOptions(), 4);
  // Four connections throttled at once, each told 1.5 s: the account pauses 1.5 s, not 6.
  for (int i = 0; i < 4; ++i) p.OnFailure(Throttle(absl::Milliseconds(1500)), 3, 0);
  EXPECT_EQ(PauseOf(f, p), absl::Milliseconds(1500));
  EXPECT_EQ(p.counters().throttled_ms, 1500u);
  EXPECT_EQ(p.counters().throttles, 4u);
  EXPECT_EQ(p.allowed_connections(), 2);  // halved once, not four times
}

TEST(PacerTest, BackoffDoublesUpToMaxWaitAndStartsOverAfterASuccess) {
  Fake f;
  PacingOptions o;
  o.first_backoff = absl::Seconds(1);
  o.max_wait = absl::Seconds(5);
  o.jitter = 0;
  Pacer p = f.Make(o, 1);
  std::vector<absl::Duration> pauses;
  for (int i = 0; i < 5; ++i) {
    p.OnFailure(Throttle(), 0, 0);
    pauses.push_back(PauseOf(f, p));
  }
  EXPECT_EQ(pauses,
            (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                         absl::Seconds(5), absl::Seconds(5)}));
  p.OnSuccess();
  p.OnFailure(Throttle(), 0, 0);
  EXPECT_EQ(PauseOf(f, p), absl::Seconds(1));
}

TEST(PacerTest, JitterStaysWithinItsBounds) {
  for (double r : {0.0, 0.25, 0.999}) {
    Fake f;
    f.random = r;
    PacingOptions o;
    o.first_backoff = absl::Seconds(8);
    o.jitter = 0.5;
    Pacer p = f.Make(o, 1);
    p.OnFailure(Throttle(), 0, 0);
    const absl::Duration d = PauseOf(f, p);
    EXPECT_LE(d, absl::Seconds(8)) << r;
    EXPECT_GE(d, absl::Seconds(4)) << r;
    EXPECT_EQ(d, absl::Seconds(8) * (1 - 0.5 * r)) << r;
  }
}

TEST(PacerTest, ConnectionsGoDownToOneAndBackUpOneAtATimeWhenCalm) {
  Fake f;
  PacingOptions o;
  o.calm = absl::Seconds(30);
  Pacer p = f.Make(o, 8);
  EXPECT_EQ(p.allowed_connections(), 8);
  // A cap at the 8th login with 7 open: 7 allowed; then 4 open: 4.
  p.OnFailure(Reply(imap::ReplyClass::kConnectionCap), 7, 0);
  EXPECT_EQ(p.allowed_connections(), 7);
  p.WaitResumed();
  p.OnFailure(Reply(imap::ReplyClass::kConnectionCap), 4, 0);
  EXPECT_EQ(p.allowed_connections(), 4);
  p.WaitResumed();
  for (int i = 0; i < 5; ++i) {
    p.OnFailure(Throttle(absl::Seconds(1)), 4, 0);
    p.WaitResumed();
  }
  EXPECT_EQ(p.allowed_connections(), 1);  // halved, never below 1
  p.OnFailure(Reply(imap::ReplyClass::kConnectionCap), 0, 0);
  EXPECT_EQ(p.allowed_connections(), 1);
  // Calm: one more per 30 s.
  f.now += absl::Seconds(29);
  EXPECT_EQ(p.allowed_connections(), 1);
  f.now += absl::Seconds(1);
  EXPECT_EQ(p.allowed_connections(), 2);
  EXPECT_EQ(p.allowed_connections(), 2);
  f.now += absl::Seconds(30);
  EXPECT_EQ(p.allowed_connections(), 3);
  // A throttle halts the rise and halves again.
  p.OnFailure(Throttle(absl::Seconds(1)), 2, 0);
  EXPECT_EQ(p.allowed_connections(), 1);
  for (int i = 0; i < 20; ++i) {
    f.now += absl::Seconds(30);
    p.allowed_connections();
  }
  EXPECT_EQ(p.allowed_connections(), 8);  // never above the configured maximum
}

TEST(PacerTest, BudgetExhaustedFailsTheAccountNamingTheCause) {
  Fake f;
  PacingOptions o;
  o.budget = absl::Seconds(10);
  Pacer p = f.Make(o, 2);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.OnFailure(Throttle(absl::Seconds(3)), 1, 0).retry);
    p.WaitResumed();
  }
  auto d = p.OnFailure(Reply(imap::ReplyClass::kThrottle, absl::Seconds(3),
                             "NO Request is throttled. Suggested Backoff Time: 3000 milliseconds"),
                       1, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_TRUE(absl::IsUnavailable(d.status));
  EXPECT_THAT(std::string(d.status.message()), HasSubstr("throttle budget"));
  EXPECT_THAT(std::string(d.status.message()), HasSubstr("Suggested Backoff Time: 3000"));
  EXPECT_EQ(p.counters().throttled_ms, 9000u);
}

TEST(PacerTest, TemporaryFailuresCountAttemptsAndBackOffAfterTheFirst) {
  Fake f;
  PacingOptions o;
  o.jitter = 0;
  Pacer p = f.Make(o, 2);
  auto bye = Reply(imap::ReplyClass::kTemporary, absl::ZeroDuration(), "BYE Session expired");
  auto d1 = p.OnFailure(bye, 1, 1);
  EXPECT_TRUE(d1.retry);
  EXPECT_TRUE(d1.counts_attempt);
  EXPECT_EQ(d1.pause, absl::ZeroDuration());
  EXPECT_EQ(p.OnFailure(bye, 1, 2).pause, absl::Seconds(1));
  EXPECT_EQ(p.OnFailure(bye, 1, 3).pause, absl::Seconds(2));
  // A disconnect without a reply class is temporary too; neither is throttled time.
  EXPECT_TRUE(p.OnFailure(absl::UnavailableError("connection closed"), 1, 1).counts_attempt);
  EXPECT_EQ(p.counters().throttled_ms, 0u);
  EXPECT_EQ(p.counters().throttles, 0u);
  EXPECT_EQ(p.allowed_connections(), 2);
  // Not retriable at all: final as it is.
  auto final = p.OnFailure(absl::PermissionDeniedError("no"), 1, 1);
  EXPECT_FALSE(final.retry);
  EXPECT_TRUE(absl::IsPermissionDenied(final.status));
}

TEST(PacerTest, SlowDownPausesBrieflyAndCounts) {
  Fake f;
  PacingOptions o;
  o.slow_down = absl::Milliseconds(100);
  Pacer p = f.Make(o, 4);
  std::vector<PacingCounters> seen;
  p.SetListener([&](const PacingCounters& c) { seen.push_back(c); });
  p.OnSlowDown();
  p.OnSlowDown();
  p.OnReconnect();
  EXPECT_EQ(f.slept, absl::Milliseconds(200));
  EXPECT_EQ(p.counters().throttles, 2u);
  EXPECT_EQ(p.counters().throttled_ms, 200u);
  EXPECT_EQ(p.counters().reconnects, 1u);
  EXPECT_EQ(p.allowed_connections(), 4);  // a slow-down keeps the connections
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back().reconnects, 1u);
}

TEST(PacerTest, RepliesAreCountedByClassAndSlowDownsPause) {
  Fake f;
  PacingOptions o;
  o.slow_down = absl::Milliseconds(100);
  Pacer p = f.Make(o, 4);
  imap::ReplyInfo throttle, cap, refused, slow;
  throttle.cls = imap::ReplyClass::kThrottle;
  cap.cls = imap::ReplyClass::kConnectionCap;
  refused.cls = imap::ReplyClass::kMessageRefused;
  slow.slow_down = true;  // an OK [THROTTLED]: a pause, not an error
  for (const imap::ReplyInfo* r : {&throttle, &cap, &throttle, &refused, &slow}) p.OnReply(*r);
  EXPECT_EQ(p.counters().imap_errors,
            (std::map<std::string, uint64_t>{
                {"throttle", 2}, {"connection_cap", 1}, {"message_refused", 1}}));
  EXPECT_EQ(p.counters().throttles, 1u);  // the slow-down; the others count where handled
  EXPECT_EQ(f.slept, absl::Milliseconds(100));
}

TEST(PacerTest, WaitResumedStopsWhenCancelled) {
  Fake f;
  Pacer p = f.Make(PacingOptions(), 1);
  p.OnFailure(Throttle(absl::Seconds(100)), 0, 0);
  int checks = 0;
  p.WaitResumed([&] { return ++checks > 3; });
  EXPECT_LT(f.slept, absl::Seconds(1));
}

// A token bucket on a clock that moves only when it sleeps.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  TokenBucket Make(double rate) {
    return TokenBucket(
        rate, [this] { return now; }, [this](absl::Duration d) { now += d; });
  }
};

TEST(TokenBucketTest, OneSecondsBurstThenTheRate) {
  FakeClock f;
  TokenBucket b = f.Make(10);
  const absl::Time start = f.now;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.Acquire(), absl::ZeroDuration()) << i;  // the burst
  EXPECT_EQ(b.Acquire(), absl::Milliseconds(100));
  for (int i = 0; i < 89; ++i) b.Acquire();
  // 100 messages at 10/s: the 10 of the burst, then 90 at 100 ms each.
  EXPECT_EQ(f.now - start, absl::Seconds(9));
}

TEST(TokenBucketTest, IdleTimeRefillsUpToOneSecondsWorth) {
  FakeClock f;
  TokenBucket b = f.Make(4);
  for (int i = 0; i < 4; ++i) b.Acquire();
  f.now += absl::Minutes(10);  // idle: the bucket fills to 4, not to 2400
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.Acquire(), absl::ZeroDuration()) << i;
  EXPECT_EQ(b.Acquire(), absl::Milliseconds(250));
}

TEST(TokenBucketTest, FractionalRateHoldsOneToken) {
  FakeClock f;
  TokenBucket b = f.Make(0.5);
  EXPECT_EQ(b.Acquire(), absl::ZeroDuration());
  EXPECT_EQ(b.Acquire(), absl::Seconds(2));
  EXPECT_EQ(b.Acquire(), absl::Seconds(2));
}

TEST(TokenBucketTest, WaitersShareTheRate) {
  // Real threads on a clock only the test moves: four waiters queue for a token each (the
  // bucket goes into debt), due 1, 2, 3 and 4 s out, not all at 1 s.
  std::mutex mu;
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  std::atomic<int> sleeping{0};
  TokenBucket b(
      1,
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return now;
      },
      [&](absl::Duration) {
        thread_local bool counted = false;
        if (!counted) sleeping.fetch_add(1);
        counted = true;
        absl::SleepFor(absl::Milliseconds(1));
      });
  b.Acquire();  // the burst
  std::vector<absl::Duration> waits(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { waits[i] = b.Acquire(); });
  // Once all four wait, their turns are set: let the time pass.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (sleeping.load() < 4 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(sleeping.load(), 4);
  {
    std::lock_guard<std::mutex> l(mu);
    now += absl::Seconds(5);
  }
  for (auto& t : threads) t.join();
  std::sort(waits.begin(), waits.end());
  EXPECT_EQ(waits, (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2),
                                                absl::Seconds(3), absl::Seconds(4)}));
}

TEST(TokenBucketTest, CancelEndsTheWait) {
  FakeClock f;
  TokenBucket b = f.Make(0.001);
  b.Acquire();
  const absl::Time before = f.now;
  EXPECT_EQ(b.Acquire([] { return true; }), absl::Seconds(1000));  // the debt it took
  EXPECT_EQ(f.now, before);                                        // but it did not sleep
}

}  // namespace
}  // namespace engine
