// SecretSource with an injected clock: max age, one refresh per refusal, concurrent
// callers fetching once, a failed refresh.
#include "common/engine/secret_source.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fetcher that returns "t1", "t2", ... (or `error` while set) and a clock the test moves.
struct Fake {
  std::atomic<int> calls{0};
  absl::Status error;
  absl::Time now = absl::FromUnixSeconds(1'000'000);

  SecretSource::Fetcher Fetcher() {
    return [this]() -> absl::StatusOr<std::string> {
      int n = ++calls;
      if (!error.ok()) return error;
      return absl::StrCat("t", n);
    };
  }
  SecretSource::Clock Clock() {
    return [this] { return now; };
  }
};

TEST(SecretSourceTest, KeptUntilMaxAgeThenFetchedAgain) {
  Fake f;
  SecretSource s(f.Fetcher(), absl::Minutes(50), true, f.Clock());
  auto a = s.Get();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->value, "t1");
  EXPECT_EQ(a->generation, 1u);
  f.now += absl::Minutes(49);
  EXPECT_EQ(s.Get()->value, "t1");
  EXPECT_EQ(f.calls, 1);
  f.now += absl::Minutes(1);  // 50 minutes old: aged
  auto b = s.Get();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->value, "t2");
  EXPECT_EQ(b->generation, 2u);
  // The age counts from the second fetch.
  f.now += absl::Minutes(49);
  EXPECT_EQ(s.Get()->value, "t2");
  EXPECT_EQ(s.fetches(), 2);
}

TEST(SecretSourceTest, FailedRefreshOfAnAgedTokenKeepsItAndTriesAgain) {
  Fake f;
  SecretSource s(f.Fetcher(), absl::Minutes(50), true, f.Clock());
  ASSERT_EQ(s.Get()->value, "t1");
  f.now += absl::Hours(1);
  f.error = absl::UnavailableError("accounts[0] (a@x): oauth2_token_command: exited with status 1");
  auto a = s.Get();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->value, "t1");  // may still be valid: the server decides
  EXPECT_EQ(a->generation, 1u);
  EXPECT_EQ(f.calls, 2);
  f.error = absl::OkStatus();
  EXPECT_EQ(s.Get()->value, "t3");  // tried again at the next connection
}

TEST(SecretSourceTest, RefreshAfterRefusalFetchesOncePerGeneration) {
  Fake f;
  SecretSource s(f.Fetcher(), absl::Minutes(50), true, f.Clock());
  ASSERT_EQ(s.Get()->generation, 1u);
  auto a = s.Refresh(1);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->value, "t2");
  EXPECT_EQ(a->generation, 2u);
  // Another connection refused generation 1 too: it gets generation 2, no new fetch.
  auto b = s.Refresh(1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->value, "t2");
  EXPECT_EQ(f.calls, 2);
  // Generation 2 refused as well: fetched again.
  EXPECT_EQ(s.Refresh(2)->value, "t3");
  EXPECT_EQ(f.calls, 3);
  // A refresh restarts the age.
  f.now += absl::Minutes(49);
  EXPECT_EQ(s.Get()->value, "t3");
  EXPECT_EQ(f.calls, 3);
}

TEST(SecretSourceTest, RefreshThatGetsTheSameTokenStillCountsAsNewGeneration) {
  SecretSource s([] { return absl::StatusOr<std::string>("same"); }, absl::Minutes(50), true);
  ASSERT_EQ(s.Get()->generation, 1u);
  auto a = s.Refresh(1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "same");
  EXPECT_EQ(a->generation, 2u);
  EXPECT_EQ(s.Refresh(1)->generation, 2u);  // not fetched again for the old refusal
  EXPECT_EQ(s.fetches(), 2);
}

TEST(SecretSourceTest, FailedRefreshAfterRefusalIsFinal) {
  Fake f;
  SecretSource s(f.Fetcher(), absl::Minutes(50), true, f.Clock());
  ASSERT_EQ(s.Get()->value, "t1");
  f.error = absl::UnavailableError("accounts[0] (a@x): oauth2_token_command: exited with status 1");
  auto a = s.Refresh(1);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(a.status())) << a.status();
  EXPECT_EQ(a.status().message(),
            "the server refused the token and no fresh one could be read: accounts[0] (a@x): "
            "oauth2_token_command: exited with status 1");
  // Final: every later connection gets the same error, nothing is fetched again, and the
  // refused token is not handed out again.
  f.error = absl::OkStatus();
  EXPECT_EQ(s.Get().status(), a.status());
  EXPECT_EQ(s.Refresh(1).status(), a.status());
  EXPECT_EQ(f.calls, 2);
}

TEST(SecretSourceTest, PasswordIsReadOnceAndNotRefreshable) {
  Fake f;
  SecretSource s(f.Fetcher(), absl::InfiniteDuration(), false, f.Clock());
  EXPECT_EQ(s.Get()->value, "t1");
  f.now += absl::Hours(24 * 365);
  EXPECT_EQ(s.Get()->value, "t1");
  EXPECT_FALSE(s.refreshable());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.Refresh(1).status()));
  EXPECT_EQ(f.calls, 1);
}

TEST(SecretSourceTest, FirstFetchFailingIsReturnedAndRetried) {
  Fake f;
  f.error = absl::NotFoundError("accounts[0] (a@x): oauth2_token_file: cannot read /t");
  SecretSource s(f.Fetcher(), absl::Minutes(50), true, f.Clock());
  EXPECT_EQ(s.Get().status(), f.error);
  f.error = absl::OkStatus();
  EXPECT_EQ(s.Get()->value, "t2");
}

// Several connections open at once: one fetch, every caller gets its secret. Callers that
// come after the fetch finished find it cached, so the count is exact however the threads
// are scheduled.
TEST(SecretSourceTest, ConcurrentCallersFetchOnce) {
  absl::Notification release;
  std::atomic<int> calls{0};
  SecretSource s(
      [&]() -> absl::StatusOr<std::string> {
        ++calls;
        release.WaitForNotification();
        return std::string("tok");
      },
      absl::Minutes(50), true);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto t = s.Get();
      if (t.ok() && t->value == "tok" && t->generation == 1) ++ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(50));  // let most of them queue behind the fetch
  release.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(calls, 1);
}

TEST(SecretSourceTest, ConcurrentRefusalsRefreshOnce) {
  std::atomic<int> calls{0};
  absl::Notification release;
  SecretSource s(
      [&]() -> absl::StatusOr<std::string> {
        int n = ++calls;
        if (n > 1) release.WaitForNotification();
        return absl::StrCat("t", n);
      },
      absl::Minutes(50), true);
  ASSERT_EQ(s.Get()->value, "t1");
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto t = s.Refresh(1);
      if (t.ok() && t->value == "t2" && t->generation == 2) ++ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(calls, 2);
}

class ForAccountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/secret-source-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(ForAccountTest, TokenFileIsReadAgainWhenAgedOrRefused) {
  Fake f;
  config::Account a;
  a.email = "d@example.com";
  a.auth = config::AuthKind::kXoauth2;
  a.oauth2_token_file = dir_ + "/token";
  a.oauth2_token_max_age = 600;
  Write("token", "tok-A\n");
  auto s = SecretSource::ForAccount(a, f.Clock());
  EXPECT_TRUE(s->refreshable());
  EXPECT_EQ(s->Get()->value, "tok-A");
  Write("token", "tok-B\n");
  f.now += absl::Seconds(599);
  EXPECT_EQ(s->Get()->value, "tok-A");
  f.now += absl::Seconds(1);
  EXPECT_EQ(s->Get()->value, "tok-B");
  Write("token", "tok-C\n");
  EXPECT_EQ(s->Refresh(2)->value, "tok-C");
  // Default max age: 50 minutes.
  a.oauth2_token_max_age = 0;
  s = SecretSource::ForAccount(a, f.Clock());
  ASSERT_EQ(s->Get()->value, "tok-C");
  Write("token", "tok-D\n");
  f.now += absl::Seconds(config::kDefaultOauth2TokenMaxAge - 1);
  EXPECT_EQ(s->Get()->value, "tok-C");
  f.now += absl::Seconds(1);
  EXPECT_EQ(s->Get()->value, "tok-D");
}

TEST_F(ForAccountTest, TokenCommandIsRunAgainAndItsFailureNamesItNotTheToken) {
  config::Account a;
  a.index = 2;
  a.email = "e@example.com";
  a.auth = config::AuthKind::kOauthBearer;
  Write("calls", "");
  // Prints tok-<call number> on the first two calls, then prints a token and fails.
  a.oauth2_token_command = "cd '" + dir_ +
                           "' && echo x >> calls && n=$(wc -l < calls) && echo tok-$n && "
                           "test $n -le 2";
  auto s = SecretSource::ForAccount(a);
  ASSERT_TRUE(s->refreshable());
  EXPECT_EQ(s->Get()->value, "tok-1");
  EXPECT_EQ(s->Refresh(1)->value, "tok-2");
  auto failed = s->Refresh(2);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(),
            "the server refused the token and no fresh one could be read: accounts[2] "
            "(e@example.com): oauth2_token_command: exited with status 1");
  EXPECT_THAT(failed.status().ToString(), Not(HasSubstr("tok-3")));
}

TEST(SecretSourceForAccount, PasswordAndInlineTokenAreNotRefreshable) {
  config::Account a;
  a.email = "a@x";
  a.password = "pw";
  auto s = SecretSource::ForAccount(a);
  EXPECT_FALSE(s->refreshable());
  EXPECT_EQ(s->Get()->value, "pw");
  config::Account o;
  o.email = "o@x";
  o.auth = config::AuthKind::kXoauth2;
  o.oauth2_token = "inline";
  s = SecretSource::ForAccount(o);
  EXPECT_FALSE(s->refreshable());
  EXPECT_EQ(s->Get()->value, "inline");
}

}  // namespace
}  // namespace engine
