// Who may do what on the coordinator's mutual-TLS port (README "Security: mutual TLS
// between hosts"), with the real binaries over a real loopback TCP socket: client
// certificates from the fleet's CA carry their role as a URI SAN. Refused with
// PERMISSION_DENIED, and never registered: a worker presenting the operator's certificate
// (it would receive account passwords), or one without any role; migratectl presenting a
// worker's certificate. Accepted: migratectl with the operator's (and with a certificate
// holding both roles), and a worker with a worker's, which finishes the job.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/fake_imap.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

constexpr int kAccounts = 6;

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto pki = net::testing::TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::move(*pki);
    ASSERT_TRUE(WriteFile(dir_ + "/ca.pem", ReadFile(pki_->ca_file()), 0644));
    const std::pair<const char*, const net::testing::CertKey*> certs[] = {
        {"coordinator", &pki_->localhost()},
        {"worker", &pki_->worker()},
        {"operator", &pki_->operator_client()},
        {"norole", &pki_->no_role()},
        {"both", &pki_->both_roles()}};
    for (const auto& [name, cert] : certs) {
      ASSERT_TRUE(WriteFile(dir_ + "/" + name + ".pem", cert->cert_pem, 0644));
      ASSERT_TRUE(WriteFile(dir_ + "/" + name + ".key", cert->key_pem, 0600));
    }
    ASSERT_TRUE(imap_.Start("127.0.0.1", 0));
    nlohmann::json j;
    j["server"] = {{"host", "127.0.0.1"}, {"port", imap_.port()}, {"ssl", false}};
    for (int i = 0; i < kAccounts; ++i) {
      j["accounts"].push_back(
          {{"email", absl::StrCat("u", i, "@roles.test")}, {"password", "pw-r0les"}});
    }
    ASSERT_TRUE(WriteFile(dir_ + "/export.pass.config.json", j.dump()));
    address_ = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
  }
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);  // safety net only
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::vector<std::string> Tls(const std::string& who) const {
    return {"--tls-ca",  dir_ + "/ca.pem",         "--tls-cert", dir_ + "/" + who + ".pem",
            "--tls-key", dir_ + "/" + who + ".key"};
  }
  std::vector<std::string> Worker(const std::string& id, const std::string& cert) const {
    std::vector<std::string> argv = {
        Binary("worker"), "--coordinator", address_, "--id", id, "--retry-for", "3s"};
    for (const std::string& s : Tls(cert)) argv.push_back(s);
    return argv;
  }
  // migratectl status --json with `cert`; its exit code, output in `*p`.
  int Status(const std::string& cert, const std::string& tag, Process* p) const {
    std::vector<std::string> argv = {
        Binary("migratectl"), "status", "--json", "--coordinator", address_, "--timeout", "3s"};
    for (const std::string& s : Tls(cert)) argv.push_back(s);
    return RunProcess(argv, dir_, {}, tag, absl::Seconds(20), p);
  }

  std::string dir_, address_;
  std::unique_ptr<net::testing::TestPki> pki_;
  FakeImapServer imap_;
};

TEST_F(RolesTest, OperatorsReadStatusWorkersTakeTasksAndNeitherDoesTheOthersJob) {
  std::vector<std::string> coord = {Binary("coordinator"),
                                    "--mode",
                                    "test",
                                    "--workers",
                                    "0",
                                    "--listen",
                                    address_,
                                    "--config",
                                    dir_ + "/export.pass.config.json",
                                    "--log-dir",
                                    dir_ + "/logs"};
  for (const std::string& s : Tls("coordinator")) coord.push_back(s);
  Process c = Start(coord, dir_, {}, "coordinator");
  // The operator's certificate reads the status (once the coordinator listens).
  Process st;
  ASSERT_TRUE(
      PollUntil([&] { return Status("operator", "ctl-operator", &st) == 0; }, absl::Seconds(30)))
      << ReadFile(c.stderr_path) << ReadFile(st.stderr_path);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(st.stdout_path))["accounts"]["pending"], kAccounts);
  EXPECT_EQ(Status("both", "ctl-both", &st), 0) << ReadFile(st.stderr_path);

  // A worker's certificate may not read the status.
  EXPECT_EQ(Status("worker", "ctl-worker", &st), 3);
  const std::string ctl_err = ReadFile(st.stderr_path);
  EXPECT_TRUE(absl::StrContains(ctl_err, "refused (PERMISSION_DENIED)")) << ctl_err;
  EXPECT_TRUE(absl::StrContains(ctl_err, "'CN=worker-1' may not read the status")) << ctl_err;
  EXPECT_TRUE(absl::StrContains(ctl_err, "urn:imapsync-migrator:role:operator")) << ctl_err;

  // The operator's certificate, and one without a role, may not register as a worker.
  for (const std::string& cert : {std::string("operator"), std::string("norole")}) {
    Process w;
    EXPECT_EQ(RunProcess(Worker("as-" + cert, cert), dir_, {}, "w-" + cert, absl::Seconds(30), &w),
              3)
        << cert;
    const std::string err = ReadFile(w.stderr_path);
    EXPECT_TRUE(absl::StrContains(err, "coordinator refused this worker (PERMISSION_DENIED)"))
        << err;
    EXPECT_TRUE(absl::StrContains(err, "may not register as a worker")) << err;
    EXPECT_TRUE(absl::StrContains(err, "urn:imapsync-migrator:role:worker")) << err;
  }
  ASSERT_EQ(Status("operator", "ctl-after", &st), 0) << ReadFile(st.stderr_path);
  nlohmann::json status = nlohmann::json::parse(ReadFile(st.stdout_path));
  EXPECT_EQ(status["workers"].size(), 0u) << status.dump();  // nobody registered
  EXPECT_EQ(status["accounts"]["pending"], kAccounts);       // nor took a task

  // A worker's certificate registers and finishes the job.
  Process w = Start(Worker("w1", "worker"), dir_, {}, "w1");
  EXPECT_EQ(Wait(c, absl::Seconds(60)), 0) << ReadFile(c.stderr_path);
  EXPECT_EQ(Wait(w, absl::Seconds(30)), 0) << ReadFile(w.stderr_path);
  std::vector<std::string> logs = Glob(dir_ + "/logs", ".log");
  ASSERT_EQ(logs.size(), 1u);
  const std::string log = ReadFile(logs[0]);
  EXPECT_TRUE(absl::StrContains(log, "worker w1 connected")) << log;
  for (const char* id : {"as-operator", "as-norole"}) {
    EXPECT_FALSE(absl::StrContains(log, absl::StrCat("worker ", id, " connected"))) << log;
  }
  EXPECT_TRUE(absl::StrContains(log, "'CN=operator' may not register as a worker")) << log;
  EXPECT_TRUE(absl::StrContains(log, "'CN=no-role' may not register as a worker")) << log;
}

}  // namespace
}  // namespace fleettest
