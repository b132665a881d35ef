// The progress rules of net::ProgressWatch on a simulated clock: a healthy slow transfer is
// never cut, a stall inside a response or a drip is cut after one window of waiting, time
// not spent waiting does not count, and a command's deadline grows with its bytes.
#include "common/net/progress.h"

#include <chrono>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProgressLimits Defaults() { return ProgressLimits{}; }  // 120 s, 1024 bytes/s

// Waits as a transport would: at most `step`, less when the watch allows less; false once a
// rule is broken.
bool Wait(ProgressWatch& w, ProgressWatch::Duration step, bool writing = false) {
  ProgressWatch::Duration d = std::min(step, w.Allowance(writing));
  if (d < ProgressWatch::Duration(0)) d = ProgressWatch::Duration(0);
  w.Waited(d, writing);
  return w.Check(writing, "read from x:1").ok();
}

TEST(ProgressWatchTest, WindowIsAQuarterOfTheIoTimeout) {
  EXPECT_EQ(ProgressWatch(Defaults()).window(), seconds(30));
  EXPECT_EQ(ProgressWatch(ProgressLimits{seconds(12), 1024}).window(), seconds(3));
}

TEST(ProgressWatchTest, AHealthySlowLinkInsideAResponseIsNeverCut) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(true);
  w.SetOwed(20'000'000);
  // 1 Mbit/s in 16 KB reads: 128 ms of waiting per read, for 20 MB (160 s).
  for (uint64_t done = 0; done < 20'000'000; done += 16384) {
    ASSERT_TRUE(Wait(w, milliseconds(128))) << done;
    w.Moved(16384);
  }
  // Just above min_rate too: 1100 bytes a second for five windows.
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(Wait(w, seconds(1))) << i;
    w.Moved(1100);
  }
}

TEST(ProgressWatchTest, AStallInsideAResponseIsCutAfterOneWindow) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(true);
  w.SetOwed(2'000'000);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Wait(w, milliseconds(10)));
    w.Moved(16384);
  }
  // The next wait may last one window (the last second moved far more than needed, so the
  // window starts at its end), then the rule is broken.
  const ProgressWatch::Duration allowed = w.Allowance(false);
  EXPECT_LE(allowed, seconds(30));
  EXPECT_GT(allowed, seconds(29));
  EXPECT_FALSE(Wait(w, seconds(120)));
  const absl::Status st = w.Check(false, "read from x:1");
  EXPECT_TRUE(absl::IsDeadlineExceeded(st));
  EXPECT_TRUE(absl::StrContains(st.message(), "below min_rate 1024 bytes/s")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "read from x:1")) << st;
}

TEST(ProgressWatchTest, ADripIsCutInOneWindow) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(true);
  ProgressWatch::Duration waited(0);
  int bytes = 0;
  // One byte every 2 s.
  while (Wait(w, seconds(2))) {
    waited += seconds(2);
    w.Moved(1);
    ++bytes;
    ASSERT_LT(bytes, 100);
  }
  EXPECT_LE(waited, seconds(30));
  EXPECT_GE(waited, seconds(28));
  EXPECT_TRUE(absl::StrContains(w.Check(false, "r").message(), "bytes in the last 30s"));
}

TEST(ProgressWatchTest, BetweenResponsesOnlyTheCommandDeadlineApplies) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(false);
  // A server thinking about a SELECT for 100 s: no rate rule.
  ASSERT_TRUE(Wait(w, seconds(100)));
  // ... but the command may not wait past io_timeout with nothing to move.
  EXPECT_FALSE(Wait(w, seconds(100)));
  const absl::Status st = w.Check(false, "read from x:1");
  EXPECT_TRUE(absl::StrContains(st.message(), "the command's deadline passed")) << st;
}

TEST(ProgressWatchTest, TheCommandDeadlineGrowsWithTheAnnouncedBytes) {
  ProgressWatch w(ProgressLimits{seconds(120), 1000});
  w.BeginCommand();
  EXPECT_EQ(w.Allowance(false), seconds(120));
  w.SetOwed(10'000);  // a 10 kB literal announced
  EXPECT_EQ(w.Allowance(false), seconds(130));
  w.Moved(4'000);  // moving it does not change the total
  EXPECT_EQ(w.Allowance(false), seconds(130));
  w.EndCommands();
  EXPECT_EQ(w.Allowance(false), ProgressWatch::Duration::max());
  w.BeginCommand();  // the next command starts afresh
  EXPECT_EQ(w.Allowance(false), seconds(120));
}

TEST(ProgressWatchTest, KeepaliveLinesDoNotHoldACommandForever) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  ProgressWatch::Duration waited(0);
  // "* OK still here" every 10 s, complete responses: the rate rule is not armed between.
  while (Wait(w, seconds(10))) {
    waited += seconds(10);
    w.Moved(17);
    ASSERT_LT(waited, seconds(600));
  }
  EXPECT_GE(waited, seconds(120));
  EXPECT_LE(waited, seconds(121));
}

TEST(ProgressWatchTest, TimeNotSpentWaitingDoesNotCount) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(true);
  // Data is always there when we read (our disk is slow, not the server): no waiting at
  // all, however long the wall time.
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(Wait(w, ProgressWatch::Duration(0)));
    w.Moved(1);
  }
}

TEST(ProgressWatchTest, WritesAreAlwaysUnderTheRateRule) {
  ProgressWatch w(Defaults());
  w.BeginCommand();
  w.SetMidResponse(false);
  // A peer that stops reading our upload: cut after one window.
  ProgressWatch::Duration waited(0);
  while (Wait(w, seconds(1), /*writing=*/true)) waited += seconds(1);
  EXPECT_LE(waited, seconds(30));
  EXPECT_GE(waited, seconds(29));
}

TEST(ProgressWatchTest, MinRateZeroTurnsTheRulesOff) {
  ProgressWatch w(ProgressLimits{seconds(120), 0});
  w.BeginCommand();
  w.SetMidResponse(true);
  EXPECT_EQ(w.Allowance(false), ProgressWatch::Duration::max());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Wait(w, seconds(2)));
}

}  // namespace
}  // namespace net
