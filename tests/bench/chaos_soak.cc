// chaos_soak: a job of many accounts on several local workers, run for minutes under chaos,
// then compared exactly. Each cycle adds mail on server A, then runs export, import and
// validate --resync-missing with `coordinator --workers W` (durable job state on), while a
// chaos loop SIGKILLs workers, SIGSTOPs them past their lease (fenced) and SIGCONTs them,
// SIGKILLs the coordinator and starts it again with the same command, and the fault proxies
// in front of A and B cut, reset, half-close, stall and drip connections (seeded schedules,
// tests/fixtures/fault_schedule.h). A run that ends non-zero is run again. At the end: the
// export equals A and B equals A, account by account and folder by folder, as multisets of
// (bytes, flags, keywords, INTERNALDATE).
//
// Prints the faults injected by kind, the runs, the accounts retried (attempts >= 2 in the
// reports), and lost / duplicated messages (0 / 0, or which).
//
//   build/tests/chaos_soak [--accounts 50] [--workers 3] [--minutes 10] [--seed 1]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/storage/store.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/export_check.h"
#include "tests/fixtures/fault_proxy.h"
#include "tests/fixtures/fault_schedule.h"
#include "tests/fixtures/imap_check.h"

namespace {

using testing_fixtures::DovecotServer;

struct Args {
  int accounts = 50, workers = 3, minutes = 10, seed = 1;
};

struct Totals {
  std::map<std::string, int> injected;  // by kind
  int runs = 0, failed_runs = 0, retried_accounts = 0;
};

const char* const kFolders[] = {"INBOX", "Sent", "Work/2024"};

class Soak {
 public:
  Soak(const Args& args, DovecotServer& a, DovecotServer& b)
      : args_(args), a_(a), b_(b), rng_(args.seed), dir_(fleettest::MakeTempDir()) {}

  const std::string& dir() const { return dir_; }
  Totals& totals() { return totals_; }

  // One cycle: new mail on A, then export, import and validate under chaos.
  bool Cycle(int cycle) {
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    so.min_size = 2000;
    so.max_size = 60000;
    for (int u = 0; u < args_.accounts; ++u) {
      for (const char* folder : kFolders) {
        so.seed = cycle * 100000 + u * 10 + std::string(folder).size();
        if (!a_.SeedGenerated(a_.users()[u].email, folder, 2 + (u + cycle) % 5, so).ok()) {
          return false;
        }
      }
    }
    auto proxy_a = Proxy(a_, args_.seed * 1000 + cycle, false);
    auto proxy_b = Proxy(b_, args_.seed * 1000 + cycle, true);
    if (!proxy_a || !proxy_b) return false;
    const std::string exp = Config(a_, proxy_a->port(), "export.json");
    const std::string imp = Config(b_, proxy_b->port(), "import.json");
    // A durable job per mode and cycle (the proxies, so the configs, are new each cycle).
    auto state = [&](const char* mode) {
      return absl::StrCat(dir_, "/logs/", mode, "-", cycle, ".state.sqlite");
    };
    bool ok = RunUntilOk({"--mode", "export", "--config", exp, "--output-dir", Out(), "--state",
                          state("export")},
                         "export") &&
              RunUntilOk({"--mode", "import", "--config", imp, "--input-dir", Out(), "--state",
                          state("import")},
                         "import") &&
              RunUntilOk(
                  {"--mode", "validate", "--config", imp, "--input-dir", Out(), "--resync-missing"},
                  "validate");
    Count(*proxy_a, args_.seed * 1000 + cycle, false);
    Count(*proxy_b, args_.seed * 1000 + cycle, true);
    return ok;
  }

  std::string Out() const { return dir_ + "/exported"; }

 private:
  std::unique_ptr<testing_fixtures::FaultProxy> Proxy(DovecotServer& s, uint32_t seed,
                                                      bool target) {
    auto p = testing_fixtures::StartScheduled(testing_fixtures::RandomSchedule(seed, target), s);
    return p.ok() ? std::move(*p) : nullptr;
  }

  void Count(const testing_fixtures::FaultProxy& p, uint32_t seed, bool target) {
    std::map<std::string, int> fired;
    testing_fixtures::AddFired(testing_fixtures::RandomSchedule(seed, target), p.counts(), &fired);
    for (const auto& [kind, n] : fired) totals_.injected["proxy " + kind] += n;
  }

  std::string Config(const DovecotServer& s, int port, const std::string& name) {
    nlohmann::json j = testing_fixtures::ConfigJsonOf(s);
    j["server"] = {{"host", "127.0.0.1"}, {"port", port}, {"ssl", false}, {"io_timeout", 5}};
    j["accounts"] = nlohmann::json::array();
    for (int u = 0; u < args_.accounts; ++u) {
      j["accounts"].push_back({{"email", s.users()[u].email}, {"password", s.users()[u].password}});
    }
    const std::string path = dir_ + "/" + name;
    fleettest::WriteFile(path, j.dump(2));
    return path;
  }

  std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {fleettest::Binary("coordinator"),
                                     "--workers",
                                     std::to_string(args_.workers),
                                     "--max-workers",
                                     "4",
                                     "--lease-timeout",
                                     "4s",
                                     "--ignore-errors",
                                     "--quiet",
                                     "--log-dir",
                                     dir_ + "/logs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::vector<int> Workers() { return fleettest::ProcessesMentioning(dir_ + "/migrator-"); }

  // Runs the coordinator with `args` under chaos until it exits 0 (at most 6 runs).
  bool RunUntilOk(const std::vector<std::string>& args, const std::string& mode) {
    for (int run = 0; run < 6; ++run) {
      totals_.runs += 1;
      const int code = RunUnderChaos(Argv(args), mode);
      CountRetried(mode);
      if (code == 0) return true;
      totals_.failed_runs += 1;
      std::printf("  %s run ended %d; again\n", mode.c_str(), code);
    }
    return false;
  }

  // One run; the coordinator may be killed and started again (same command) on the way.
  int RunUnderChaos(const std::vector<std::string>& argv, const std::string& mode) {
    const std::map<std::string, std::string> env = {{"TMPDIR", dir_}};
    fleettest::Process c = fleettest::Start(argv, dir_, env, mode);
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); };
    int restarts = 0;
    for (;;) {
      // A pause of 0.5 to 3 s (a benchmark: the chaos is paced by the clock).
      for (int t = 500 + pick(2500); t > 0; t -= 50) {
        int status = 0;
        if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
          ContinueAll();
          return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
      std::vector<int> workers = Workers();
      const int action = pick(10);
      if (action < 4 && !workers.empty()) {
        ::kill(workers[pick(workers.size())], SIGKILL);
        totals_.injected["worker SIGKILL"] += 1;
      } else if (action < 7 && !workers.empty()) {
        const int w = workers[pick(workers.size())];
        ::kill(w, SIGSTOP);
        stopped_.push_back(w);
        totals_.injected["worker SIGSTOP"] += 1;
      } else if (action < 8 && restarts < 2) {
        ::kill(c.pid, SIGKILL);
        int status = 0;
        waitpid(c.pid, &status, 0);
        ContinueAll();
        for (int w : Workers()) ::kill(w, SIGKILL);  // as a node going down takes them
        totals_.injected["coordinator SIGKILL"] += 1;
        ++restarts;
        c = fleettest::Start(argv, dir_, env, absl::StrCat(mode, "-restart", restarts));
      } else {
        ContinueAll();
      }
    }
  }

  void ContinueAll() {
    for (int w : stopped_) ::kill(w, SIGCONT);
    stopped_.clear();
  }

  void CountRetried(const std::string& mode) {
    const std::string report = fleettest::NewestReport(dir_ + "/logs", mode);
    if (report.empty()) return;
    nlohmann::json r = nlohmann::json::parse(fleettest::ReadFile(report), nullptr, false);
    if (!r.is_object() || !r.contains("accounts")) return;
    for (const auto& a : r["accounts"]) {
      if (a.value("attempts", 0) >= 2) totals_.retried_accounts += 1;
    }
  }

  Args args_;
  DovecotServer& a_;
  DovecotServer& b_;
  std::mt19937 rng_;
  std::string dir_;
  Totals totals_;
  std::vector<int> stopped_;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--accounts") {
      a.accounts = v;
    } else if (k == "--workers") {
      a.workers = v;
    } else if (k == "--minutes") {
      a.minutes = v;
    } else if (k == "--seed") {
      a.seed = v;
    } else {
      std::fprintf(stderr,
                   "usage: chaos_soak [--accounts N] [--workers W] [--minutes M] "
                   "[--seed S]\n");
      std::exit(2);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  fleettest::DefaultBinaryDirToThisProgram();
  testing_fixtures::DovecotOptions o;
  o.users = args.accounts;
  auto pair = testing_fixtures::DovecotPair::Start(o);
  if (!pair.ok()) {
    std::fprintf(stderr, "cannot start the Dovecot pair: %s\n", pair.status().ToString().c_str());
    return 1;
  }
  Soak soak(args, *pair->a, *pair->b);
  const absl::Time start = absl::Now();
  int cycles = 0;
  bool ok = true;
  while (ok && absl::Now() - start < absl::Minutes(args.minutes)) {
    ok = soak.Cycle(cycles);
    ++cycles;
    std::printf("cycle %d done (%.0f s)%s\n", cycles, absl::ToDoubleSeconds(absl::Now() - start),
                ok ? "" : ": a mode did not end ok in 6 runs");
    std::fflush(stdout);
  }
  // The exact comparison.
  auto store = storage::OpenStore(soak.Out());
  int lost = 0, duplicated = 0, export_diff = 0;
  uint64_t messages = 0;
  for (int u = 0; u < args.accounts; ++u) {
    const auto on_a = testing_fixtures::MailboxSnapshot(*pair->a, u);
    const auto on_b = testing_fixtures::MailboxSnapshot(*pair->b, u);
    if (store.ok() &&
        testing_fixtures::ExportSnapshot(**store, pair->a->users()[u].email) != on_a) {
      ++export_diff;
    }
    for (const auto& [folder, want] : on_a) {
      messages += want.size();
      auto it = on_b.find(folder);
      int l = 0, d = 0;
      testing_fixtures::CountDifference(
          want, it == on_b.end() ? std::vector<testing_fixtures::ServedMessage>() : it->second, &l,
          &d);
      if (l || d) {  // (messages keyed by bytes, flags and INTERNALDATE)
        std::printf("  %s %s: lost %d, duplicated %d\n", pair->a->users()[u].email.c_str(),
                    folder.c_str(), l, d);
      }
      lost += l;
      duplicated += d;
    }
  }
  const Totals& t = soak.totals();
  std::printf("\nchaos soak: %d accounts, %d workers, %d cycle(s) in %.0f s, %lu messages on A\n",
              args.accounts, args.workers, cycles, absl::ToDoubleSeconds(absl::Now() - start),
              static_cast<unsigned long>(messages));
  std::printf("faults injected:");
  for (const auto& [kind, n] : t.injected) std::printf(" %s=%d", kind.c_str(), n);
  std::printf("\ncoordinator runs %d (%d ended non-zero and were run again); accounts retried %d\n",
              t.runs, t.failed_runs, t.retried_accounts);
  std::printf("export differs from A for %d account(s); lost = %d, duplicated = %d\n", export_diff,
              lost, duplicated);
  std::printf("(kept %s)\n", soak.dir().c_str());
  return ok && lost == 0 && duplicated == 0 && export_diff == 0 ? 0 : 1;
}
