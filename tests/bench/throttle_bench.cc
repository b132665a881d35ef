// throttle_bench: what throttling costs a job in wall time (a benchmark, not a test). The
// same `coordinator --mode export` job runs twice per round against one seeded Dovecot:
// through a fault proxy that injects nothing (unthrottled), and through one that answers
// some UID FETCHes with Microsoft's "NO Request is throttled. Suggested Backoff Time: N
// milliseconds" (throttled). The extra wall time should be the server-suggested waits, not
// multiples of them: the ratio (throttled - unthrottled) / (sum of suggested waits) is
// printed, with the pacer's own paused time from the JSON report.
//
// By default the job runs one account at a time on one connection (--workers 1
// --max-workers 1 --connections 1), so every pause is on the job's critical path and the
// ratio reads directly; with parallel accounts or connections the others go on during a
// pause and the ratio drops below 1. `--mix providers` uses the mix of providers_e2e_test
// instead (suggested waits, a Gmail throttle without a wait, slow-down OKs, a per-account
// login cap): its backoffs are the pacer's choice, so compare with the paused time then.
//
//   build/tests/throttle_bench [--accounts 4] [--folders 4] [--messages 60] [--throttles 6]
//       [--wait-ms 500] [--workers 1] [--max-workers 1] [--connections 1] [--rounds 1]
//       [--mix suggested|providers]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"

namespace {

using testing_fixtures::Fault;

struct Args {
  int accounts = 4, folders = 4, messages = 60, throttles = 6, wait_ms = 500;
  int workers = 1, max_workers = 1, connections = 1, rounds = 1;
  std::string mix = "suggested";
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return false;
    const std::string v = argv[i + 1];
    int* n = k == "--accounts"      ? &a->accounts
             : k == "--folders"     ? &a->folders
             : k == "--messages"    ? &a->messages
             : k == "--throttles"   ? &a->throttles
             : k == "--wait-ms"     ? &a->wait_ms
             : k == "--workers"     ? &a->workers
             : k == "--max-workers" ? &a->max_workers
             : k == "--connections" ? &a->connections
             : k == "--rounds"      ? &a->rounds
                                    : nullptr;
    if (n != nullptr) {
      *n = std::atoi(v.c_str());
    } else if (k == "--mix" && (v == "suggested" || v == "providers")) {
      a->mix = v;
    } else {
      return false;
    }
  }
  return a->accounts > 0 && a->folders > 0 && a->messages > 0 && a->rounds > 0;
}

std::string MsThrottle(int wait_ms) {
  return absl::StrCat("NO Request is throttled. Suggested Backoff Time: ", wait_ms,
                      " milliseconds");
}

// The faults of a throttled run.
testing_fixtures::FaultProxyOptions Faults(const Args& a) {
  testing_fixtures::FaultProxyOptions o;
  if (a.mix == "providers") {
    o.max_logins_per_user = 2;
    o.faults = {
        {Fault::Action::kReplace, "UID FETCH", 0, 2, MsThrottle(a.wait_ms)},
        {Fault::Action::kReplace, "UID FETCH", 3, 1,
         "NO [OVERQUOTA] Account exceeded command or bandwidth limits."},
        {Fault::Action::kSlowDownOk, "UID FETCH", 5, 2, ""},
        {Fault::Action::kReplace, "EXAMINE", 2, 1, MsThrottle(a.wait_ms)},
    };
    return o;
  }
  // Spread over the job: the i-th fires at the (3i+1)-th UID FETCH.
  for (int i = 0; i < a.throttles; ++i) {
    o.faults.push_back({Fault::Action::kReplace, "UID FETCH", 3 * i, 1, MsThrottle(a.wait_ms)});
  }
  return o;
}

struct RunResult {
  bool ok = false;
  double wall_s = 0;  // the coordinator process, start to exit
  nlohmann::json totals;
  testing_fixtures::FaultCounts fired;
};

RunResult Export(const Args& a, const testing_fixtures::DovecotServer& server,
                 testing_fixtures::FaultProxyOptions faults, const std::string& dir,
                 const std::string& tag) {
  RunResult r;
  faults.target = absl::StrCat(server.host(), ":", server.imap_port());
  auto proxy = testing_fixtures::FaultProxy::Start(faults);
  if (!proxy.ok()) {
    std::fprintf(stderr, "throttle_bench: %s\n", proxy.status().ToString().c_str());
    return r;
  }
  nlohmann::json j;
  j["server"] = {{"host", "127.0.0.1"},
                 {"port", (*proxy)->port()},
                 {"ssl", false},
                 {"starttls", false},
                 {"max_connections_per_account", a.connections}};
  for (const auto& u : server.users()) {
    j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
  }
  const std::string run = dir + "/" + tag;
  std::system(("rm -rf '" + run + "' && mkdir -p '" + run + "'").c_str());
  if (!fleettest::WriteFile(run + "/export.json", j.dump(2))) return r;
  const absl::Time t0 = absl::Now();
  const int rc = fleettest::RunProcess(
      {fleettest::Binary("coordinator"), "--mode", "export", "--config", run + "/export.json",
       "--output-dir", run + "/out", "--log-dir", run + "/logs", "--workers",
       absl::StrCat(a.workers), "--max-workers", absl::StrCat(a.max_workers), "--quiet"},
      run, {{"TMPDIR", run}}, "coordinator", absl::Minutes(10));
  r.wall_s = absl::ToDoubleSeconds(absl::Now() - t0);
  r.fired = (*proxy)->counts();
  const std::string report = fleettest::NewestReport(run + "/logs", "export");
  if (rc != 0 || report.empty()) {
    std::fprintf(stderr, "throttle_bench: %s export exited %d; see %s\n", tag.c_str(), rc,
                 run.c_str());
    return r;
  }
  r.totals = nlohmann::json::parse(fleettest::ReadFile(report))["totals"];
  r.ok = r.totals["succeeded"] == a.accounts;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: throttle_bench [--accounts N] [--folders N] [--messages N] "
                 "[--throttles N] [--wait-ms MS] [--workers N] [--max-workers N] "
                 "[--connections N] [--rounds N] [--mix suggested|providers]\n");
    return 2;
  }
  fleettest::DefaultBinaryDirToThisProgram();
  testing_fixtures::DovecotOptions o;
  o.users = a.accounts;
  auto server = testing_fixtures::DovecotServer::Start(o);
  if (!server.ok()) {
    std::fprintf(stderr, "throttle_bench: %s\n", server.status().ToString().c_str());
    return 3;
  }
  testing_fixtures::SeedOptions so;
  for (const auto& u : (*server)->users()) {
    for (int f = 0; f < a.folders; ++f) {
      so.seed = f + 1;
      const std::string folder = f == 0 ? "INBOX" : absl::StrCat("Folder", f);
      if (!(*server)->SeedGenerated(u.email, folder, a.messages, so).ok()) return 3;
    }
  }
  const std::string dir = fleettest::MakeTempDir();
  std::printf(
      "throttle_bench: export of %d accounts x %d folders x %d messages, --workers %d "
      "--max-workers %d, %d connection(s) per account, mix %s\n",
      a.accounts, a.folders, a.messages, a.workers, a.max_workers, a.connections, a.mix.c_str());
  int failed = 0;
  std::vector<double> plains, throttleds, ratios;
  for (int round = 1; round <= a.rounds; ++round) {
    const testing_fixtures::FaultProxyOptions options = Faults(a);
    RunResult plain = Export(a, **server, {}, dir, "plain");
    RunResult throttled = Export(a, **server, options, dir, "throttled");
    if (!plain.ok || !throttled.ok) {
      ++failed;
      continue;
    }
    int fired_suggested = 0, fired_other = 0, slow_downs = 0;
    const std::vector<Fault>& faults = options.faults;
    for (size_t i = 0; i < faults.size(); ++i) {
      const bool with_wait = faults[i].text.find("Suggested Backoff Time") != std::string::npos;
      if (faults[i].action == Fault::Action::kSlowDownOk) {
        slow_downs += throttled.fired.fired[i];
      } else if (with_wait) {
        fired_suggested += throttled.fired.fired[i];
      } else {
        fired_other += throttled.fired.fired[i];
      }
    }
    const double waits_s = fired_suggested * a.wait_ms / 1000.0;
    const double paused_s = throttled.totals["throttled_ms"].get<double>() / 1000.0;
    const double extra_s = throttled.wall_s - plain.wall_s;
    std::printf("round %d: wall unthrottled %.3f s, wall throttled %.3f s, extra %.3f s\n", round,
                plain.wall_s, throttled.wall_s, extra_s);
    std::printf(
        "  server-suggested waits: %d x %d ms = %.3f s; throttles without a wait %d, slow-down "
        "OKs %d, logins capped %d\n",
        fired_suggested, a.wait_ms, waits_s, fired_other, slow_downs,
        throttled.fired.logins_refused);
    std::printf("  pacer (report totals): paused %.3f s, %d throttles, %d reconnects\n", paused_s,
                throttled.totals["throttles"].get<int>(),
                throttled.totals["reconnects"].get<int>());
    std::printf("  extra / suggested waits = %.2f; extra / paused = %.2f\n",
                waits_s > 0 ? extra_s / waits_s : 0.0, paused_s > 0 ? extra_s / paused_s : 0.0);
    plains.push_back(plain.wall_s);
    throttleds.push_back(throttled.wall_s);
    if (waits_s > 0) ratios.push_back(extra_s / waits_s);
  }
  if (a.rounds > 1 && !plains.empty()) {
    std::printf(
        "median of %zu rounds: wall unthrottled %.3f s, throttled %.3f s, extra / suggested "
        "waits %.2f\n",
        plains.size(), Median(plains), Median(throttleds), ratios.empty() ? 0.0 : Median(ratios));
  }
  if (failed == 0) std::system(("rm -rf '" + dir + "'").c_str());
  return failed == 0 ? 0 : 1;
}
