#include "coordinator/status/status_tracker.h"

#include "gtest/gtest.h"

namespace coordinator {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

WorkSample At(int secs, double messages, double bytes, double accounts) {
  return WorkSample{kT0 + absl::Seconds(secs), messages, bytes, accounts};
}

TEST(RateMeter, RatesOverTheRecentWindow) {
  RateMeter m(absl::Seconds(10));
  m.Add(At(0, 0, 0, 0));
  for (int s = 1; s <= 100; ++s) m.Add(At(s, s < 50 ? 1000.0 * s : 49000 + 10.0 * (s - 49), 0, 0));
  // Since second 50 the counter grows 10/s: the 10 s window sees only that.
  Rates r = m.At(At(100, 49000 + 10 * 51, 0, 0));
  EXPECT_NEAR(r.messages_per_second, 10.0, 0.01);
  EXPECT_EQ(r.window, absl::Seconds(10));
}

TEST(RateMeter, YoungJobAveragesSinceStartAndStalledJobDecays) {
  RateMeter m(absl::Seconds(30));
  m.Add(At(0, 0, 0, 0));
  m.Add(At(2, 200, 2000, 1));
  Rates young = m.At(At(4, 400, 4000, 2));
  EXPECT_NEAR(young.messages_per_second, 100, 1e-9);
  EXPECT_NEAR(young.bytes_per_second, 1000, 1e-9);
  EXPECT_NEAR(young.accounts_per_minute, 30, 1e-9);
  // Nothing new for a long time: the window holds no progress.
  m.Add(At(5, 500, 5000, 3));
  Rates stalled = m.At(At(100, 500, 5000, 3));
  EXPECT_EQ(stalled.messages_per_second, 0);
  // A restarted account re-counting from zero never gives a negative rate.
  RateMeter short_window(absl::Seconds(1));
  short_window.Add(At(0, 0, 0, 0));
  short_window.Add(At(5, 500, 5000, 3));
  Rates back = short_window.At(At(6, 100, 5000, 3));
  EXPECT_EQ(back.messages_per_second, 0);
}

AccountView Account(TaskState state, uint64_t done, uint64_t total, uint64_t folders_total) {
  AccountView a;
  a.task.state = state;
  a.messages = done;
  a.bytes = done * 100;
  a.progress.messages_total = total;
  a.progress.bytes_total = total * 100;
  a.progress.folders_total = folders_total;
  return a;
}

TEST(Aggregate, TotalsAndMessageEtaWhenKnown) {
  JobSnapshot s;
  s.started = kT0;
  s.now = kT0 + absl::Seconds(10);
  s.accounts = {Account(TaskState::kSucceeded, 50, 80, 2),
                Account(TaskState::kRunning, 20, 120, 3)};
  RateMeter m(absl::Seconds(30));
  m.Add(At(0, 0, 0, 0));
  AggregateStatus g = Aggregate(s, m, absl::InfinitePast());
  EXPECT_EQ(g.messages_done, 70u);
  EXPECT_EQ(g.messages_total, 170u);  // a finished account counts what it did
  EXPECT_EQ(g.bytes_total, 17000u);
  EXPECT_TRUE(g.totals_known);
  EXPECT_NEAR(g.rates.messages_per_second, 7, 1e-9);
  EXPECT_EQ(g.eta_basis, "messages");
  EXPECT_NEAR(absl::ToDoubleSeconds(g.eta), 100.0 / 7, 1e-6);
  EXPECT_EQ(g.elapsed, absl::Seconds(10));
}

TEST(Aggregate, AccountEtaWhileAccountsArePendingAndNoneWhenFinished) {
  JobSnapshot s;
  s.started = kT0;
  s.now = kT0 + absl::Seconds(60);
  s.accounts = {Account(TaskState::kSucceeded, 0, 0, 1), Account(TaskState::kFailed, 0, 0, 0),
                Account(TaskState::kPending, 0, 0, 0), Account(TaskState::kPending, 0, 0, 0)};
  RateMeter m(absl::Seconds(30));
  m.Add(At(0, 0, 0, 0));
  AggregateStatus g = Aggregate(s, m, absl::InfinitePast());
  EXPECT_FALSE(g.totals_known);
  EXPECT_EQ(g.eta_basis, "accounts");  // 2 accounts/min, 2 left
  EXPECT_NEAR(absl::ToDoubleSeconds(g.eta), 60, 1e-6);
  s.finished = true;
  AggregateStatus done = Aggregate(s, m, kT0 + absl::Seconds(42));
  EXPECT_EQ(done.eta, absl::ZeroDuration());
  EXPECT_EQ(done.elapsed, absl::Seconds(42));  // frozen at the finish
}

}  // namespace
}  // namespace coordinator
