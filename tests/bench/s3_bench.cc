// s3_bench: the object store against the filesystem store (a benchmark, not a test). The
// same job (export from Dovecot A, import into an empty Dovecot B, validate) runs through
// `coordinator --workers 2` on three stores: a directory, S3 (s3rver on loopback) reached
// directly, and S3 through the WAN emulator (tests/bench/wan_proxy.h) at --rtt-ms. Per step
// it prints the wall time of the coordinator, the S3 requests the workers sent (from the
// stores' own counts in the run log), the peak RSS of the job's largest process
// (coordinator or worker, /usr/bin/time), the CPU time the S3 server (s3rver, one Node.js
// thread) spent on the step, and the S3 / filesystem ratio. When the server's CPU time is
// close to the wall time, the server is what the step waits for.
//
// The corpus: --accounts x 3 folders x --messages, sizes in the mix of the migration
// benchmark (90% 2-16 KB, 9% 20-200 KB, one 1-3 MB message per account), random flags.
//
//   build/tests/s3_bench [--accounts 3] [--messages 60] [--rtt-ms 20] [--workers 2]
//       [--max-workers 4] [--rounds 1] [--verify] [--arg FLAG]...
//
// --verify sends S3 requests through the SigV4-verifying proxy (slower: Python) instead of
// to s3rver itself; --arg passes a flag on to every coordinator run (e.g. --arg
// --store-concurrency=8).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/bench/wan_proxy.h"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/s3/s3_test_server.h"

namespace {

struct Args {
  int accounts = 3, messages = 60, workers = 2, max_workers = 4, rounds = 1;
  double rtt_ms = 20;
  bool verify = false;
  std::vector<std::string> extra;  // passed on to the coordinator
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--verify") {
      a->verify = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    int* n = k == "--accounts"      ? &a->accounts
             : k == "--messages"    ? &a->messages
             : k == "--workers"     ? &a->workers
             : k == "--max-workers" ? &a->max_workers
             : k == "--rounds"      ? &a->rounds
                                    : nullptr;
    if (n != nullptr) {
      if (!absl::SimpleAtoi(v, n)) return false;
    } else if (k == "--rtt-ms") {
      if (!absl::SimpleAtod(v, &a->rtt_ms)) return false;
    } else if (k == "--arg") {
      a->extra.push_back(v);
    } else {
      return false;
    }
  }
  return a->accounts > 0 && a->messages >= 10 && a->rounds > 0 && a->workers > 0;
}

constexpr const char* kFolders[] = {"INBOX", "Sent", "Archive"};

// The corpus on A: per folder 90% small, 9% medium; one large message per account.
bool Seed(const Args& a, testing_fixtures::DovecotServer& server) {
  int seed = 1;
  for (int u = 0; u < a.accounts; ++u) {
    const std::string& email = server.users()[u].email;
    for (const char* folder : kFolders) {
      const int medium = std::max(1, a.messages * 9 / 100);
      struct Part {
        int count;
        size_t min, max;
      };
      std::vector<Part> parts = {{a.messages - medium, 2000, 16000}, {medium, 20000, 200000}};
      if (std::string(folder) == "INBOX") {
        parts[0].count -= 1;
        parts.push_back({1, 1000000, 3000000});
      }
      for (const Part& p : parts) {
        testing_fixtures::SeedOptions so;
        so.min_size = p.min;
        so.max_size = p.max;
        so.random_flags = true;
        so.seed = seed++ * 100000;
        if (!server.SeedGenerated(email, folder, p.count, so).ok()) return false;
      }
    }
  }
  return true;
}

struct Step {
  bool ok = false;
  double wall_s = 0;
  uint64_t requests = 0;  // S3 requests of the workers (0 on the filesystem)
  uint64_t retries = 0;
  long peak_rss_kb = 0;
  uint64_t messages = 0, bytes = 0;
  double server_cpu_s = 0;  // the S3 server's, during the step
};

// CPU seconds (user + system) process `pid` has used; 0 when unknown.
double CpuSeconds(int pid) {
  if (pid <= 0) return 0;
  const std::string stat = fleettest::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  uint64_t utime = 0, stime = 0;  // fields 14 and 15 of the line: 12 and 13 after ')'
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int g_server_pid = 0;  // s3rver's

// Sums the "N request(s) (...), R retried" lines the S3 stores logged in the run log.
void CountRequests(const std::string& log_dir, Step* s) {
  for (const std::string& path : fleettest::Glob(log_dir, ".log")) {
    for (absl::string_view line : absl::StrSplit(fleettest::ReadFile(path), '\n')) {
      const size_t at = line.find(" request(s) (");
      const size_t retried = line.find(" retried");
      if (at == absl::string_view::npos || retried == absl::string_view::npos) continue;
      const size_t start = line.rfind(' ', at - 1) + 1;
      uint64_t n = 0, r = 0;
      if (absl::SimpleAtoi(line.substr(start, at - start), &n)) s->requests += n;
      const size_t rstart = line.rfind(' ', retried - 1) + 1;
      if (absl::SimpleAtoi(line.substr(rstart, retried - rstart), &r)) s->retries += r;
    }
  }
}

struct Store {
  std::string name;      // "fs", "s3", "s3+20ms"
  std::string location;  // directory or s3://bucket/prefix
  std::string endpoint;  // S3 only
};

Step RunStep(const Args& a, const Store& store, const std::string& mode, const std::string& config,
             const std::string& dir, const std::map<std::string, std::string>& env) {
  Step s;
  const std::string run = absl::StrCat(dir, "/", store.name, "-", mode);
  std::system(("rm -rf '" + run + "' && mkdir -p '" + run + "'").c_str());
  std::vector<std::string> argv = {"/usr/bin/time",
                                   "-f",
                                   "%M",
                                   "-o",
                                   run + "/rss",
                                   fleettest::Binary("coordinator"),
                                   "--mode",
                                   mode,
                                   "--config",
                                   config,
                                   mode == "export" ? "--output-dir" : "--input-dir",
                                   store.location,
                                   "--log-dir",
                                   run + "/logs",
                                   "--state",
                                   "none",
                                   "--workers",
                                   absl::StrCat(a.workers),
                                   "--max-workers",
                                   absl::StrCat(a.max_workers),
                                   "--quiet"};
  argv.insert(argv.end(), a.extra.begin(), a.extra.end());
  const double cpu0 = CpuSeconds(g_server_pid);
  const absl::Time t0 = absl::Now();
  const int rc = fleettest::RunProcess(argv, run, env, "coordinator", absl::Minutes(10));
  s.wall_s = absl::ToDoubleSeconds(absl::Now() - t0);
  if (!store.endpoint.empty()) s.server_cpu_s = CpuSeconds(g_server_pid) - cpu0;
  absl::SimpleAtoi(absl::StripAsciiWhitespace(fleettest::ReadFile(run + "/rss")), &s.peak_rss_kb);
  const std::string report = fleettest::NewestReport(run + "/logs", mode);
  if (rc != 0 || report.empty()) {
    std::fprintf(stderr, "s3_bench: %s %s exited %d; see %s\n", store.name.c_str(), mode.c_str(),
                 rc, run.c_str());
    return s;
  }
  const nlohmann::json totals = nlohmann::json::parse(fleettest::ReadFile(report))["totals"];
  s.messages = totals.value("messages_done", 0);
  s.bytes = totals.value("bytes_done", 0);
  s.ok = totals.value("succeeded", 0) == a.accounts;
  CountRequests(run + "/logs", &s);
  return s;
}

std::string WriteConfig(const testing_fixtures::DovecotServer& s, const std::string& path) {
  nlohmann::json j;
  j["server"] = {{"host", s.host()}, {"port", s.imap_port()}, {"ssl", false}};
  for (const auto& u : s.users()) {
    j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
  }
  fleettest::WriteFile(path, j.dump(2));
  return path;
}

// Runs the three steps on `store` (B: a fresh Dovecot). Steps in export, import, validate
// order.
std::vector<Step> RunJob(const Args& a, const Store& store, const std::string& export_config,
                         const std::string& dir, const storage::S3Options& s3) {
  testing_fixtures::DovecotOptions o;
  o.users = a.accounts;
  auto b = testing_fixtures::DovecotServer::Start(o);
  if (!b.ok()) {
    std::fprintf(stderr, "s3_bench: %s\n", b.status().ToString().c_str());
    return {};
  }
  const std::string import_config =
      WriteConfig(**b, absl::StrCat(dir, "/import-", store.name, ".json"));
  std::map<std::string, std::string> env = {{"TMPDIR", dir}};
  if (!store.endpoint.empty()) {
    env["AWS_ACCESS_KEY_ID"] = s3.credentials.access_key_id;
    env["AWS_SECRET_ACCESS_KEY"] = s3.credentials.secret_access_key;
    env["AWS_ENDPOINT_URL"] = store.endpoint;
    env["AWS_REGION"] = s3.region;
    env["S3_FORCE_PATH_STYLE"] = "true";
  }
  std::vector<Step> steps;
  steps.push_back(RunStep(a, store, "export", export_config, dir, env));
  steps.push_back(RunStep(a, store, "import", import_config, dir, env));
  steps.push_back(RunStep(a, store, "validate", import_config, dir, env));
  return steps;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: s3_bench [--accounts N] [--messages N] [--rtt-ms MS] [--workers N] "
                 "[--max-workers N] [--rounds N] [--verify] [--arg FLAG]...\n");
    return 2;
  }
  fleettest::DefaultBinaryDirToThisProgram();
  struct stat st;
  if (::stat("/usr/bin/time", &st) != 0) {
    std::fprintf(stderr, "s3_bench: needs /usr/bin/time (apt-get install time)\n");
    return 3;
  }
  const std::string dir = fleettest::MakeTempDir();
  ::setenv("TMPDIR", dir.c_str(), 1);
  auto s3 = testing_s3::S3TestServer::Start("bench");
  if (!s3.ok()) {
    std::fprintf(stderr, "s3_bench: %s\n", s3.status().ToString().c_str());
    return absl::IsUnavailable(s3.status()) ? 77 : 3;
  }
  testing_fixtures::DovecotOptions o;
  o.users = a.accounts;
  auto server = testing_fixtures::DovecotServer::Start(o);
  if (!server.ok() || !Seed(a, **server)) {
    std::fprintf(stderr, "s3_bench: cannot start or seed Dovecot A\n");
    return 3;
  }
  absl::SimpleAtoi(absl::StripAsciiWhitespace(fleettest::ReadFile((*s3)->dir() + "/s3rver.pid")),
                   &g_server_pid);
  const std::string endpoint = a.verify ? (*s3)->endpoint() : (*s3)->direct_endpoint();
  wanproxy::Options wo;
  wo.routes.push_back({"127.0.0.1:0", endpoint.substr(endpoint.find("://") + 3)});
  wo.rtt_ms = a.rtt_ms;
  wanproxy::WanProxy link(wo);
  std::string error;
  if (!link.Start(&error)) {
    std::fprintf(stderr, "s3_bench: wan_proxy: %s\n", error.c_str());
    return 3;
  }
  std::thread loop([&] { link.Run(); });
  const std::string export_config = WriteConfig(**server, dir + "/export.json");
  const storage::S3Options s3o = (*s3)->Options("");
  const std::string wan_name = absl::StrCat("s3+", a.rtt_ms, "ms");
  std::printf(
      "s3_bench: %d accounts x 3 folders x %d messages, coordinator --workers %d --max-workers "
      "%d%s; S3: s3rver on loopback%s; WAN: rtt %.0f ms\n",
      a.accounts, a.messages, a.workers, a.max_workers, a.extra.empty() ? "" : " (+ flags)",
      a.verify ? " behind the SigV4 verifier" : "", a.rtt_ms);
  const char* kSteps[] = {"export", "import", "validate"};
  int failed = 0;
  for (int round = 1; round <= a.rounds; ++round) {
    const std::vector<Store> stores = {
        {"fs", absl::StrCat(dir, "/fs-export-", round), ""},
        {"s3", absl::StrCat("s3://bench/direct-", round), endpoint},
        {wan_name, absl::StrCat("s3://bench/wan-", round), "http://" + link.bound()[0]},
    };
    std::vector<std::vector<Step>> results;
    for (const Store& store : stores) {
      results.push_back(RunJob(a, store, export_config, dir, s3o));
    }
    std::printf("round %d\n%-10s %-9s %8s %9s %8s %10s %9s %8s %10s\n", round, "store", "step",
                "wall_s", "requests", "retried", "messages", "MB", "rss_MB", "s3rver_cpu");
    for (size_t v = 0; v < stores.size(); ++v) {
      for (size_t k = 0; k < results[v].size(); ++k) {
        const Step& s = results[v][k];
        if (!s.ok) ++failed;
        std::printf(
            "%-10s %-9s %8.3f %9llu %8llu %10llu %9.1f %8.1f %10.2f%s\n", stores[v].name.c_str(),
            kSteps[k], s.wall_s, static_cast<unsigned long long>(s.requests),
            static_cast<unsigned long long>(s.retries), static_cast<unsigned long long>(s.messages),
            s.bytes / 1e6, s.peak_rss_kb / 1024.0, s.server_cpu_s, s.ok ? "" : "  FAILED");
      }
    }
    std::printf("%-10s %-9s %8s %8s\n", "ratio", "step", "s3/fs", wan_name.c_str());
    for (size_t k = 0; k < 3; ++k) {
      if (results[0].size() <= k || results[1].size() <= k || results[2].size() <= k) break;
      const double fs = results[0][k].wall_s;
      std::printf("%-10s %-9s %8.2f %8.2f\n", "", kSteps[k], results[1][k].wall_s / fs,
                  results[2][k].wall_s / fs);
    }
    std::fflush(stdout);
  }
  link.Stop();
  loop.join();
  if (failed == 0) std::system(("rm -rf '" + dir + "'").c_str());
  return failed == 0 ? 0 : 1;
}
