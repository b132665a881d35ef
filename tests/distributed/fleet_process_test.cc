// Process-level tests of the coordinator and its local workers: the real
// binaries, real gRPC over real Unix sockets, real processes. Accounts point at
// a loopback port nobody listens on, so every account fails (with the stub
// engine or the real one alike); tests that need accounts to stay running
// export from a fake IMAP server whose INBOX never ends instead.
// Synchronisation is by polling observable state with bounded deadlines.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/fake_imap.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

namespace pb = ::migrator::v1;

constexpr char kSecret[] = "pw-Zq81-s3cret";
const absl::Duration kRunTimeout = absl::Seconds(60);

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    port_ = UnusedLoopbackPort();
  }

  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);  // safety net only
    if (!HasFailure() && std::getenv("FLEET_TEST_KEEP") == nullptr)
      std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  void WriteConfig(int accounts) {
    nlohmann::json j;
    j["server"] = {{"host", "127.0.0.1"}, {"port", port_}, {"ssl", false}};
    j["accounts"] = nlohmann::json::array();
    for (int i = 0; i < accounts; ++i) {
      j["accounts"].push_back({{"email", Email(i)}, {"password", kSecret}});
    }
    std::string path = dir_ + "/export.pass.config.json";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string text = j.dump(2);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }

  static std::string Email(int i) { return absl::StrCat("user", i, "@example.test"); }

  std::vector<std::string> Coordinator(const std::string& mode,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {Binary("coordinator"), "--mode", mode, "--config",
                                     dir_ + "/export.pass.config.json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Accounts that run until they are cancelled or their worker is killed: an
  // export from a fake server whose INBOX never ends.
  void WriteHeldConfig(int accounts) {
    ASSERT_TRUE(endless_imap_.Start("127.0.0.1", 0));
    port_ = endless_imap_.port();
    WriteConfig(accounts);
  }

  std::vector<std::string> HeldJob(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--output-dir", dir_ + "/out"});
    return Coordinator("export", extra);
  }

  std::map<std::string, std::string> Env() { return {{"TMPDIR", dir_}}; }

  nlohmann::json Report() {
    std::vector<std::string> reports = Glob(dir_ + "/logs", ".report.json");
    EXPECT_EQ(reports.size(), 1u);
    if (reports.empty()) return nlohmann::json();
    EXPECT_EQ(FileMode(reports[0]), 0600);
    return nlohmann::json::parse(ReadFile(reports[0]), nullptr, false);
  }

  std::string Log() {
    std::vector<std::string> logs = Glob(dir_ + "/logs", ".log");
    EXPECT_EQ(logs.size(), 1u);
    if (logs.empty()) return "";
    EXPECT_EQ(FileMode(logs[0]), 0600);
    return ReadFile(logs[0]);
  }

  // The password appears in no file the run produced (outputs, log, report,
  // data).
  void ExpectNoSecretAnywhere() {
    for (const std::string& f : FilesUnder(dir_)) {
      if (absl::EndsWith(f, ".pass.config.json")) continue;  // the configs themselves
      EXPECT_FALSE(absl::StrContains(ReadFile(f), kSecret)) << "secret found in " << f;
    }
  }

  void ExpectNoLeftoverProcesses() {
    EXPECT_TRUE(ProcessesMentioning(dir_).empty()) << "leftover process mentions " << dir_;
  }

  static int CountState(const nlohmann::json& report, const std::string& state) {
    int n = 0;
    for (const auto& a : report["accounts"]) n += a["state"] == state ? 1 : 0;
    return n;
  }

  std::string dir_;
  int port_ = 0;
  FakeImapServer endless_imap_{FakeImapServer::Mode::kEndlessInbox};
};

TEST_F(FleetTest, FailFastStopsAfterTheFirstFailure) {
  WriteConfig(4);
  Process p;
  int code = RunProcess(
      Coordinator("test", {"--workers", "1", "--max-workers", "1", "--max-attempts", "1"}), dir_,
      Env(), "coordinator", kRunTimeout, &p);
  EXPECT_EQ(code, 1);
  std::string out = ReadFile(p.stdout_path);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(absl::StrContains(out, Email(i))) << out;
  EXPECT_TRUE(absl::StrContains(out, "total: 4 account(s): 0 succeeded, 1 failed, 3 cancelled"))
      << out;
  nlohmann::json r = Report();
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["exit_code"], 1);
  EXPECT_EQ(r["totals"]["failed"], 1);
  EXPECT_EQ(r["totals"]["cancelled"], 3);
  EXPECT_EQ(r["accounts"][0]["state"], "failed");
  EXPECT_TRUE(absl::StrContains(r["accounts"][1]["last_error"].get<std::string>(), "not started"));
  std::string log = Log();
  EXPECT_TRUE(absl::StrContains(log, "spawned worker w1"));
  EXPECT_TRUE(absl::StrContains(log, "account " + Email(0) + ": started on worker w1"));
  EXPECT_TRUE(absl::StrContains(log, "worker w1 exited with status 0")) << log;
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

TEST_F(FleetTest, IgnoreErrorsRunsAndReportsEveryAccount) {
  WriteConfig(5);
  Process p;
  int code = RunProcess(Coordinator("test", {"--workers", "2", "--max-workers", "2",
                                             "--ignore-errors", "--max-attempts", "1"}),
                        dir_, Env(), "coordinator", kRunTimeout, &p);
  EXPECT_EQ(code, 1);
  std::string out = ReadFile(p.stdout_path);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(absl::StrContains(out, Email(i))) << out;
  nlohmann::json r = Report();
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["totals"]["failed"], 5);
  for (const auto& a : r["accounts"]) {
    EXPECT_EQ(a["attempts"], 1);
    EXPECT_FALSE(a["last_error"].get<std::string>().empty());
  }
  std::string log = Log();
  EXPECT_TRUE(absl::StrContains(log, "spawned worker w2"));
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

TEST_F(FleetTest, ExportWritesThePrivateImportTemplate) {
  WriteConfig(2);
  Process p;
  int code = RunProcess(Coordinator("export", {"--ignore-errors", "--output-dir", dir_ + "/out"}),
                        dir_, Env(), "coordinator", kRunTimeout, &p);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(FileMode(dir_ + "/import.pass.config.json"), 0600);
  EXPECT_TRUE(absl::StrContains(ReadFile(p.stdout_path), "import template"));
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

TEST_F(FleetTest, BadUsageAndConfigExitTwo) {
  WriteConfig(1);
  EXPECT_EQ(RunProcess(Coordinator("bogus", {}), dir_, Env(), "c1", kRunTimeout), 2);
  EXPECT_EQ(RunProcess(Coordinator("test", {"--no-such-flag"}), dir_, Env(), "c2", kRunTimeout), 2);
  EXPECT_EQ(RunProcess(Coordinator("test", {"--workers", "0"}), dir_, Env(), "c3", kRunTimeout), 2);
  Process p;
  EXPECT_EQ(
      RunProcess({Binary("coordinator"), "--mode", "test", "--config", dir_ + "/missing.json"},
                 dir_, Env(), "c4", kRunTimeout, &p),
      2);
  EXPECT_TRUE(absl::StrContains(ReadFile(p.stderr_path), "missing.json"));
  EXPECT_EQ(RunProcess({Binary("worker")}, dir_, Env(), "w1", kRunTimeout), 2);
}

TEST_F(FleetTest, PreflightRefusesWithoutEnoughFreeSpace) {
  WriteConfig(1);
  Process p;
  EXPECT_EQ(
      RunProcess(Coordinator("export", {"--min-free-gb", "1e12", "--output-dir", dir_ + "/o"}),
                 dir_, Env(), "coordinator", kRunTimeout, &p),
      3);
  EXPECT_TRUE(absl::StrContains(ReadFile(p.stderr_path), "--min-free-gb"));
  ExpectNoLeftoverProcesses();
}

TEST_F(FleetTest, WorkerGivesUpWhenThereIsNoCoordinator) {
  Process p;
  int code = RunProcess(
      {Binary("worker"), "--coordinator", "unix:" + dir_ + "/none.sock", "--retry-for", "1s"}, dir_,
      Env(), "worker", absl::Seconds(30), &p);
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(absl::StrContains(ReadFile(p.stderr_path), "giving up"));
}

// ---------------------------------------------------------------- with the
// status API

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class StatusClient {
 public:
  explicit StatusClient(const std::string& address)
      : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(pb::StatusService::NewStub(channel_)) {}

  bool Status(pb::GetStatusResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub_->GetStatus(&ctx, pb::GetStatusRequest(), out).ok();
  }

  std::vector<pb::AccountStatus> Accounts() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::ListAccountsResponse resp;
    if (!stub_->ListAccounts(&ctx, pb::ListAccountsRequest(), &resp).ok()) return {};
    return {resp.accounts().begin(), resp.accounts().end()};
  }

  int Running() {
    int n = 0;
    for (const auto& a : Accounts()) n += a.state() == pb::ACCOUNT_STATE_RUNNING ? 1 : 0;
    return n;
  }

  // grpc.health.v1.Health/Check for the whole server, through the generic stub
  // (bytes: empty request; SERVING is field 1 = 1, i.e. 08 01).
  bool Serving() {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        status = s;
                        done.Notify();
                      });
    done.WaitForNotification();
    std::vector<grpc::Slice> slices;
    if (!status.ok() || !response.Dump(&slices).ok()) return false;
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return bytes == std::string("\x08\x01", 2);
  }

  pb::WatchEvent FirstWatchEvent() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub_->Watch(&ctx, pb::WatchRequest());
    pb::WatchEvent ev;
    reader->Read(&ev);
    ctx.TryCancel();
    reader->Finish();
    return ev;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::StatusService::Stub> stub_;
};

// The only local worker is killed again and again: it is respawned 3 times,
// then the coordinator fails the remaining accounts (no live workers) instead
// of hanging.
TEST_F(FleetTest, KilledWorkerDoesNotHangTheCoordinator) {
  WriteHeldConfig(2);
  std::string address = "unix:" + dir_ + "/c.sock";
  Process c = Start(HeldJob({"--workers", "1", "--max-workers", "2", "--listen", address,
                             "--max-attempts", "10"}),
                    dir_, Env(), "coordinator");
  // Connect only once the socket exists (else gRPC's reconnect backoff adds
  // seconds).
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_ + "/c.sock"); }, absl::Seconds(30)));
  StatusClient status(address);
  ASSERT_TRUE(PollUntil([&] { return status.Running() == 2; }, absl::Seconds(30)))
      << ReadFile(c.stderr_path);
  EXPECT_TRUE(status.Serving());
  pb::WatchEvent ev = status.FirstWatchEvent();
  EXPECT_EQ(ev.status().accounts_running(), 2u);
  EXPECT_EQ(ev.changed_size(), 2);
  pb::GetStatusResponse st;
  ASSERT_TRUE(status.Status(&st));
  ASSERT_EQ(st.workers_size(), 1);
  EXPECT_EQ(st.workers(0).running(), 2u);
  for (const auto& a : status.Accounts()) {
    EXPECT_FALSE(absl::StrContains(a.DebugString(), kSecret));
  }
  std::set<int> killed;
  for (int round = 0; round <= 3; ++round) {  // the first process, 3 respawns
    ASSERT_TRUE(PollUntil(
        [&] {
          return status.Status(&st) && st.workers_size() == 1 && st.workers(0).running() == 2 &&
                 killed.count(st.workers(0).pid()) == 0;
        },
        absl::Seconds(30)))
        << "round " << round << "\n"
        << ReadFile(c.stderr_path);
    killed.insert(st.workers(0).pid());
    ASSERT_EQ(::kill(st.workers(0).pid(), SIGKILL), 0);
  }
  EXPECT_EQ(Wait(c, kRunTimeout), 1) << "the coordinator hung or crashed";
  nlohmann::json r = Report();
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["totals"]["failed"], 2);
  for (const auto& a : r["accounts"]) {
    std::string reason = a["last_error"].get<std::string>();
    EXPECT_TRUE(absl::StrContains(reason, "no live workers")) << a;
    EXPECT_TRUE(absl::StrContains(reason, "worker died")) << a;
  }
  std::string log = Log();
  EXPECT_TRUE(absl::StrContains(log, "killed by signal 9"));
  EXPECT_TRUE(absl::StrContains(log, "respawning (3 of 3)")) << log;
  EXPECT_FALSE(absl::StrContains(log, "respawning (4 of")) << log;
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

// A killed worker's accounts move to the surviving worker (attempt 2); then ^C
// stops the job cleanly: running accounts are cancelled, exit 1, nothing left
// behind.
TEST_F(FleetTest, LostAccountsMoveToTheSurvivorThenInterruptStopsCleanly) {
  WriteHeldConfig(3);
  std::string address = "unix:" + dir_ + "/c.sock";
  Process c = Start(HeldJob({"--workers", "2", "--max-workers", "2", "--listen", address}), dir_,
                    Env(), "coordinator");
  // Connect only once the socket exists (else gRPC's reconnect backoff adds
  // seconds).
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_ + "/c.sock"); }, absl::Seconds(30)));
  StatusClient status(address);
  pb::GetStatusResponse st;
  ASSERT_TRUE(PollUntil(
      [&] {
        return status.Status(&st) && st.accounts_running() == 3 && st.workers_connected() == 2;
      },
      absl::Seconds(30)))
      << ReadFile(c.stderr_path);
  const pb::WorkerInfo* victim = nullptr;
  for (const auto& w : st.workers()) {
    if (w.running() == 2) victim = &w;
  }
  ASSERT_NE(victim, nullptr);
  std::string victim_id = victim->worker_id();
  ASSERT_EQ(::kill(victim->pid(), SIGKILL), 0);
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const auto& a : status.Accounts()) {
          if (a.attempts() == 2 && a.state() == pb::ACCOUNT_STATE_RUNNING &&
              a.worker_id() != victim_id) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(30)))
      << ReadFile(c.stderr_path);
  ASSERT_EQ(::kill(c.pid, SIGINT), 0);
  EXPECT_EQ(Wait(c, kRunTimeout), 1);
  nlohmann::json r = Report();
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(CountState(r, "succeeded"), 0);
  EXPECT_EQ(CountState(r, "cancelled"), 3) << r.dump(2);
  EXPECT_TRUE(absl::StrContains(r["stop_reason"].get<std::string>(), "interrupted"));
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

}  // namespace
}  // namespace fleettest

namespace fleettest {
namespace {

// A second worker may join over --listen; a duplicate id is refused (exit 3).
// After ^C the joined worker is told there is no more work and exits 0.
TEST_F(FleetTest, RemoteWorkerJoinsAndDuplicateIdIsRefused) {
  WriteHeldConfig(1);
  std::string address = "unix:" + dir_ + "/c.sock";
  Process c = Start(HeldJob({"--workers", "1", "--max-workers", "1", "--listen", address}), dir_,
                    Env(), "coordinator");
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_ + "/c.sock"); }, absl::Seconds(30)));
  StatusClient status(address);
  ASSERT_TRUE(PollUntil([&] { return status.Running() == 1; }, absl::Seconds(30)));
  Process dup;
  EXPECT_EQ(RunProcess({Binary("worker"), "--coordinator", address, "--id", "w1"}, dir_, Env(),
                       "dup", absl::Seconds(30), &dup),
            3);
  EXPECT_TRUE(absl::StrContains(ReadFile(dup.stderr_path), "taken"));
  Process extra =
      Start({Binary("worker"), "--coordinator", address, "--id", "extra"}, dir_, Env(), "extra");
  pb::GetStatusResponse st;
  ASSERT_TRUE(PollUntil([&] { return status.Status(&st) && st.workers_connected() == 2; },
                        absl::Seconds(30)));
  ASSERT_EQ(::kill(c.pid, SIGINT), 0);
  EXPECT_EQ(Wait(c, kRunTimeout), 1);
  EXPECT_EQ(Wait(extra, kRunTimeout), 0) << ReadFile(extra.stderr_path);
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

}  // namespace
}  // namespace fleettest

namespace fleettest {
namespace {

// `coordinator --workers 1` whose only worker is SIGKILLed while it holds both
// accounts: the accounts are requeued at once (well within the 120 s lease),
// the worker is respawned under the same id and gets them back (attempt 2);
// then ^C stops the job cleanly.
TEST_F(FleetTest, KilledOnlyWorkerIsRespawnedAndGetsItsAccountsBack) {
  WriteHeldConfig(2);
  std::string address = "unix:" + dir_ + "/c.sock";
  Process c = Start(HeldJob({"--workers", "1", "--max-workers", "2", "--listen", address,
                             "--lease-timeout", "120s"}),
                    dir_, Env(), "coordinator");
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_ + "/c.sock"); }, absl::Seconds(30)));
  StatusClient status(address);
  pb::GetStatusResponse st;
  ASSERT_TRUE(PollUntil(
      [&] { return status.Status(&st) && st.workers_size() == 1 && st.workers(0).running() == 2; },
      absl::Seconds(30)))
      << ReadFile(c.stderr_path);
  const int first_pid = st.workers(0).pid();
  ASSERT_EQ(::kill(first_pid, SIGKILL), 0);
  ASSERT_TRUE(PollUntil(
      [&] {
        std::vector<pb::AccountStatus> accounts = status.Accounts();
        int moved = 0;
        for (const auto& a : accounts) {
          moved +=
              a.attempts() == 2 && a.worker_id() == "w1" && a.state() == pb::ACCOUNT_STATE_RUNNING
                  ? 1
                  : 0;
        }
        return moved == 2 && status.Status(&st) && st.workers_size() == 1 &&
               st.workers(0).pid() != first_pid && st.workers(0).running() == 2;
      },
      absl::Seconds(30)))
      << ReadFile(c.stderr_path);
  EXPECT_TRUE(absl::StrContains(
      Log(), absl::StrCat("worker w1 (pid ", first_pid, ") died (signal 9); respawning (1 of 3)")))
      << Log();
  ASSERT_EQ(::kill(c.pid, SIGINT), 0);
  EXPECT_EQ(Wait(c, kRunTimeout), 1);
  nlohmann::json r = Report();
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(CountState(r, "cancelled"), 2) << r.dump(2);
  ExpectNoSecretAnywhere();
  ExpectNoLeftoverProcesses();
}

}  // namespace
}  // namespace fleettest
