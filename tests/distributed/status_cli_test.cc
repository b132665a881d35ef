// The status API seen by a generic gRPC CLI and by migratectl: a real export
// (coordinator + 2 workers + real Dovecot) with --linger, then `buf curl`
// (npm @bufbuild/buf, installed by this test into a cache dir when missing)
// lists the services through reflection and reads GetStatus / ListAccounts /
// the health check as JSON, and `migratectl status|accounts|watch --json`
// shows the same numbers. Exits 77 (skipped) only when buf cannot be
// installed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
constexpr int kUsers = 3, kPerFolder = 4;
const char* kFolders[] = {"INBOX", "Sent"};

// $MIGRATOR_TEST_CACHE or <build>/test-cache: buf installed by npm, kept.
std::string BufBinary() {
  const char* env = std::getenv("MIGRATOR_TEST_CACHE");
  const char* bin = std::getenv("MIGRATOR_BINARY_DIR");
  std::string cache = env ? env : absl::StrCat(bin ? bin : ".", "/test-cache");
  std::string buf = cache + "/npm/node_modules/.bin/buf";
  if (::access(buf.c_str(), X_OK) == 0) return buf;
  std::system(("mkdir -p '" + cache + "/npm'").c_str());
  Process p;
  int rc = RunProcess(
      {"npm", "install", "--prefix", cache + "/npm", "--no-audit", "--no-fund", "@bufbuild/buf"},
      cache, {}, "npm-install", absl::Minutes(5), &p);
  if (rc != 0 || ::access(buf.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "SKIP: cannot install @bufbuild/buf with npm (exit %d):\n%s\n", rc,
                 ReadFile(p.stderr_path).c_str());
    std::exit(77);
  }
  return buf;
}

// A JSON number or a proto3-JSON 64-bit string ("12"); 0 when absent.
double Num(const nlohmann::json& j, const std::string& key) {
  if (!j.contains(key)) return 0;
  const auto& v = j[key];
  return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
}

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    testing_fixtures::DovecotOptions o;
    o.users = kUsers;
    auto s = DovecotServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    for (const auto& u : server_->users()) {
      for (const char* f : kFolders)
        ASSERT_TRUE(server_->SeedGenerated(u.email, f, kPerFolder).ok());
    }
    nlohmann::json j;
    j["server"] = {{"host", server_->host()},
                   {"port", server_->imaps_port()},
                   {"ssl", true},
                   {"ca_file", server_->ca_file()}};
    for (const auto& u : server_->users())
      j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
    std::string path = dir_ + "/export.pass.config.json", text = j.dump();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    port_ = UnusedLoopbackPort();
    address_ = absl::StrCat("127.0.0.1:", port_);
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Runs `argv`, expects exit `want`, returns stdout.
  std::string Run(const std::vector<std::string>& argv, int want = 0) {
    Process p;
    int rc = RunProcess(argv, dir_, {}, absl::StrCat("run", ++runs_), absl::Seconds(60), &p);
    EXPECT_EQ(rc, want) << absl::StrJoin(argv, " ") << "\n" << ReadFile(p.stderr_path);
    return ReadFile(p.stdout_path);
  }
  nlohmann::json Json(const std::string& text) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << text;
    return j;
  }
  std::vector<std::string> Buf(const std::string& buf, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::vector<std::string> Ctl(const std::string& command, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {Binary("migratectl"), command, "--coordinator", address_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  std::string dir_, address_;
  int port_ = 0, runs_ = 0;
  std::unique_ptr<DovecotServer> server_;
};

TEST_F(StatusCliTest, BufCurlAndMigratectlShowTheSameNumbers) {
  const std::string buf = BufBinary();
  const std::string health = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
  Process c = Start({Binary("coordinator"), "--mode", "export", "--workers", "2", "--listen",
                     address_, "--linger", "--output-dir", dir_ + "/out", "--log-dir",
                     dir_ + "/logs", "--health-listen", health},
                    dir_, {{"TMPDIR", dir_}}, "coordinator");
  nlohmann::json ours;
  ASSERT_TRUE(PollUntil(
      [&] {
        Process p;
        if (RunProcess(Ctl("status", {"--json", "--timeout", "2s"}), dir_, {}, "poll",
                       absl::Seconds(10), &p) != 0)
          return false;
        ours = nlohmann::json::parse(ReadFile(p.stdout_path), nullptr, false);
        return ours.is_object() && ours["finished"] == true;
      },
      absl::Seconds(120)))
      << ReadFile(c.stderr_path);
  const std::string url = "http://" + address_;

  std::string services = Run(Buf(buf, {"--list-services", url}));
  for (const char* s :
       {"migrator.v1.StatusService", "migrator.v1.Coordinator", "grpc.health.v1.Health"}) {
    EXPECT_TRUE(absl::StrContains(services, s)) << services;
  }
  nlohmann::json theirs =
      Json(Run(Buf(buf, {"-d", "{}", url + "/migrator.v1.StatusService/GetStatus"})));
  ours = Json(Run(Ctl("status", {"--json"})));
  const double messages = kUsers * kPerFolder * 2;
  EXPECT_EQ(Num(theirs, "accountsTotal"), kUsers);
  EXPECT_EQ(Num(theirs, "accountsSucceeded"), kUsers);
  EXPECT_EQ(Num(theirs, "messages"), messages);
  EXPECT_GT(Num(theirs, "bytes"), 0);
  EXPECT_EQ(theirs.value("finished", false), true);
  EXPECT_EQ(theirs.value("jobId", ""), ours["job_id"]);
  EXPECT_EQ(ours["accounts"]["total"], Num(theirs, "accountsTotal"));
  EXPECT_EQ(ours["accounts"]["succeeded"], Num(theirs, "accountsSucceeded"));
  EXPECT_EQ(ours["accounts"]["failed"], Num(theirs, "accountsFailed"));
  EXPECT_EQ(ours["messages"]["done"], Num(theirs, "messages"));
  EXPECT_EQ(ours["messages"]["total"], Num(theirs, "messagesTotal"));
  EXPECT_EQ(ours["bytes"]["done"], Num(theirs, "bytes"));
  EXPECT_EQ(ours["bytes"]["total"], Num(theirs, "bytesTotal"));
  EXPECT_EQ(ours["elapsed_ms"], Num(theirs, "elapsedMs"));  // frozen at the finish
  EXPECT_EQ(ours["workers"].size(), theirs["workers"].size());
  EXPECT_EQ(ours["state"], "finished");
  EXPECT_TRUE(ours["eta_ms"].is_null());

  nlohmann::json their_accounts =
      Json(Run(Buf(buf, {"-d", R"({"state":"ACCOUNT_STATE_SUCCEEDED"})",
                         url + "/migrator.v1.StatusService/ListAccounts"})));
  nlohmann::json our_accounts = Json(Run(Ctl("accounts", {"--json", "--state", "succeeded"})));
  ASSERT_EQ(their_accounts["accounts"].size(), static_cast<size_t>(kUsers));
  ASSERT_EQ(our_accounts["accounts"].size(), static_cast<size_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) {
    const auto& t = their_accounts["accounts"][i];
    const auto& o = our_accounts["accounts"][i];
    EXPECT_EQ(o["email"], t["email"]);
    EXPECT_EQ(o["state"], "succeeded");
    EXPECT_EQ(o["messages_done"], Num(t["counters"], "messagesDone"));
    EXPECT_EQ(o["folders"].size(), t["folders"].size());
  }
  // Reflection describes every service, the standard health service included: generic
  // clients need no local schema.
  std::string methods = Run(Buf(buf, {"--list-methods", url}));
  EXPECT_TRUE(absl::StrContains(methods, "grpc.health.v1.Health/Check")) << methods;
  EXPECT_TRUE(absl::StrContains(methods, "migrator.v1.StatusService/GetStatus")) << methods;
  nlohmann::json h = Json(Run(Buf(buf, {"-d", "{}", url + "/grpc.health.v1.Health/Check"})));
  EXPECT_EQ(h["status"], "SERVING");
  // The plaintext health-only port (for probes): health answers, nothing else is there,
  // not even reflection (so buf needs the schema file).
  const char* schema = "/usr/share/grpc-proto/grpc/health/v1/health.proto";
  h = Json(Run(Buf(
      buf, {"--schema", schema, "-d", "{}", "http://" + health + "/grpc.health.v1.Health/Check"})));
  EXPECT_EQ(h["status"], "SERVING");
  Run(Buf(buf, {"--list-services", "http://" + health}), /*want=*/1);
  Run(Buf(buf, {"-d", "{}", "http://" + health + "/migrator.v1.StatusService/GetStatus"}),
      /*want=*/1);
  // watch on a finished job: one event, exit 0 (every account succeeded).
  std::string watch = Run(Ctl("watch", {"--json"}));
  std::vector<std::string> lines = absl::StrSplit(watch, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << watch;
  EXPECT_EQ(Json(lines[0])["status"]["finished"], true);
  EXPECT_TRUE(absl::StrContains(Run(Ctl("status", {})), "finished")) << "table";
  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  EXPECT_EQ(Wait(c, absl::Seconds(30)), 0) << ReadFile(c.stderr_path);
  EXPECT_EQ(Run(Ctl("status", {"--timeout", "1s"}), 3), "");  // gone
}

}  // namespace
}  // namespace fleettest
