// The per-thread log files behind --log-per-account: a thread's lines reach the file it
// installed, a thread it hands the file on to writes there too, other threads do not, and
// account file names never leave their directory.
#include "common/log/log.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempDir() {
  char dir[] = "/tmp/log_test.XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return dir;
}

TEST(ThreadLogTest, LinesGoToTheFileOfTheirThreadAndOfThreadsItHandsItOn) {
  const std::string dir = TempDir();
  logging::SetStderrMinLevel(logging::Level::kError);  // keep the test's stderr quiet
  {
    std::string error;
    auto mine = logging::OpenAccountLog(dir, "a@example.com", &error);
    ASSERT_NE(mine, nullptr) << error;
    logging::ScopedThreadLog scope(mine);
    LOG(INFO) << "line of the account thread";
    std::thread child([log = logging::CurrentThreadLog()] {
      logging::ScopedThreadLog inherited(log);
      LOG(WARNING) << "line of a connection thread";
    });
    child.join();
    std::thread stranger([] { LOG(INFO) << "line of another account"; });
    stranger.join();
  }
  EXPECT_EQ(logging::CurrentThreadLog(), nullptr);  // restored when the scope ended
  LOG(INFO) << "line after the scope";
  const std::string text = ReadAll(logging::AccountLogPath(dir, "a@example.com"));
  EXPECT_TRUE(absl::StrContains(text, "] line of the account thread\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "] line of a connection thread\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "another account")) << text;
  EXPECT_FALSE(absl::StrContains(text, "after the scope")) << text;
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(ThreadLogTest, AccountFileNamesStayInTheirDirectory) {
  EXPECT_EQ(logging::AccountLogPath("/d", "a.b+c-d_e@example.com"), "/d/a.b+c-d_e@example.com.log");
  EXPECT_EQ(logging::AccountLogPath("/d", "../../etc/x"), "/d/_.._.._etc_x.log");
  EXPECT_EQ(logging::AccountLogPath("/d", ".."), "/d/_...log");
  EXPECT_EQ(logging::AccountLogPath("/d", ""), "/d/_.log");
  EXPECT_EQ(logging::AccountLogPath("/d", "j\xc3\xb6rg@ex ample.com"), "/d/j__rg@ex_ample.com.log");
}

TEST(ThreadLogTest, AnUnwritableDirectoryIsNamedInTheError) {
  std::string error;
  EXPECT_EQ(logging::OpenAccountLog("/nonexistent/dir", "a@example.com", &error), nullptr);
  EXPECT_TRUE(absl::StrContains(error, "/nonexistent/dir/a@example.com.log")) << error;
  EXPECT_EQ(logging::OpenAccountLog("", "a@example.com", &error), nullptr);  // off
}

}  // namespace
