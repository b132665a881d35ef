// Throttles through coordinator and workers: `coordinator --workers 2` exports from a real
// Dovecot behind the fault proxy, which answers data commands with throttles (Microsoft's
// suggested wait, Gmail's OVERQUOTA, slow-down OKs) and caps logins. Every account succeeds
// in its first attempt (a throttle is not an attempt), and the throttle counters reach the
// JSON report and `migratectl accounts --json`.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"

namespace fleettest {
namespace {

using testing_fixtures::Fault;
constexpr int kUsers = 3, kPerFolder = 25;
const char* kFolders[] = {"INBOX", "Work", "Sent"};
const std::string kMsThrottle = "NO Request is throttled. Suggested Backoff Time: 700 milliseconds";
const std::string kGmailThrottle = "NO [OVERQUOTA] Account exceeded command or bandwidth limits.";

TEST(ThrottleE2eTest, ThrottledAccountsSucceedInOneAttemptWithTheirCountersReported) {
  const std::string dir = MakeTempDir();
  testing_fixtures::DovecotOptions o;
  o.users = kUsers;
  auto server = testing_fixtures::DovecotServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  for (const auto& u : (*server)->users()) {
    for (const char* f : kFolders)
      ASSERT_TRUE((*server)->SeedGenerated(u.email, f, kPerFolder).ok());
  }
  testing_fixtures::FaultProxyOptions po;
  po.target = absl::StrCat((*server)->host(), ":", (*server)->imap_port());
  po.max_logins = 4;  // 3 accounts x 3 connections want more
  po.faults = {
      {Fault::Action::kReplace, "UID FETCH", 0, 3, kMsThrottle},
      {Fault::Action::kReplace, "UID FETCH", 4, 2, kGmailThrottle},
      {Fault::Action::kSlowDownOk, "UID FETCH", 7, 2, ""},
      {Fault::Action::kReplace, "EXAMINE", 2, 1, kMsThrottle},
  };
  auto proxy = testing_fixtures::FaultProxy::Start(po);
  ASSERT_TRUE(proxy.ok()) << proxy.status();

  nlohmann::json config;
  config["server"] = {{"host", "127.0.0.1"},
                      {"port", (*proxy)->port()},
                      {"ssl", false},
                      {"starttls", false},
                      {"max_connections_per_account", 3}};
  for (const auto& u : (*server)->users()) {
    config["accounts"].push_back({{"email", u.email}, {"password", u.password}});
  }
  const std::string config_path = dir + "/export.pass.config.json";
  ASSERT_TRUE(WriteFile(config_path, config.dump(2)));
  const std::string address = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
  Process c = Start(
      {Binary("coordinator"), "--mode", "export", "--workers", "2", "--config", config_path,
       "--listen", address, "--linger", "--output-dir", dir + "/out", "--log-dir", dir + "/logs"},
      dir, {{"TMPDIR", dir}}, "coordinator");
  auto ctl = [&](const std::vector<std::string>& args, nlohmann::json* out) {
    std::vector<std::string> argv = {Binary("migratectl"), args[0], "--coordinator", address};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    Process p;
    if (RunProcess(argv, dir, {}, "ctl", absl::Seconds(20), &p) != 0) return false;
    *out = nlohmann::json::parse(ReadFile(p.stdout_path), nullptr, false);
    return !out->is_discarded();
  };
  nlohmann::json status;
  ASSERT_TRUE(PollUntil(
      [&] {
        return ctl({"status", "--json", "--timeout", "2s"}, &status) && status.is_object() &&
               status["finished"] == true;
      },
      absl::Seconds(180)))
      << ReadFile(c.stderr_path);

  const testing_fixtures::FaultCounts fired = (*proxy)->counts();
  for (size_t i = 0; i < fired.fired.size(); ++i) EXPECT_GE(fired.fired[i], 1) << "fault " << i;
  EXPECT_LE(fired.max_logged_in, 4);

  // migratectl: every account succeeded in one attempt; the throttles are counted.
  nlohmann::json accounts;
  ASSERT_TRUE(ctl({"accounts", "--json"}, &accounts));
  ASSERT_EQ(accounts["accounts"].size(), static_cast<size_t>(kUsers)) << accounts.dump(2);
  uint64_t throttles = 0, throttled_ms = 0;
  for (const auto& a : accounts["accounts"]) {
    EXPECT_EQ(a["state"], "succeeded") << a.dump(2);
    EXPECT_EQ(a["attempts"], 1) << a.dump(2);
    EXPECT_EQ(a["messages_done"], kPerFolder * 3) << a.dump(2);
    throttles += a["throttles"].get<uint64_t>();
    throttled_ms += a["throttled_ms"].get<uint64_t>();
  }
  EXPECT_GT(throttles, 0u);
  EXPECT_GT(throttled_ms, 0u);

  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  EXPECT_EQ(Wait(c, absl::Seconds(30)), 0) << ReadFile(c.stderr_path);

  // The JSON report says the same.
  std::vector<std::string> reports = Glob(dir + "/logs", ".report.json");
  ASSERT_EQ(reports.size(), 1u) << absl::StrJoin(reports, ", ");
  nlohmann::json report = nlohmann::json::parse(ReadFile(reports[0]), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  ASSERT_EQ(report["accounts"].size(), static_cast<size_t>(kUsers));
  uint64_t report_throttles = 0;
  for (const auto& a : report["accounts"]) {
    EXPECT_EQ(a["state"], "succeeded") << a.dump(2);
    EXPECT_EQ(a["attempts"], 1) << a.dump(2);
    report_throttles += a["throttles"].get<uint64_t>();
    for (const auto& m : accounts["accounts"]) {
      if (m["email"] != a["email"]) continue;
      EXPECT_EQ(a["throttles"], m["throttles"]) << a["email"];
      EXPECT_EQ(a["throttled_ms"], m["throttled_ms"]) << a["email"];
      EXPECT_EQ(a["reconnects"], m["reconnects"]) << a["email"];
    }
  }
  EXPECT_EQ(report_throttles, throttles);
  EXPECT_EQ(report["totals"]["throttles"], throttles);
  EXPECT_EQ(report["totals"]["succeeded"], kUsers);
  EXPECT_GT(report["totals"]["throttled_ms"].get<uint64_t>(), 0u);
  // The replies by class, from the workers through to the report: the throttles the proxy
  // sent (faults 0, 1 and 3; the slow-down OKs of fault 2 are not errors) and the logins it
  // refused over the cap; at most as many (a reply to a pipelined command on a connection
  // given up after an earlier throttle is never read), at least one of each.
  const nlohmann::json& errors = report["totals"]["imap_errors"];
  const uint64_t throttles_sent = fired.fired[0] + fired.fired[1] + fired.fired[3];
  EXPECT_GE(errors.value("throttle", uint64_t{0}), 3u) << errors.dump();
  EXPECT_LE(errors.value("throttle", uint64_t{0}), throttles_sent) << errors.dump();
  if (fired.logins_refused > 0) {
    EXPECT_GE(errors.value("connection_cap", uint64_t{0}), 1u) << errors.dump();
  }
  EXPECT_LE(errors.value("connection_cap", uint64_t{0}),
            static_cast<uint64_t>(fired.logins_refused))
      << errors.dump();
  EXPECT_EQ(errors.value("auth", uint64_t{0}), 0u) << errors.dump();
  if (!::testing::Test::HasFailure()) std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace fleettest
