// wan_proxy — a WAN emulator for loopback benchmarks (no netem in this kernel).
//
//   wan_proxy --listen 127.0.0.1:PORT --target 127.0.0.1:PORT
//             [--listen ... --target ...]...  [--rtt-ms 40] [--rate-mbit 400]
//             [--max-queue-mb M]
//
// Every --listen is paired with the next --target. Port 0 picks a free port. When all
// listeners are bound it prints one `LISTEN=host:port` line per pair (in order), then
// `READY`, and flushes stdout. --rtt-ms adds rtt/2 of delay in each direction; --rate-mbit
// caps each direction at that many Mbit/s (10^6 bit/s) with ONE token bucket per direction
// shared by all connections of all pairs (see wan_proxy.h). Default: no delay, no cap.
//
// Signals: SIGUSR1 prints `STATS bytes_up=N bytes_down=N connections=N active=N
// failed_connects=N` (bytes written to the target / to the clients so far); SIGTERM, SIGINT
// or SIGHUP stop it (printing a final STATS line). It also stops when its parent exits
// (PR_SET_PDEATHSIG), so a benchmark script that dies does not leak proxies.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "tests/bench/wan_proxy.h"

namespace {

[[noreturn]] void Usage(const char* msg) {
  if (msg) std::fprintf(stderr, "wan_proxy: %s\n", msg);
  std::fprintf(stderr,
               "usage: wan_proxy --listen HOST:PORT --target HOST:PORT [--listen ... "
               "--target ...]... [--rtt-ms MS] [--rate-mbit MBIT] [--max-queue-mb MB]\n");
  std::exit(2);
}

double ParseNumber(const char* flag, const char* v) {
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < 0) {
    std::fprintf(stderr, "wan_proxy: %s needs a non-negative number, got '%s'\n", flag, v);
    std::exit(2);
  }
  return d;
}

void PrintStats(const wanproxy::WanProxy& p) {
  wanproxy::Stats s = p.stats();
  std::printf(
      "STATS bytes_up=%llu bytes_down=%llu connections=%llu active=%llu "
      "failed_connects=%llu\n",
      static_cast<unsigned long long>(s.bytes_up), static_cast<unsigned long long>(s.bytes_down),
      static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.active),
      static_cast<unsigned long long>(s.failed_connects));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 1;  // parent already gone

  wanproxy::Options o;
  std::string pending_listen;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") Usage(nullptr);
    if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    if (a == "--listen") {
      if (!pending_listen.empty()) Usage("--listen without its --target");
      pending_listen = v;
    } else if (a == "--target") {
      if (pending_listen.empty()) Usage("--target before its --listen");
      o.routes.push_back({pending_listen, v});
      pending_listen.clear();
    } else if (a == "--rtt-ms") {
      o.rtt_ms = ParseNumber("--rtt-ms", v);
    } else if (a == "--rate-mbit") {
      o.rate_mbit = ParseNumber("--rate-mbit", v);
    } else if (a == "--max-queue-mb") {
      o.max_queue_bytes = static_cast<size_t>(ParseNumber("--max-queue-mb", v) * 1048576);
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (!pending_listen.empty()) Usage("--listen without its --target");
  if (o.routes.empty()) Usage("need at least one --listen/--target pair");

  // Signals are handled by a sigwait thread; block them before any thread exists.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  wanproxy::WanProxy proxy(o);
  std::string error;
  if (!proxy.Start(&error)) {
    std::fprintf(stderr, "wan_proxy: %s\n", error.c_str());
    return 1;
  }
  for (const std::string& b : proxy.bound()) std::printf("LISTEN=%s\n", b.c_str());
  std::printf("READY rtt_ms=%g rate_mbit=%g\n", o.rtt_ms, o.rate_mbit);
  std::fflush(stdout);

  std::thread signals([&proxy, set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) {
        PrintStats(proxy);
        continue;
      }
      proxy.Stop();
      return;
    }
  });
  signals.detach();
  proxy.Run();
  PrintStats(proxy);
  return 0;
}
