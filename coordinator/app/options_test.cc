// ParseOptions: the account selection (--only, --accounts-file), --fix-messages and the
// retry command line the summary prints. One parse per process (the flags are global).
#include "coordinator/app/options.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace coordinator {
namespace {

TEST(OptionsTest, OnlyAndAccountsFileSelectAndAreLeftOutOfTheRetryCommand) {
  const std::string file =
      ::testing::TempDir() + "/options_test_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream out(file);
    out << "# failed last night\n  c@x  \n\nd@x # quota\n";
  }
  std::vector<std::string> args = {"coordinator",
                                   "--mode",
                                   "import",
                                   "--only",
                                   "a@x, b@x",
                                   "--fresh",
                                   "--accounts-file=" + file,
                                   "--fix-messages",
                                   "--max-workers",
                                   "2"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  absl::StatusOr<Options> o = ParseOptions(static_cast<int>(argv.size()), argv.data());
  ::unlink(file.c_str());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->only, (std::vector<std::string>{"a@x", "b@x", "c@x", "d@x"}));
  EXPECT_TRUE(o->fix_messages);
  EXPECT_FALSE(o->strict);
  EXPECT_EQ(o->retry_args, (std::vector<std::string>{"coordinator", "--mode", "import",
                                                     "--fix-messages", "--max-workers", "2"}));
}

TEST(OptionsTest, PlanFlagsApplyWhereTheyMeanSomethingAndADryRunKeepsNoState) {
  Options o;
  o.mode = engine::Mode::kExport;
  o.dry_run = true;
  ASSERT_TRUE(CheckPlanFlags(&o).ok());
  EXPECT_EQ(o.durable.state, "none");
  o.durable.state = "/var/lib/m/export.state.sqlite";
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPlanFlags(&o)));
  o = Options();
  o.mode = engine::Mode::kTest;
  o.dry_run = true;
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPlanFlags(&o)));
  o = Options();
  o.mode = engine::Mode::kImport;
  o.sizes = true;
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPlanFlags(&o)));
  o = Options();
  o.mode = engine::Mode::kTest;
  o.import_config = "import.pass.config.json";
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPlanFlags(&o)));
  o.sizes = true;
  EXPECT_TRUE(CheckPlanFlags(&o).ok());
  EXPECT_EQ(o.durable.state, "");  // not a dry run: the mode's default
}

}  // namespace
}  // namespace coordinator
