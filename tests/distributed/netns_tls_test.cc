// Workers on other "hosts" over mutual TLS: three network namespaces created
// by this test (C: the coordinator; A and B: workers), joined by veth pairs on
// private subnets that exist only inside them (tests/distributed/netns_hosts.h;
// B reaches C's address on A's link through its default route).
// The PKI (EC P-256, SANs for the addresses used) is made with the openssl CLI.
// Accounts point at a fake IMAP server on 127.0.0.1:1143 inside each
// namespace (tests/distributed/fake_imap.h; every namespace has its own
// loopback), so the --mode test job is real end to end: gRPC over TLS across
// veths, the worker's engine, IMAP over TCP.
//
// Checked: workers in A and B finish the job; a worker whose certificate
// comes from another CA, one without a certificate, one speaking plaintext
// and one expecting another server name are refused; plaintext off loopback
// without --insecure is refused by both binaries (exit 2); migratectl reads
// the status over mTLS with the operator's certificate. Skipped (exit 77) without root or `ip
// netns`. Namespaces and their processes are removed in every case (RAII).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/netns_hosts.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

// Enough accounts that the job outlasts the second worker's TLS connect: with 12, a worker
// that registered ~40 ms before the other could finish them all first (seen once in CI), and
// the assertion that both workers took part failed.
constexpr int kAccounts = 200;
constexpr int kPort = 7443;

std::string FakeImapBinary() {
  const char* dir = std::getenv("MIGRATOR_BINARY_DIR");
  return absl::StrCat(dir ? dir : ".", "/tests/fake_imap");
}

// openssl: a CA and certificates signed by it (EC P-256); the clients' roles are URI SANs
// (README "Security: mutual TLS between hosts").
bool MakePki(const std::string& dir, const std::string& coordinator_ip) {
  std::string script = R"(set -e
cd ")" + dir + R"("
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout $1.key -out $1.pem -days 2 -subj "/CN=$1" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null; }
leaf() {  # name ca san eku
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout $1.key -out $1.csr -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 2 \
    -out $1.pem -extfile $1.ext 2>/dev/null
  chmod 600 $1.key; }
ca ca; ca rogue-ca
leaf server ca "IP:)" + coordinator_ip +
                       R"(,DNS:coordinator.test" serverAuth
leaf worker-a ca DNS:worker-a.test,URI:urn:imapsync-migrator:role:worker clientAuth
leaf worker-b ca DNS:worker-b.test,URI:urn:imapsync-migrator:role:worker clientAuth
leaf operator ca URI:urn:imapsync-migrator:role:operator clientAuth
leaf rogue rogue-ca DNS:worker-a.test,URI:urn:imapsync-migrator:role:worker clientAuth
)";
  std::string path = dir + "/pki.sh";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(script.c_str(), f);
  std::fclose(f);
  return Sh("bash " + path) == 0;
}

class NetnsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!CanMakeNamespaces(&why) || Sh("command -v openssl >/dev/null") != 0) {
      std::fprintf(stderr, "SKIP: %s\n", why.empty() ? "needs openssl" : why.c_str());
      std::exit(77);
    }
    dir_ = MakeTempDir();
    ns_ = std::make_unique<HostNamespaces>(absl::StrCat("t", getpid() % 100000), 2);
    if (!ns_->Create(&why)) {
      ns_.reset();
      std::fprintf(stderr, "SKIP: cannot create network namespaces here: %s\n", why.c_str());
      std::exit(77);
    }
    ASSERT_TRUE(MakePki(dir_, ns_->hub_ip(0)));
    nlohmann::json j;
    j["server"] = {{"host", "127.0.0.1"}, {"port", 1143}, {"ssl", false}};
    for (int i = 0; i < kAccounts; ++i)
      j["accounts"].push_back(
          {{"email", absl::StrCat("u", i, "@netns.test")}, {"password", "pw-n3t"}});
    std::string path = dir_ + "/export.pass.config.json", text = j.dump();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  void TearDown() override {
    ns_.reset();  // kills everything inside the namespaces
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::string Address() const { return ns_->hub_ip(0) + ":" + std::to_string(kPort); }
  std::vector<std::string> Tls(const std::string& who, const std::string& ca = "ca") {
    return {"--tls-ca",  dir_ + "/" + ca + ".pem", "--tls-cert", dir_ + "/" + who + ".pem",
            "--tls-key", dir_ + "/" + who + ".key"};
  }
  std::vector<std::string> Worker(const std::string& id, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {Binary("worker"),
                                     "--coordinator",
                                     Address(),
                                     "--id",
                                     id,
                                     "--retry-for",
                                     "3s",
                                     "--max-workers",
                                     "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  void StartFakeImap(const std::string& ns) {
    Process p = Start(InNamespace(ns, {FakeImapBinary(), "--listen", "127.0.0.1:1143"}), dir_, {},
                      "imap-" + ns);
    ASSERT_TRUE(PollUntil([&] { return absl::StrContains(ReadFile(p.stdout_path), "READY"); },
                          absl::Seconds(10)))
        << ReadFile(p.stderr_path);
  }

  std::string dir_;
  std::unique_ptr<HostNamespaces> ns_;
};

TEST_F(NetnsTlsTest, WorkersInTwoNamespacesFinishOverMutualTlsAndStrangersAreRefused) {
  for (const std::string& ns : {ns_->hub(), ns_->host(0), ns_->host(1)}) StartFakeImap(ns);
  std::vector<std::string> coord = {Binary("coordinator"),
                                    "--mode",
                                    "test",
                                    "--workers",
                                    "0",
                                    "--listen",
                                    Address(),
                                    "--tls-cert",
                                    dir_ + "/server.pem",
                                    "--tls-key",
                                    dir_ + "/server.key",
                                    "--tls-ca",
                                    dir_ + "/ca.pem",
                                    "--log-dir",
                                    dir_ + "/logs",
                                    "--ignore-errors"};
  // Plaintext off loopback is refused by both binaries (exit 2) ...
  Process refused;
  EXPECT_EQ(RunProcess(InNamespace(ns_->hub(), {coord.begin(), coord.begin() + 7}), dir_, {},
                       "plain", absl::Seconds(30), &refused),
            2);
  EXPECT_TRUE(absl::StrContains(ReadFile(refused.stderr_path), "--insecure"));
  EXPECT_EQ(RunProcess(InNamespace(ns_->host(0), Worker("plain", {})), dir_, {}, "wplain",
                       absl::Seconds(30)),
            2);
  Process c = Start(InNamespace(ns_->hub(), coord), dir_, {{"TMPDIR", dir_}}, "coordinator");
  // migratectl over mutual TLS from namespace A (with the operator's certificate).
  std::vector<std::string> ctl = {
      Binary("migratectl"), "status", "--json", "--coordinator", Address(), "--timeout", "2s"};
  std::vector<std::string> ctl_tls = ctl;
  for (const std::string& s : Tls("operator")) ctl_tls.push_back(s);
  Process status;
  ASSERT_TRUE(PollUntil(
      [&] {
        return RunProcess(InNamespace(ns_->host(0), ctl_tls), dir_, {}, "ctl", absl::Seconds(10),
                          &status) == 0;
      },
      absl::Seconds(30)))
      << ReadFile(c.stderr_path) << ReadFile(status.stderr_path);
  nlohmann::json st = nlohmann::json::parse(ReadFile(status.stdout_path));
  EXPECT_EQ(st["accounts"]["pending"], kAccounts);
  EXPECT_EQ(RunProcess(InNamespace(ns_->host(1), ctl), dir_, {}, "ctl-plain", absl::Seconds(20)),
            2);
  // ... and strangers are refused: another CA, no certificate, plaintext, wrong name.
  std::vector<std::string> no_cert = {"--tls-ca", dir_ + "/ca.pem"};
  std::vector<std::string> wrong_name = Tls("worker-a");
  wrong_name.insert(wrong_name.end(), {"--tls-server-name", "other.test"});
  std::vector<Process> strangers = {
      Start(InNamespace(ns_->host(0), Worker("rogue", Tls("rogue"))), dir_, {}, "rogue"),
      Start(InNamespace(ns_->host(1), Worker("nocert", no_cert)), dir_, {}, "nocert"),
      Start(InNamespace(ns_->host(1), Worker("insecure", {"--insecure"})), dir_, {}, "insecure"),
      Start(InNamespace(ns_->host(0), Worker("wrongname", wrong_name)), dir_, {}, "wrongname")};
  for (const Process& p : strangers) {
    EXPECT_EQ(Wait(p, absl::Seconds(60)), 3) << p.stderr_path << "\n" << ReadFile(p.stderr_path);
  }
  EXPECT_TRUE(absl::StrContains(ReadFile(strangers[2].stderr_path), "INSECURE"));
  ASSERT_EQ(
      RunProcess(InNamespace(ns_->host(0), ctl_tls), dir_, {}, "ctl2", absl::Seconds(10), &status),
      0);
  st = nlohmann::json::parse(ReadFile(status.stdout_path));
  EXPECT_EQ(st["workers"].size(), 0u) << st.dump();  // no stranger ever registered
  // The real workers, one per namespace, finish the job.
  Process wa = Start(InNamespace(ns_->host(0), Worker("wa", Tls("worker-a"))), dir_, {}, "wa");
  Process wb = Start(InNamespace(ns_->host(1), Worker("wb", Tls("worker-b"))), dir_, {}, "wb");
  EXPECT_EQ(Wait(c, absl::Seconds(120)), 0) << ReadFile(c.stderr_path);
  EXPECT_EQ(Wait(wa, absl::Seconds(30)), 0) << ReadFile(wa.stderr_path);
  EXPECT_EQ(Wait(wb, absl::Seconds(30)), 0) << ReadFile(wb.stderr_path);
  std::vector<std::string> logs = Glob(dir_ + "/logs", ".log");
  ASSERT_EQ(logs.size(), 1u);
  std::string log = ReadFile(logs[0]);
  EXPECT_TRUE(absl::StrContains(log, "worker wa connected")) << log;
  EXPECT_TRUE(absl::StrContains(log, "worker wb connected")) << log;
  for (const char* id : {"rogue", "nocert", "insecure", "wrongname"})
    EXPECT_FALSE(absl::StrContains(log, absl::StrCat("worker ", id, " connected")));
  std::vector<std::string> reports = Glob(dir_ + "/logs", ".report.json");
  ASSERT_EQ(reports.size(), 1u);
  nlohmann::json r = nlohmann::json::parse(ReadFile(reports[0]));
  std::set<std::string> used;
  for (const auto& a : r["accounts"]) {
    EXPECT_EQ(a["state"], "succeeded") << a.dump();
    used.insert(a["worker_id"].get<std::string>());
  }
  std::fprintf(stderr, "accounts ran on: %s\n", absl::StrJoin(used, ", ").c_str());
  for (const std::string& w : used) EXPECT_TRUE(w == "wa" || w == "wb") << w;
}

}  // namespace
}  // namespace fleettest
