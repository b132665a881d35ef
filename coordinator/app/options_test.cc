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

}  // namespace
}  // namespace coordinator
