// hosts_bench: scaling over worker hosts (a benchmark, not a test). The same export job
// (Dovecot A -> a directory) and the same import job (that export -> an empty Dovecot B)
// run with 1, 2 and 4 worker "hosts": one `worker` per Linux network namespace
// (tests/distributed/netns_hosts.h), the coordinator in a hub namespace reached over mutual
// TLS (the fleet's certificates with roles, common/net/testing). Each host reaches the two
// Dovecots (in the root namespace) through its OWN emulated link: one WAN emulator per host
// (tests/bench/wan_proxy.h: --rtt-ms, --rate-mbit per direction) listening inside the host's
// namespace on 127.0.0.1 at the Dovecots' own ports, so every host uses the same config, and
// connecting to them from the root namespace. The directory is shared by every host (the
// same file system).
//
// Prints per host count and mode: wall time (the coordinator's, start to exit), MB moved
// (the report's bytes), aggregate MB/s, speed-up over 1 host, the link floor (the busiest
// host's bytes over its link rate: the time a perfect job would need), accounts per host,
// and the CPU seconds of Dovecot (both servers' process trees), the workers, the
// coordinator and the WAN emulators, with what this job and the whole machine kept busy
// (cores = CPU seconds / wall). Every mode is checked exactly: the export against A and B
// against A, account by account and folder by folder (bytes, flags, INTERNALDATE).
//
// Target: 4 hosts >= 3.5x one host while the servers are not the bottleneck: the links
// together must stay well below what Dovecot and the workers do on this machine, so
// measure loopback first (--rate-mbit 0 --rtt-ms 0) and pick --rate-mbit from it.
//
//   build/tests/hosts_bench [--accounts 16] [--folders 2] [--messages 100] [--min-kb 4]
//       [--max-kb 28] [--hosts 1,2,4] [--rtt-ms 20] [--rate-mbit 25] [--max-workers 2]
//       [--rounds 1] [--s3] [--keep]
//
// Needs root, `ip` and /usr/bin/time; exits 77 where network namespaces cannot be made.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/net/testing/test_server.h"
#include "common/storage/store.h"
#include "nlohmann/json.hpp"
#include "tests/bench/wan_proxy.h"
#include "tests/distributed/netns_hosts.h"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_check.h"
#include "tests/fixtures/imap_check.h"
#include "tests/s3/s3_test_server.h"

namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::ServedMessage;
using Mailbox = std::map<std::string, std::vector<ServedMessage>>;

struct Args {
  int accounts = 16, folders = 2, messages = 100, min_kb = 4, max_kb = 28, max_workers = 2;
  std::vector<int> hosts = {1, 2, 4};
  double rtt_ms = 20, rate_mbit = 25;
  int rounds = 1;
  bool keep = false, s3 = false;
};

bool ParseHosts(const std::string& v, std::vector<int>* out) {
  out->clear();
  for (absl::string_view s : absl::StrSplit(v, ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1 || n > 16) return false;
    out->push_back(n);
  }
  return !out->empty();
}

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--keep" || k == "--s3") {
      (k == "--keep" ? a->keep : a->s3) = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    int* n = k == "--accounts"      ? &a->accounts
             : k == "--folders"     ? &a->folders
             : k == "--messages"    ? &a->messages
             : k == "--min-kb"      ? &a->min_kb
             : k == "--max-kb"      ? &a->max_kb
             : k == "--max-workers" ? &a->max_workers
             : k == "--rounds"      ? &a->rounds
                                    : nullptr;
    double* d = k == "--rtt-ms" ? &a->rtt_ms : k == "--rate-mbit" ? &a->rate_mbit : nullptr;
    if (n != nullptr) {
      if (!absl::SimpleAtoi(v, n)) return false;
    } else if (d != nullptr) {
      if (!absl::SimpleAtod(v, d) || *d < 0) return false;
    } else if (k == "--hosts") {
      if (!ParseHosts(v, &a->hosts)) return false;
    } else {
      return false;
    }
  }
  return a->accounts > 0 && a->folders >= 1 && a->folders <= 6 && a->messages > 0 &&
         a->min_kb > 0 && a->max_kb >= a->min_kb && a->max_workers > 0 && a->rounds > 0;
}

constexpr const char* kFolders[] = {"INBOX", "Sent", "Archive", "Work", "Lists", "Drafts"};

absl::Status Seed(const Args& a, DovecotServer& server) {
  for (int u = 0; u < a.accounts; ++u) {
    for (int f = 0; f < a.folders; ++f) {
      testing_fixtures::SeedOptions so;
      so.min_size = static_cast<size_t>(a.min_kb) * 1024;
      so.max_size = static_cast<size_t>(a.max_kb) * 1024;
      so.random_flags = true;
      so.seed = static_cast<uint64_t>(u * 10 + f + 1) * 1000003;
      absl::Status st = server.SeedGenerated(server.users()[u].email, kFolders[f], a.messages, so);
      if (!st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

// ---- CPU time -------------------------------------------------------------------------

std::vector<int> AllPids() {
  std::vector<int> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return pids;
  while (const dirent* e = ::readdir(d)) {
    int pid = 0;
    if (absl::SimpleAtoi(e->d_name, &pid)) pids.push_back(pid);
  }
  ::closedir(d);
  return pids;
}

// utime, stime, cutime, cstime (seconds) and the parent of a /proc/PID/stat line.
bool ProcStat(int pid, double* cpu, int* ppid) {
  const std::string stat = fleettest::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  uint64_t t[4];  // fields 14-17 of the line: 11-14 after ')'
  if (f.size() < 15 || !absl::SimpleAtoi(f[1], ppid)) return false;
  for (int i = 0; i < 4; ++i) {
    if (!absl::SimpleAtoi(f[11 + i], &t[i])) return false;
  }
  *cpu = static_cast<double>(t[0] + t[1] + t[2] + t[3]) / ::sysconf(_SC_CLK_TCK);
  return true;
}

// CPU seconds of the process trees under `roots` (each process's own and its reaped
// children's: a child that exited and was waited for is counted once, in its parent).
double TreeCpu(const std::vector<int>& roots) {
  std::map<int, std::pair<double, int>> procs;  // pid -> (cpu, ppid)
  for (int pid : AllPids()) {
    double cpu = 0;
    int ppid = 0;
    if (ProcStat(pid, &cpu, &ppid)) procs[pid] = {cpu, ppid};
  }
  double sum = 0;
  for (const auto& [pid, p] : procs) {
    for (int at = pid, hops = 0; at > 1 && hops < 64; ++hops) {
      if (std::find(roots.begin(), roots.end(), at) != roots.end()) {
        sum += p.first;
        break;
      }
      auto it = procs.find(at);
      if (it == procs.end()) break;
      at = it->second.second;
    }
  }
  return sum;
}

// The machine's busy CPU seconds so far (every process: /proc/stat, all but idle and
// iowait).
double MachineBusy() {
  const std::string stat = fleettest::ReadFile("/proc/stat");
  std::vector<std::string> f =
      absl::StrSplit(stat.substr(0, stat.find('\n')), ' ', absl::SkipEmpty());
  uint64_t busy = 0;
  for (size_t i = 1; i < f.size() && i <= 8; ++i) {
    uint64_t v = 0;
    if (i != 4 && i != 5 && absl::SimpleAtoi(f[i], &v)) busy += v;  // 4 idle, 5 iowait
  }
  return static_cast<double>(busy) / ::sysconf(_SC_CLK_TCK);
}

double SelfCpu() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// User + system seconds from a `/usr/bin/time -f "%U %S"` output file; 0 when unreadable.
double TimeFileCpu(const std::string& path) {
  std::vector<std::string> f =
      absl::StrSplit(fleettest::ReadFile(path), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  double u = 0, s = 0;
  if (f.size() < 2 || !absl::SimpleAtod(f[f.size() - 2], &u) ||
      !absl::SimpleAtod(f[f.size() - 1], &s)) {
    return 0;
  }
  return u + s;
}

// ---- hosts and their links ---------------------------------------------------------------

// True once something accepts TCP connections on host:port inside namespace `ns`.
bool Listening(const std::string& ns, const std::string& host, int port) {
  bool ok = false;
  fleettest::RunInNamespace(ns, [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
  });
  return ok;
}

// One emulated link per host: a WAN emulator whose listening sockets are made inside the
// host's namespace (127.0.0.1 at each Dovecot's port) and whose event loop, in the root
// namespace, connects to the Dovecots.
class HostLinks {
 public:
  ~HostLinks() { Stop(); }
  bool Start(const fleettest::HostNamespaces& ns, int hosts, const Args& a,
             const std::vector<int>& ports, std::string* error) {
    for (int i = 0; i < hosts; ++i) {
      wanproxy::Options o;
      for (int port : ports) {
        o.routes.push_back({absl::StrCat("127.0.0.1:", port), absl::StrCat("127.0.0.1:", port)});
      }
      o.rtt_ms = a.rtt_ms;
      o.rate_mbit = a.rate_mbit;
      links_.push_back(std::make_unique<wanproxy::WanProxy>(o));
      bool started = false;
      if (!fleettest::RunInNamespace(ns.host(i), [&] { started = links_.back()->Start(error); }) ||
          !started) {
        if (error->empty()) *error = "cannot enter namespace " + ns.host(i);
        return false;
      }
      wanproxy::WanProxy* link = links_.back().get();
      loops_.emplace_back([link] { link->Run(); });
    }
    return true;
  }
  void Stop() {
    for (auto& l : links_) l->Stop();
    for (std::thread& t : loops_) t.join();
    loops_.clear();
  }
  // What each host's link carried so far.
  std::vector<wanproxy::Stats> Stats() const {
    std::vector<wanproxy::Stats> out;
    for (const auto& l : links_) out.push_back(l->stats());
    return out;
  }

 private:
  std::vector<std::unique_ptr<wanproxy::WanProxy>> links_;
  std::vector<std::thread> loops_;
};

// ---- one job --------------------------------------------------------------------------

constexpr int kCoordinatorPort = 7443;

struct Servers {
  std::vector<int> dovecots;  // A's and B's master processes
  int s3 = 0;                 // s3rver's (0: none)
};

struct Step {
  bool ran = false;  // the coordinator exited 0 with a report
  int succeeded = 0;
  double wall_s = 0;
  uint64_t bytes = 0, messages = 0;
  std::map<std::string, int> accounts_by_host;  // worker id -> accounts
  double link_floor_s = 0;                      // the busiest link's bytes over its rate
  double cpu_dovecot = 0, cpu_s3 = 0, cpu_workers = 0, cpu_coordinator = 0, cpu_links = 0,
         cpu_machine = 0;
  std::string problems;  // what the exact comparison found ("" = exact)
};

class Bench {
 public:
  Bench(const Args& a, const fleettest::HostNamespaces& ns, std::string dir)
      : a_(a), ns_(ns), dir_(std::move(dir)) {}

  // The fleet's certificates (the coordinator's names localhost, so the workers give
  // --tls-server-name localhost), written into the work directory.
  bool WritePki() {
    auto pki = net::testing::TestPki::Create();
    if (!pki.ok()) return false;
    const std::pair<const char*, const net::testing::CertKey*> certs[] = {
        {"coordinator", &(*pki)->localhost()}, {"worker", &(*pki)->worker()}};
    bool ok = fleettest::WriteFile(dir_ + "/ca.pem", fleettest::ReadFile((*pki)->ca_file()));
    for (const auto& [name, cert] : certs) {
      ok = ok && fleettest::WriteFile(dir_ + "/" + name + ".pem", cert->cert_pem) &&
           fleettest::WriteFile(dir_ + "/" + name + ".key", cert->key_pem);
    }
    return ok;
  }

  Step Run(int hosts, int round, const std::string& mode, const std::string& config,
           const std::string& store, const Servers& servers, const HostLinks& links);

 private:
  std::vector<std::string> Tls(const std::string& who) const {
    return {"--tls-ca",  dir_ + "/ca.pem",         "--tls-cert", dir_ + "/" + who + ".pem",
            "--tls-key", dir_ + "/" + who + ".key"};
  }
  std::string Address() const { return absl::StrCat(ns_.hub_ip(0), ":", kCoordinatorPort); }
  std::vector<std::string> Timed(const std::string& out, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"/usr/bin/time", "-f", "%U %S", "-o", out});
    return argv;
  }
  std::vector<std::string> Coordinator(const std::string& mode, const std::string& config,
                                       const std::string& store, const std::string& run) const;
  std::vector<std::string> Worker(int host, const std::string& run) const;
  void ReadReport(const std::string& run, const std::string& mode, Step* s) const;

  const Args& a_;
  const fleettest::HostNamespaces& ns_;
  std::string dir_;
};

std::vector<std::string> Bench::Coordinator(const std::string& mode, const std::string& config,
                                            const std::string& store,
                                            const std::string& run) const {
  std::vector<std::string> argv = {fleettest::Binary("coordinator"),
                                   "--mode",
                                   mode,
                                   "--config",
                                   config,
                                   mode == "export" ? "--output-dir" : "--input-dir",
                                   store,
                                   "--log-dir",
                                   run + "/logs",
                                   "--state",
                                   "none",
                                   "--workers",
                                   "0",
                                   "--listen",
                                   Address(),
                                   "--quiet"};
  for (const std::string& s : Tls("coordinator")) argv.push_back(s);
  return fleettest::InNamespace(ns_.hub(), Timed(run + "/coordinator.time", argv));
}

std::vector<std::string> Bench::Worker(int host, const std::string& run) const {
  std::vector<std::string> argv = {fleettest::Binary("worker"),
                                   "--coordinator",
                                   Address(),
                                   "--id",
                                   absl::StrCat("host", host + 1),
                                   "--max-workers",
                                   absl::StrCat(a_.max_workers),
                                   "--retry-for",
                                   "30s",
                                   "--tls-server-name",
                                   "localhost"};
  for (const std::string& s : Tls("worker")) argv.push_back(s);
  return fleettest::InNamespace(ns_.host(host),
                                Timed(absl::StrCat(run, "/worker", host + 1, ".time"), argv));
}

void Bench::ReadReport(const std::string& run, const std::string& mode, Step* s) const {
  const std::string report = fleettest::NewestReport(run + "/logs", mode);
  if (report.empty()) return;
  const nlohmann::json r = nlohmann::json::parse(fleettest::ReadFile(report));
  s->messages = r["totals"].value("messages_done", 0);
  s->bytes = r["totals"].value("bytes_done", 0);
  s->succeeded = r["totals"].value("succeeded", 0);
  for (const auto& acc : r["accounts"]) ++s->accounts_by_host[acc.value("worker_id", "?")];
  s->ran = true;
}

Step Bench::Run(int hosts, int round, const std::string& mode, const std::string& config,
                const std::string& store, const Servers& servers, const HostLinks& links) {
  Step s;
  const std::string run = absl::StrCat(dir_, "/", hosts, "h-", mode, "-", round);
  fleettest::Sh("rm -rf '" + run + "' && mkdir -p '" + run + "'");
  const fleettest::Process c =
      fleettest::Start(Coordinator(mode, config, store, run), run, {}, "coordinator");
  if (!fleettest::PollUntil([&] { return Listening(ns_.hub(), ns_.hub_ip(0), kCoordinatorPort); },
                            absl::Seconds(30))) {
    std::fprintf(stderr, "hosts_bench: the coordinator does not listen; see %s\n", run.c_str());
    fleettest::Wait(c, absl::Seconds(1));
    return s;
  }
  const double dovecot0 = TreeCpu(servers.dovecots), s3_0 = TreeCpu({servers.s3}),
               self0 = SelfCpu(), machine0 = MachineBusy();
  const std::vector<wanproxy::Stats> links0 = links.Stats();
  const absl::Time t0 = absl::Now();
  std::vector<fleettest::Process> workers;
  for (int i = 0; i < hosts; ++i) {
    workers.push_back(fleettest::Start(Worker(i, run), run, {}, absl::StrCat("worker", i + 1)));
  }
  const int rc = fleettest::Wait(c, absl::Minutes(30));
  s.wall_s = absl::ToDoubleSeconds(absl::Now() - t0);
  for (const fleettest::Process& w : workers) fleettest::Wait(w, absl::Seconds(60));
  s.cpu_dovecot = TreeCpu(servers.dovecots) - dovecot0;
  s.cpu_s3 = TreeCpu({servers.s3}) - s3_0;
  s.cpu_links = SelfCpu() - self0;
  s.cpu_machine = MachineBusy() - machine0;
  s.cpu_coordinator = TimeFileCpu(run + "/coordinator.time");
  for (int i = 0; i < hosts; ++i) {
    s.cpu_workers += TimeFileCpu(absl::StrCat(run, "/worker", i + 1, ".time"));
  }
  const std::vector<wanproxy::Stats> links1 = links.Stats();
  for (size_t i = 0; i < links1.size() && a_.rate_mbit > 0; ++i) {  // the busier direction
    const uint64_t bytes = std::max(links1[i].bytes_up - links0[i].bytes_up,
                                    links1[i].bytes_down - links0[i].bytes_down);
    s.link_floor_s = std::max(s.link_floor_s, bytes / (a_.rate_mbit * 1e6 / 8));
  }
  if (rc == 0) ReadReport(run, mode, &s);
  if (!s.ran) {
    std::fprintf(stderr, "hosts_bench: %d host(s) %s: the coordinator exited %d; see %s\n", hosts,
                 mode.c_str(), rc, run.c_str());
  }
  return s;
}

// ---- exactness --------------------------------------------------------------------------

// The accounts whose export differs from A (or is inconsistent), named.
std::string ExportProblems(const std::string& store_dir, const DovecotServer& a,
                           const std::vector<Mailbox>& on_a) {
  auto store = storage::OpenStore(store_dir);
  if (!store.ok()) return "cannot open the export: " + std::string(store.status().message());
  std::vector<std::string> bad;
  for (size_t u = 0; u < on_a.size(); ++u) {
    const std::string& email = a.users()[u].email;
    if (testing_fixtures::ExportSnapshot(**store, email) != on_a[u] ||
        !testing_fixtures::ExportProblems(**store, email).empty()) {
      bad.push_back(email);
    }
  }
  return bad.empty() ? "" : "differs from A: " + absl::StrJoin(bad, ", ");
}

std::string TargetProblems(const DovecotServer& b, const std::vector<Mailbox>& on_a) {
  std::vector<std::string> bad;
  for (size_t u = 0; u < on_a.size(); ++u) {
    if (testing_fixtures::MailboxSnapshot(b, static_cast<int>(u)) != on_a[u]) {
      bad.push_back(b.users()[u].email);
    }
  }
  return bad.empty() ? "" : "B differs from A: " + absl::StrJoin(bad, ", ");
}

}  // namespace

namespace {

struct Round {
  int hosts = 0;
  Step export_step, import_step;
};

void PrintRow(const Args& a, int hosts, const char* mode, const Step& s, double base_mbs) {
  const double mbs = s.wall_s > 0 ? s.bytes / 1e6 / s.wall_s : 0;
  std::vector<std::string> per_host;
  for (const auto& [id, n] : s.accounts_by_host) per_host.push_back(absl::StrCat(n));
  const double ours = s.cpu_dovecot + s.cpu_s3 + s.cpu_workers + s.cpu_coordinator + s.cpu_links;
  std::string exact = "yes";
  if (!s.ran || s.succeeded != a.accounts) {
    exact = absl::StrCat("NO: ", s.succeeded, " of ", a.accounts, " accounts succeeded");
  } else if (!s.problems.empty()) {
    exact = "NO: " + s.problems;
  }
  std::printf(
      "%5d %-6s %7.2f %7.1f %6.2f %7s %7.2f %-11s | %7.2f %6.2f %7.2f %6.2f %6.2f | %5.2f %7.2f | "
      "%s\n",
      hosts, mode, s.wall_s, s.bytes / 1e6, mbs,
      base_mbs > 0 ? absl::StrFormat("%.2fx", mbs / base_mbs).c_str() : "-", s.link_floor_s,
      absl::StrJoin(per_host, "/").c_str(), s.cpu_dovecot, s.cpu_s3, s.cpu_workers,
      s.cpu_coordinator, s.cpu_links, s.wall_s > 0 ? ours / s.wall_s : 0,
      s.wall_s > 0 ? s.cpu_machine / s.wall_s : 0, exact.c_str());
}

void PrintTable(const Args& a, const std::vector<Round>& rounds) {
  std::printf("\n%5s %-6s %7s %7s %6s %7s %7s %-11s | %7s %6s %7s %6s %6s | %5s %7s | %s\n",
              "hosts", "mode", "wall_s", "MB", "MB/s", "speedup", "floor_s", "accts/host",
              "dovecot", "s3rver", "workers", "coord", "links", "ours", "machine", "exact");
  std::printf("%64s | %37s | %13s |\n", "", "CPU seconds", "cores busy");
  for (const char* mode : {"export", "import"}) {
    double base = 0;
    for (const Round& r : rounds) {
      const Step& s = std::string(mode) == "export" ? r.export_step : r.import_step;
      if (base == 0 && r.hosts == 1 && s.wall_s > 0) base = s.bytes / 1e6 / s.wall_s;
      PrintRow(a, r.hosts, mode, s, base);
    }
  }
}

// The target per mode: 4 hosts >= 3.5x one host; and what bound the 4-host run.
void PrintVerdict(const std::vector<Round>& rounds, int cores) {
  const Round* one = nullptr;
  const Round* four = nullptr;
  for (const Round& r : rounds) {
    if (r.hosts == 1) one = &r;
    if (r.hosts == 4) four = &r;
  }
  if (one == nullptr || four == nullptr) return;
  for (const char* mode : {"export", "import"}) {
    const bool ex = std::string(mode) == "export";
    const Step& s1 = ex ? one->export_step : one->import_step;
    const Step& s4 = ex ? four->export_step : four->import_step;
    if (s1.wall_s <= 0 || s4.wall_s <= 0 || s1.bytes == 0) continue;
    const double speedup = (s4.bytes / s4.wall_s) / (s1.bytes / s1.wall_s);
    const double machine = s4.cpu_machine / s4.wall_s;
    std::string bound = "neither links nor CPU: latency/scheduling";
    if (s4.link_floor_s >= 0.8 * s4.wall_s) {
      bound = "the links (as intended)";
    } else if (s4.cpu_s3 >= 0.8 * s4.wall_s) {
      bound = absl::StrFormat("s3rver (one Node.js thread, %.2f s CPU in %.2f s)", s4.cpu_s3,
                              s4.wall_s);
    } else if (machine >= 0.8 * cores) {
      const double ours =
          (s4.cpu_dovecot + s4.cpu_s3 + s4.cpu_workers + s4.cpu_coordinator + s4.cpu_links) /
          s4.wall_s;
      bound = ours >= 0.5 * machine
                  ? absl::StrFormat("the CPU (this job %.2f of %d cores)", ours, cores)
                  : absl::StrFormat(
                        "the CPU, taken by other work (the machine %.2f of %d cores busy, this "
                        "job %.2f): a noisy measurement, run it again",
                        machine, cores, ours);
    }
    std::printf("target %s: 4 hosts %.2fx one host (>= 3.5x): %s; 4-host run bound by %s\n", mode,
                speedup, speedup >= 3.5 ? "MET" : "NOT MET", bound.c_str());
  }
}

// The step of median wall time.
Step MedianStep(std::vector<Step> steps) {
  std::sort(steps.begin(), steps.end(),
            [](const Step& x, const Step& y) { return x.wall_s < y.wall_s; });
  return steps[steps.size() / 2];
}

// Per mode, the step of median wall time.
Round Median(const std::vector<Round>& runs) {
  Round m;
  m.hosts = runs[0].hosts;
  std::vector<Step> exports, imports;
  for (const Round& r : runs) {
    exports.push_back(r.export_step);
    imports.push_back(r.import_step);
  }
  m.export_step = MedianStep(exports);
  m.import_step = MedianStep(imports);
  return m;
}

// What every round shares.
struct World {
  std::string dir;
  std::unique_ptr<fleettest::HostNamespaces> ns;
  std::unique_ptr<DovecotServer> server_a;
  std::vector<Mailbox> on_a;  // every account of A, for the exact comparisons
  std::unique_ptr<testing_s3::S3TestServer> s3;
  int s3_port = 0, s3_pid = 0;
  uint64_t messages = 0, bytes = 0;
};

// "" when the step moved every message of A (each run starts from nothing), else what it
// moved.
std::string Moved(const Step& s, const World& w) {
  return s.messages == w.messages
             ? ""
             : absl::StrCat("moved ", s.messages, " of ", w.messages, " messages; ");
}

// Export and import with `hosts` hosts, each with its own link; B is a fresh server.
Round RunRound(const Args& a, Bench& bench, int hosts, int round, const World& w) {
  Round r;
  r.hosts = hosts;
  testing_fixtures::DovecotOptions o;
  o.users = a.accounts;
  auto b = DovecotServer::Start(o);
  if (!b.ok()) {
    std::fprintf(stderr, "hosts_bench: Dovecot B: %s\n", b.status().ToString().c_str());
    return r;
  }
  const std::string export_config = w.dir + "/export.json";
  const std::string import_config = absl::StrCat(w.dir, "/import-", hosts, "-", round, ".json");
  nlohmann::json j = nlohmann::json::parse(fleettest::ReadFile(export_config));
  j["server"]["port"] = (*b)->imap_port();
  fleettest::WriteFile(import_config, j.dump(2));
  std::vector<int> ports = {w.server_a->imap_port(), (*b)->imap_port()};
  if (w.s3 != nullptr) ports.push_back(w.s3_port);  // the store over the host's link too
  HostLinks links;
  std::string error;
  if (!links.Start(*w.ns, hosts, a, ports, &error)) {
    std::fprintf(stderr, "hosts_bench: wan_proxy: %s\n", error.c_str());
    return r;
  }
  const std::string out = w.s3 != nullptr ? absl::StrCat("s3://bench/hosts-", hosts, "-", round)
                                          : absl::StrCat(w.dir, "/export-", hosts, "-", round);
  const Servers servers = {{w.server_a->pid(), (*b)->pid()}, w.s3_pid};
  r.export_step = bench.Run(hosts, round, "export", export_config, out, servers, links);
  if (r.export_step.ran) {
    r.export_step.problems = Moved(r.export_step, w) + ExportProblems(out, *w.server_a, w.on_a);
  }
  r.import_step = bench.Run(hosts, round, "import", import_config, out, servers, links);
  if (r.import_step.ran) {
    r.import_step.problems = Moved(r.import_step, w) + TargetProblems(**b, w.on_a);
  }
  links.Stop();
  if (!a.keep && w.s3 == nullptr) fleettest::Sh("rm -rf '" + out + "'");  // 2 files a message
  std::printf("%d host(s): export %.2f s, import %.2f s\n", hosts, r.export_step.wall_s,
              r.import_step.wall_s);
  std::fflush(stdout);
  return r;
}

bool WriteExportConfig(const DovecotServer& a, const std::string& path) {
  nlohmann::json j;
  j["server"] = {{"host", a.host()}, {"port", a.imap_port()}, {"ssl", false}, {"starttls", false}};
  for (const auto& u : a.users()) {
    j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
  }
  return fleettest::WriteFile(path, j.dump(2));
}

// s3rver on loopback (bucket "bench"), its credentials in this process's environment, which
// the coordinator and the workers inherit. 77 when s3rver cannot be had here.
int StartS3(World* w) {
  auto s3 = testing_s3::S3TestServer::Start("bench");
  if (!s3.ok()) {
    std::fprintf(stderr, "%s: %s\n", absl::IsUnavailable(s3.status()) ? "SKIP" : "hosts_bench",
                 s3.status().ToString().c_str());
    return absl::IsUnavailable(s3.status()) ? 77 : 3;
  }
  w->s3 = std::move(*s3);
  const std::string endpoint = w->s3->direct_endpoint();  // http://127.0.0.1:PORT
  if (!absl::SimpleAtoi(endpoint.substr(endpoint.rfind(':') + 1), &w->s3_port)) return 3;
  absl::SimpleAtoi(absl::StripAsciiWhitespace(fleettest::ReadFile(w->s3->dir() + "/s3rver.pid")),
                   &w->s3_pid);
  const storage::S3Options o = w->s3->Options("");
  ::setenv("AWS_ACCESS_KEY_ID", o.credentials.access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", o.credentials.secret_access_key.c_str(), 1);
  ::setenv("AWS_ENDPOINT_URL", endpoint.c_str(), 1);
  ::setenv("AWS_REGION", o.region.c_str(), 1);
  ::setenv("S3_FORCE_PATH_STYLE", "true", 1);
  return 0;
}

// The namespaces, Dovecot A seeded and read back, S3 with --s3. 0, or the exit code.
int Setup(const Args& a, World* w) {
  std::string why;
  if (!fleettest::CanMakeNamespaces(&why)) {
    std::fprintf(stderr, "SKIP: %s\n", why.c_str());
    return 77;
  }
  struct stat st;
  if (::stat("/usr/bin/time", &st) != 0) {
    std::fprintf(stderr, "hosts_bench: needs /usr/bin/time (apt-get install time)\n");
    return 3;
  }
  w->ns = std::make_unique<fleettest::HostNamespaces>(
      absl::StrCat("b", ::getpid() % 100000), *std::max_element(a.hosts.begin(), a.hosts.end()));
  if (!w->ns->Create(&why)) {
    std::fprintf(stderr, "SKIP: cannot create network namespaces here: %s\n", why.c_str());
    return 77;
  }
  w->dir = fleettest::MakeTempDir();
  ::setenv("TMPDIR", w->dir.c_str(), 1);
  if (a.s3) {
    if (int rc = StartS3(w); rc != 0) return rc;
  }
  testing_fixtures::DovecotOptions o;
  o.users = a.accounts;
  auto server_a = DovecotServer::Start(o);
  if (!server_a.ok() || !Seed(a, **server_a).ok() ||
      !WriteExportConfig(**server_a, w->dir + "/export.json")) {
    std::fprintf(stderr, "hosts_bench: cannot start or seed Dovecot A\n");
    return 3;
  }
  w->server_a = std::move(*server_a);
  for (int u = 0; u < a.accounts; ++u) {
    w->on_a.push_back(testing_fixtures::MailboxSnapshot(*w->server_a, u));
    for (const auto& [folder, list] : w->on_a.back()) {
      for (const ServedMessage& m : list) ++w->messages, w->bytes += m.body.size();
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: hosts_bench [--accounts 16] [--folders 2] [--messages 100] [--min-kb 4] "
                 "[--max-kb 28] [--hosts 1,2,4] [--rtt-ms 20] [--rate-mbit 25] "
                 "[--max-workers 2] [--rounds 1] [--s3] [--keep]\n");
    return 2;
  }
  fleettest::DefaultBinaryDirToThisProgram();
  World w;
  if (int rc = Setup(a, &w); rc != 0) return rc;
  Bench bench(a, *w.ns, w.dir);
  if (!bench.WritePki()) {
    std::fprintf(stderr, "hosts_bench: cannot make the certificates\n");
    return 3;
  }
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::printf(
      "hosts_bench: %d accounts x %d folder(s) x %d messages (%llu messages, %.1f MB, %d-%d "
      "KB); store: %s; per host: a link of %.0f ms RTT, %s, one worker --max-workers %d; %ld "
      "cores\n",
      a.accounts, a.folders, a.messages, static_cast<unsigned long long>(w.messages), w.bytes / 1e6,
      a.min_kb, a.max_kb, a.s3 ? "S3 (s3rver, over each host's link)" : "directory", a.rtt_ms,
      a.rate_mbit > 0 ? absl::StrCat(a.rate_mbit, " Mbit/s each way").c_str() : "no rate cap",
      a.max_workers, cores);
  std::fflush(stdout);
  std::map<int, std::vector<Round>> runs;  // by host count
  bool ok = true;
  for (int round = 0; round < a.rounds; ++round) {  // interleaved: noise spread over all
    for (int hosts : a.hosts) {
      runs[hosts].push_back(RunRound(a, bench, hosts, round, w));
      for (const Step* s : {&runs[hosts].back().export_step, &runs[hosts].back().import_step}) {
        ok = ok && s->ran && s->succeeded == a.accounts && s->problems.empty();
      }
    }
  }
  std::vector<Round> rounds;
  for (int hosts : a.hosts) rounds.push_back(Median(runs[hosts]));
  if (a.rounds > 1) std::printf("\nmedian of %d rounds by wall time, per mode:", a.rounds);
  PrintTable(a, rounds);
  PrintVerdict(rounds, static_cast<int>(cores));
  std::fflush(stdout);
  if (ok && !a.keep) {
    fleettest::Sh("rm -rf '" + w.dir + "'");
  } else {
    std::printf("(kept %s)\n", w.dir.c_str());
  }
  return ok ? 0 : 1;
}
