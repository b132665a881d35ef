// --help of every executable lists every flag it registers (by the --helpfull listing),
// grouped, none under "other", and exits 0; a wrong flag is one line with the hint, exit 2.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

class HelpTest : public ::testing::TestWithParam<std::vector<std::string>> {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override {
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // Runs the program (GetParam(): binary name, then arguments before the flags) with
  // `extra`; returns the exit code, `*out` and `*err` its output.
  int Run(const std::vector<std::string>& extra, std::string* out, std::string* err) {
    std::vector<std::string> argv = {Binary(GetParam()[0])};
    argv.insert(argv.end(), GetParam().begin() + 1, GetParam().end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    Process p;
    int rc = RunProcess(argv, dir_, {}, "run" + std::to_string(++runs_), absl::Seconds(30), &p);
    *out = ReadFile(p.stdout_path);
    *err = ReadFile(p.stderr_path);
    return rc;
  }
  std::string dir_;
  int runs_ = 0;
};

TEST_P(HelpTest, HelpListsEveryRegisteredFlagInAGroup) {
  std::string help, full, err;
  ASSERT_EQ(Run({"--help"}, &help, &err), 0) << err;
  ASSERT_EQ(Run({"--helpfull"}, &full, &err), 0) << err;
  EXPECT_TRUE(absl::StartsWith(help, "usage: " + GetParam()[0])) << help;
  EXPECT_TRUE(absl::StrContains(help, "exit codes:")) << help;
  EXPECT_FALSE(absl::StrContains(help, "\nother:")) << "a flag without a group:\n" << help;
  size_t ours = 0;
  for (absl::string_view line : absl::StrSplit(full, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 3u) << line;
    if (absl::StrContains(f[2], "absl/")) continue;  // Abseil's own (--flagfile ...)
    ++ours;
    // "  --name" at the start of an entry, followed by a blank or the line's end.
    EXPECT_TRUE(absl::StrContains(help, "--" + f[0].substr(2) + " ") ||
                absl::StrContains(help, "--" + f[0].substr(2) + "\n"))
        << f[0] << " missing from --help:\n"
        << help;
    if (!f[1].empty() && f[1] != "false") {
      EXPECT_TRUE(absl::StrContains(help, "default")) << f[0];
    }
  }
  EXPECT_GE(ours, 5u) << full;
  for (absl::string_view group : {"\nfleet:\n", "\nsecurity:\n", "\noutput:\n"}) {
    EXPECT_TRUE(absl::StrContains(help, group)) << group << help;
  }
}

TEST_P(HelpTest, WrongFlagIsOneLineWithTheHint) {
  std::string out, err;
  EXPECT_EQ(Run({"--no-such-flag"}, &out, &err), 2);
  EXPECT_EQ(err,
            GetParam()[0] + ": unknown flag '--no-such-flag' (see " + GetParam()[0] + " --help)\n");
  EXPECT_EQ(out, "");
}

INSTANTIATE_TEST_SUITE_P(Binaries, HelpTest,
                         ::testing::Values(std::vector<std::string>{"coordinator"},
                                           std::vector<std::string>{"worker"},
                                           std::vector<std::string>{"migratectl", "status"}),
                         [](const auto& info) { return info.param[0]; });

TEST(CoordinatorHelpTest, JobGroupAndShortVerbose) {
  std::string dir = MakeTempDir();
  Process p;
  ASSERT_EQ(RunProcess({Binary("coordinator"), "--help"}, dir, {}, "help", absl::Seconds(30), &p),
            0);
  std::string help = ReadFile(p.stdout_path);
  EXPECT_TRUE(absl::StrContains(help, "\njob:\n")) << help;
  EXPECT_TRUE(absl::StrContains(help, "-v, --verbose")) << help;
  EXPECT_TRUE(absl::StrContains(help, "--progress-interval DURATION")) << help;
  EXPECT_TRUE(absl::StrContains(help, "(default 10s)")) << help;
  // A bad value: one line too.
  ASSERT_EQ(RunProcess({Binary("coordinator"), "--mode", "export", "--max-workers", "x"}, dir, {},
                       "bad", absl::Seconds(30), &p),
            2);
  std::string err = ReadFile(p.stderr_path);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_TRUE(absl::EndsWith(err, "(see coordinator --help)\n")) << err;
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace fleettest
