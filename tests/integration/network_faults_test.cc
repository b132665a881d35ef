// Network faults under every mode, on real Dovecots: for each of a few seeds, export from A,
// import into B and validate --resync-missing each go through a fault proxy with the seed's
// schedule (connections cut, reset and half-closed at byte offsets, inside FETCH literals
// and after an APPEND's literal before its OK; a stall; a drip; a connection reset before
// its greeting). Each mode is run again until it ends ok, as an operator would; every
// failed run names the account. Then the export equals A, and B equals A folder by folder
// (bytes, flags, keywords, INTERNALDATE): nothing lost, nothing twice. fault_bench runs 50
// and more seeds and prints a table.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_schedule.h"

namespace {

class NetworkFaultsTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(NetworkFaultsTest, EveryModeEndsExactUnderTheSeedsFaults) {
  auto pair = testing_fixtures::DovecotPair::Start();
  ASSERT_TRUE(pair.ok()) << pair.status();
  ASSERT_TRUE(testing_fixtures::SeedFaultCorpus(*pair->a).ok());
  const testing_fixtures::SeedOutcome o =
      testing_fixtures::RunUnderFaults(GetParam(), *pair->a, *pair->b, pair->a->dir() + "/export");
  SCOPED_TRACE(absl::StrCat("seed ", o.seed, "; A: ", o.schedule_a, "; B: ", o.schedule_b,
                            "; errors: ", absl::StrJoin(o.errors, " | ")));
  int fired = 0;
  for (const auto& [kind, n] : o.fired) fired += n;
  EXPECT_GE(fired, 2);  // the schedule met the runs
  EXPECT_GT(o.export_runs, 0);
  EXPECT_GT(o.import_runs, 0);
  EXPECT_GT(o.validate_runs, 0);
  EXPECT_TRUE(o.errors_named);
  EXPECT_TRUE(o.export_exact);
  EXPECT_TRUE(o.target_exact);
  EXPECT_EQ(o.lost, 0);
  EXPECT_EQ(o.duplicated, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, NetworkFaultsTest, ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u));

}  // namespace
