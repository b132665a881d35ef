// The byte budget of one run: messages take their size until one does not fit, then
// nothing does; a message larger than the whole budget goes alone in an untouched window;
// bytes given back; the stop status is recognised after annotation.
#include "common/engine/budget.h"

#include "common/status/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace engine {
namespace {

using ::testing::HasSubstr;

const absl::Time kResume = absl::FromUnixSeconds(1'800'000'000);

TEST(ByteBudgetTest, StopsAtTheFirstMessageThatDoesNotFitAndStaysStopped) {
  ByteBudget b(1000, 300, kResume);  // 700 left in this window
  EXPECT_TRUE(b.Take(400));
  EXPECT_TRUE(b.Take(300));  // exactly full
  EXPECT_FALSE(b.stopped());
  EXPECT_FALSE(b.Take(1));
  EXPECT_TRUE(b.stopped());
  EXPECT_FALSE(b.Take(0));  // stopped: a clean point, nothing more moves
  EXPECT_EQ(b.used(), 700u);
}

TEST(ByteBudgetTest, ASmallerLaterMessageDoesNotSlipPastAStop) {
  ByteBudget b(1000, 0, kResume);
  EXPECT_TRUE(b.Take(900));
  EXPECT_FALSE(b.Take(200));
  EXPECT_FALSE(b.Take(50));  // would fit, but the run is stopping
  EXPECT_EQ(b.used(), 900u);
}

TEST(ByteBudgetTest, AMessageLargerThanTheBudgetGoesAloneInAnUntouchedWindow) {
  ByteBudget fresh(100, 0, kResume);
  EXPECT_TRUE(fresh.Take(500));
  EXPECT_FALSE(fresh.Take(1));
  ByteBudget touched(100, 1, kResume);  // an earlier run spent something
  EXPECT_FALSE(touched.Take(500));
}

TEST(ByteBudgetTest, BytesOfAMessageThatDidNotMoveWholeAreGivenBack) {
  ByteBudget b(1000, 0, kResume);
  EXPECT_TRUE(b.Take(600));
  b.Return(600);  // the connection broke mid-message
  EXPECT_TRUE(b.Take(600));
  EXPECT_TRUE(b.Take(400));
  EXPECT_EQ(b.used(), 1000u);
}

TEST(ByteBudgetTest, UnlimitedCountsAndNeverStops) {
  ByteBudget b(0, 0, absl::InfinitePast());
  EXPECT_FALSE(b.limited());
  EXPECT_TRUE(b.Take(uint64_t{1} << 40));
  EXPECT_FALSE(b.stopped());
  EXPECT_EQ(b.used(), uint64_t{1} << 40);
}

TEST(ByteBudgetTest, SpentStatusNamesTheFiguresAndTheResumeTime) {
  ByteBudget b(1000, 250, kResume);
  b.Take(700);
  b.Take(100);
  absl::Status st = b.SpentStatus();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "byte budget spent (950 of 1000 bytes in this window); resumes at "
            "2027-01-15T08:00:00Z");
  EXPECT_TRUE(IsBudgetStop(st));
  EXPECT_TRUE(IsBudgetStop(status::Annotate(st, "IMAP 127.0.0.1:143")));
  EXPECT_FALSE(IsBudgetStop(absl::ResourceExhaustedError("[OVERQUOTA] full")));
  EXPECT_FALSE(IsBudgetStop(absl::OkStatus()));
  EXPECT_THAT(std::string(status::Annotate(st, "account a@x").message()),
              HasSubstr("account a@x: byte budget spent"));
}

}  // namespace
}  // namespace engine
