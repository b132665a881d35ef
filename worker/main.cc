// The worker: runs accounts on the transfer engine for a coordinator.
//
//   worker --coordinator ADDR [--max-workers K] [--id NAME] [--retry-for 60s]
//          [--log-file PATH]
//
// ADDR is "unix:/path/to/socket" or "host:port". The worker pulls up to K
// accounts at a time, exits 0 when the coordinator has no more work, and
// reconnects with capped exponential backoff when the stream breaks (giving up
// after --retry-for). No secret is ever taken from the command line: accounts
// arrive with their tasks.
//
// Security: --tls-ca (verify the coordinator; its name must match the host of
// ADDR or --tls-server-name) with --tls-cert/--tls-key (this worker's client
// certificate) for mutual TLS. Plaintext only to a Unix socket or loopback,
// elsewhere only with --insecure (loud warning); otherwise exit 2.
//
// Stopping: SIGTERM or SIGINT stops the running accounts at a clean point (between
// messages), reports them cancelled so the coordinator requeues them at once, and exits
// 143. --health-listen ADDR serves grpc.health.v1 alone, plaintext, for probes: SERVING
// while the worker runs (connected, or within its --retry-for budget), NOT_SERVING once it
// stops.
//
// Exit codes: 0 done; 2 bad usage; 3 coordinator unreachable/gone/refused (or the health
// port cannot be served); 4 internal; 143 stopped by SIGTERM/SIGINT.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/cli/flags.h"
#include "common/cli/help.h"
#include "common/cli/tls_flags.h"
#include "common/log/log.h"
#include "common/rpc/health_server.h"
#include "common/sys/signals.h"
#include "worker/worker_client.h"

ABSL_FLAG(std::string, coordinator, "", "coordinator address: unix:/path or host:port");
ABSL_FLAG(int, max_workers, 4, "accounts this worker moves at once");
ABSL_FLAG(std::string, id, "", "worker id (default: <hostname>-<pid>); unique per job");
ABSL_FLAG(absl::Duration, retry_for, absl::Seconds(60),
          "give up after the coordinator has been unreachable this long");
ABSL_FLAG(std::string, log_file, "", "also append log lines to this file (0600)");
ABSL_FLAG(std::string, log_per_account, "",
          "also write each account's log lines to DIR/<email>.log (created 0700 when missing)");
ABSL_FLAG(std::string, health_listen, "",
          "also serve grpc.health.v1 alone, plaintext, on this address (host:port)");

namespace {

// Mutual TLS, or plaintext where allowed; false after printing why (exit 2).
bool ResolveSecurity(const std::string& address, rpc::TlsMaterial* tls) {
  rpc::TlsFlags f = cli::ClientTlsFlags();  // --tls-* and --insecure
  std::string warning;
  auto m = rpc::ResolveTransport(f, rpc::Role::kClient, address, &warning);
  if (!m.ok()) {
    std::fprintf(stderr, "worker: refusing to connect: %s\n",
                 std::string(m.status().message()).c_str());
    return false;
  }
  if (!warning.empty()) {
    std::fprintf(stderr, "worker: WARNING: %s\n", warning.c_str());
    LOG(WARNING) << warning;
  }
  *tls = std::move(*m);
  return true;
}

}  // namespace

namespace {

// --help: every flag in one group (a flag left out is listed under "other", and help_test
// fails).
cli::HelpSpec HelpSpec() {
  cli::HelpSpec spec;
  spec.program = "worker";
  spec.synopsis =
      "usage: worker --coordinator ADDR [flags]\n"
      "Runs accounts for a coordinator (ADDR: unix:/path/to/socket or host:port).\n";
  spec.groups = {
      {"fleet", {"coordinator", "id", "max_workers", "retry_for", "health_listen"}},
      {"security", {"tls_ca", "tls_cert", "tls_key", "tls_server_name", "insecure"}},
      {"output", {"log_file", "log_per_account"}},
  };
  spec.epilogue =
      "exit codes: 0 done, 2 bad usage, 3 coordinator unreachable/refused, 4 internal,\n"
      "            143 stopped by SIGTERM/SIGINT (its accounts went back to the coordinator)\n";
  return spec;
}

int UsageError(const std::string& why) {
  std::fputs(cli::UsageErrorLine("worker", why).c_str(), stderr);
  return worker::kWorkerUsage;
}

std::string DefaultId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host[0] ? host : "worker", "-", getpid());
}

}  // namespace

int main(int argc, char** argv) {
  sys::SignalThread::BlockStopSignals();  // before any thread starts
  std::string error;
  switch (cli::ParseFlags(argc, argv, &error)) {
    case cli::ParseResult::kHelp:
      std::fputs(cli::FormatHelp(HelpSpec()).c_str(), stdout);
      return 0;
    case cli::ParseResult::kHelpFull:
      std::fputs(cli::FormatHelpFull().c_str(), stdout);
      return 0;
    case cli::ParseResult::kError:
      return UsageError(error);
    case cli::ParseResult::kOk:
      break;
  }
  worker::WorkerClientOptions opts;
  opts.coordinator = absl::GetFlag(FLAGS_coordinator);
  opts.max_parallel = absl::GetFlag(FLAGS_max_workers);
  opts.worker_id = absl::GetFlag(FLAGS_id).empty() ? DefaultId() : absl::GetFlag(FLAGS_id);
  opts.retry_for = absl::GetFlag(FLAGS_retry_for);
  if (opts.coordinator.empty()) return UsageError("--coordinator is required");
  if (opts.max_parallel < 1) return UsageError("--max-workers must be >= 1");
  logging::SetProcessTag("worker-" + opts.worker_id);
  std::string log_file = absl::GetFlag(FLAGS_log_file);
  if (!log_file.empty() && !logging::SetLogFile(log_file)) {
    std::fprintf(stderr, "worker: cannot open log file %s\n", log_file.c_str());
    return worker::kWorkerUsage;
  }
  opts.account_log_dir = absl::GetFlag(FLAGS_log_per_account);
  if (!opts.account_log_dir.empty() && ::mkdir(opts.account_log_dir.c_str(), 0700) != 0 &&
      errno != EEXIST) {
    std::fprintf(stderr, "worker: cannot create --log-per-account directory %s: %s\n",
                 opts.account_log_dir.c_str(), strerror(errno));
    return worker::kWorkerUsage;
  }
  if (!ResolveSecurity(opts.coordinator, &opts.tls)) return worker::kWorkerUsage;
  std::unique_ptr<rpc::HealthServer> health;
  if (std::string address = absl::GetFlag(FLAGS_health_listen); !address.empty()) {
    auto started = rpc::HealthServer::Start(address);
    if (!started.ok()) {
      std::fprintf(stderr, "worker: %s\n", std::string(started.status().message()).c_str());
      return worker::kWorkerNoCoordinator;
    }
    health = *std::move(started);
    LOG(INFO) << "health (grpc.health.v1 only, plaintext) on " << health->address();
  }
  worker::StopRequest stop;
  sys::SignalThread signals([&stop](int sig) {
    LOG(INFO) << strsignal(sig) << ": stopping at a clean point";
    stop.Request(strsignal(sig));
  });
  int code = worker::RunWorker(opts, &stop);
  if (health != nullptr) health->SetServing(false);
  return code;
}
