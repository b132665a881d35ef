// fault_bench: export, import and validate --resync-missing under many seeded network fault
// schedules (tests/fixtures/fault_schedule.h), each on a fresh pair of real Dovecots, and a
// table: per seed the faults that fired, the runs each mode needed, the time, and whether
// the export and server B ended exact (lost / duplicated messages otherwise). A benchmark
// program, not a test: network_faults_test runs a few seeds in the suite.
//
//   build/tests/fault_bench [--seeds 50] [--from 1] [--max-runs 6]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_schedule.h"

int main(int argc, char** argv) {
  int seeds = 50, from = 1, max_runs = 6;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--seeds") {
      seeds = v;
    } else if (k == "--from") {
      from = v;
    } else if (k == "--max-runs") {
      max_runs = v;
    } else {
      std::fprintf(stderr, "usage: fault_bench [--seeds N] [--from S] [--max-runs R]\n");
      return 2;
    }
  }
  std::map<std::string, int> fired_total;
  int exact = 0, failed_runs = 0, lost = 0, duplicated = 0, unnamed = 0;
  double seconds = 0;
  std::printf("%-5s %-44s %-4s %-4s %-4s %-6s %-6s %s\n", "seed", "faults fired", "exp", "imp",
              "val", "exact", "secs", "lost/dup");
  for (int s = from; s < from + seeds; ++s) {
    auto pair = testing_fixtures::DovecotPair::Start();
    if (!pair.ok() || !testing_fixtures::SeedFaultCorpus(*pair->a).ok()) {
      std::fprintf(stderr, "seed %d: cannot start the Dovecot pair\n", s);
      return 1;
    }
    const testing_fixtures::SeedOutcome o = testing_fixtures::RunUnderFaults(
        s, *pair->a, *pair->b, pair->a->dir() + "/export", max_runs);
    std::string fired;
    for (const auto& [kind, n] : o.fired) {
      if (n == 0) continue;
      fired_total[kind] += n;
      absl::StrAppend(&fired, fired.empty() ? "" : " ", kind, "=", n);
    }
    const bool ok = o.export_exact && o.target_exact && o.lost == 0 && o.duplicated == 0 &&
                    o.export_runs > 0 && o.import_runs > 0 && o.validate_runs > 0;
    exact += ok ? 1 : 0;
    failed_runs += static_cast<int>(o.errors.size());
    lost += o.lost;
    duplicated += o.duplicated;
    unnamed += o.errors_named ? 0 : 1;
    seconds += o.seconds;
    std::printf("%-5d %-44s %-4d %-4d %-4d %-6s %-6.1f %d/%d\n", s, fired.c_str(), o.export_runs,
                o.import_runs, o.validate_runs, ok ? "yes" : "NO", o.seconds, o.lost, o.duplicated);
    if (!ok) {
      std::printf("      A: %s\n      B: %s\n      errors: %s\n", o.schedule_a.c_str(),
                  o.schedule_b.c_str(), absl::StrJoin(o.errors, " | ").c_str());
    }
    std::fflush(stdout);
  }
  std::string kinds;
  for (const auto& [kind, n] : fired_total) absl::StrAppend(&kinds, " ", kind, "=", n);
  std::printf(
      "\n%d seed(s): %d exact; faults fired:%s; failed runs (retried) %d; errors not naming "
      "the account %d; lost %d; duplicated %d; %.0f s\n",
      seeds, exact, kinds.c_str(), failed_runs, unnamed, lost, duplicated, seconds);
  return exact == seeds ? 0 : 1;
}
