// sched_bench: the coordinator's scheduling throughput (a benchmark, not a
// timed test). A `--mode test` job of N small accounts (default 2,000) across
// W local worker processes (default 4, --max-workers K each) against an
// in-process fake IMAP server that answers at once (tests/distributed/
// fake_imap.h), so what is measured is the coordinator's side: hand out a
// task, take its result, account for it, per account.
//
// Why a fake server that answers at once: accounts that never finish would
// measure handing out but not the full assign -> result -> reassign cycle; the
// fake server keeps the real worker and engine code path (connect, LOGIN,
// LIST, LOGOUT per account) at loopback speed.
//
// Prints the job's wall time (the status API's elapsed_ms, frozen at the
// finish), tasks/s, the coordinator's CPU time (utime+stime from
// /proc/PID/stat, its own threads only, not the workers) and its peak RSS
// (VmHWM from /proc/PID/status), both read while it lingers after the job.
//
//   build/tests/sched_bench [--accounts 2000] [--workers 4] [--max-workers 4]
//                           [-- COORDINATOR-FLAGS...]   (e.g. -- --quiet, or --metrics-listen)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/fake_imap.h"
#include "tests/distributed/process_util.h"

namespace {

using fleettest::Binary;

struct Args {
  int accounts = 2000, workers = 4, max_workers = 4;
  std::vector<std::string> coordinator_args;  // after "--": given to the coordinator
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]) == "--") {
      a.coordinator_args.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  for (int i = 1; i + 1 < argc && std::string(argv[i]) != "--"; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--accounts")
      a.accounts = v;
    else if (k == "--workers")
      a.workers = v;
    else if (k == "--max-workers")
      a.max_workers = v;
  }
  return a;
}

void WriteConfig(const std::string& path, int port, int accounts) {
  nlohmann::json j;
  j["server"] = {{"host", "127.0.0.1"}, {"port", port}, {"ssl", false}};
  j["accounts"] = nlohmann::json::array();
  for (int i = 0; i < accounts; ++i) {
    j["accounts"].push_back({{"email", absl::StrCat("u", i, "@bench.test")}, {"password", "pw"}});
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string text = j.dump();
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
  ::close(fd);
}

// `migratectl status --json`, parsed (null when it failed).
nlohmann::json Status(const std::string& dir, const std::string& address) {
  fleettest::Process p;
  int rc =
      fleettest::RunProcess({Binary("migratectl"), "status", "--json", "--coordinator", address},
                            dir, {}, "migratectl", absl::Seconds(20), &p);
  if (rc != 0) return nlohmann::json();
  return nlohmann::json::parse(fleettest::ReadFile(p.stdout_path), nullptr, false);
}

// {utime+stime seconds, VmHWM kB} of a live process.
std::pair<double, long> CpuAndPeak(int pid) {
  std::string stat = fleettest::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; in >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) {
      stime = std::atol(field.c_str());
      break;
    }
  }
  std::string status = fleettest::ReadFile(absl::StrCat("/proc/", pid, "/status"));
  size_t at = status.find("VmHWM:");
  long hwm = at == std::string::npos ? 0 : std::atol(status.c_str() + at + 6);
  return {static_cast<double>(utime + stime) / ::sysconf(_SC_CLK_TCK), hwm};
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  fleettest::DefaultBinaryDirToThisProgram();
  fleettest::FakeImapServer imap;
  if (!imap.Start("127.0.0.1", 0)) return 3;
  std::string dir = fleettest::MakeTempDir();
  WriteConfig(dir + "/bench.json", imap.port(), a.accounts);
  std::string address = "unix:" + dir + "/c.sock";
  absl::Time t0 = absl::Now();
  std::vector<std::string> command = {Binary("coordinator"),
                                      "--mode",
                                      "test",
                                      "--config",
                                      dir + "/bench.json",
                                      "--workers",
                                      absl::StrCat(a.workers),
                                      "--max-workers",
                                      absl::StrCat(a.max_workers),
                                      "--ignore-errors",
                                      "--linger",
                                      "--listen",
                                      address,
                                      "--log-dir",
                                      dir + "/logs"};
  command.insert(command.end(), a.coordinator_args.begin(), a.coordinator_args.end());
  fleettest::Process c = fleettest::Start(command, dir, {{"TMPDIR", dir}}, "coordinator");
  nlohmann::json st;
  bool done = fleettest::PollUntil(
      [&] {
        st = Status(dir, address);
        return st.is_object() && st["finished"] == true;
      },
      absl::Minutes(10));
  absl::Duration seen = absl::Now() - t0;
  auto [cpu, hwm_kb] = CpuAndPeak(c.pid);
  ::kill(c.pid, SIGTERM);
  int rc = fleettest::Wait(c, absl::Seconds(60));
  if (!done) {
    std::fprintf(stderr, "sched_bench: the job did not finish; see %s\n", dir.c_str());
    return 1;
  }
  double wall = st["elapsed_ms"].get<double>() / 1000.0;
  std::printf(
      "sched_bench: %d accounts, %d workers x %d slots, --mode test vs a fake IMAP server\n",
      a.accounts, a.workers, a.max_workers);
  std::printf("  succeeded %d, failed %d, coordinator exit %d, fake-server logins %llu\n",
              st["accounts"]["succeeded"].get<int>(), st["accounts"]["failed"].get<int>(), rc,
              static_cast<unsigned long long>(imap.logins()));
  std::printf("  job wall time        %.3f s (first seen finished after %.3f s incl. startup)\n",
              wall, absl::ToDoubleSeconds(seen));
  std::printf("  scheduling rate      %.0f tasks/s\n", a.accounts / wall);
  std::printf("  coordinator CPU      %.3f s (%.0f us per task)\n", cpu, 1e6 * cpu / a.accounts);
  std::printf("  coordinator peak RSS %.1f MiB (VmHWM)\n", hwm_kb / 1024.0);
  std::system(("rm -rf '" + dir + "'").c_str());
  return rc == 0 ? 0 : 1;
}
