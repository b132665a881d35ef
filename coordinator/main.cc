// The coordinator: plans a migration job (one task per account), spawns local
// workers (or waits for remote ones), hands accounts out over gRPC, aggregates
// results, prints a summary table and writes a JSON report.
//
//   coordinator --mode {export,import,test,validate} [--config PATH]
//   [--output-dir DIR]
//               [--input-dir DIR] [--workers N] [--max-workers K]
//               [--ignore-errors]
//               [--log-dir DIR] [--min-free-gb F] [--resync-missing] [--listen
//               ADDR]
//
// Defaults: --config per mode (export/test: export.pass.config.json,
// import/validate: import.pass.config.json); --output-dir/--input-dir
// ./exported; --log-dir ./logs;
// --workers min(accounts, max(1, number of CPUs)) local worker processes, each
// moving
// --max-workers 4 accounts at once; --listen: a Unix socket in a private 0700
// temp dir
// ($TMPDIR or /tmp) when local workers are spawned. --workers 0 spawns none
// (fleet: needs
// --listen, remote `worker --coordinator HOST:PORT` processes connect).
//
// Fail-fast by default: the first account failure stops handing out work and
// cancels the running accounts; --ignore-errors keeps going. ^C stops the same
// way; a second ^C fails whatever is left at once.
//
// Status and security: --linger keeps serving the status API after the job
// ended (the summary and report are written at the end as usual; SIGINT or
// SIGTERM then exits with the job's code). --tls-cert/--tls-key/--tls-ca put
// mutual TLS on --listen (workers must present a certificate chained to the
// CA); plaintext is allowed only on a Unix socket or loopback, elsewhere only
// with --insecure (loud warning); otherwise the coordinator refuses (exit 2).
//
// Exit codes:
//   0  every account ok
//   1  some account failed, was cancelled or not started (fail-fast, interrupt)
//   2  bad usage or config (unknown flag, bad mode, unreadable/invalid config)
//   3  environment / preflight failure (--min-free-gb not met, input dir
//   missing, cannot
//      listen, worker executable missing, log dir not writable)
//   4  internal error
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "common/log/log.h"
#include "common/rpc/transport_security.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/durable_job.h"
#include "coordinator/environment.h"
#include "coordinator/job.h"
#include "coordinator/preflight.h"
#include "coordinator/report.h"
#include "coordinator/worker_pool.h"
#include "worker/cli_flags.h"

ABSL_FLAG(std::string, mode, "", "export | import | test | validate");
ABSL_FLAG(std::string, config, "", "JSON config (default per mode)");
ABSL_FLAG(std::string, output_dir, "./exported",
          "where export writes (dir or s3://)");
ABSL_FLAG(std::string, input_dir, "./exported",
          "what import/validate read (dir or s3://)");
ABSL_FLAG(int, workers, -1,
          "local worker processes (default min(accounts, ncpu); 0: none)");
ABSL_FLAG(int, max_workers, 4, "accounts each worker moves at once");
ABSL_FLAG(bool, ignore_errors, false, "keep going after an account fails");
ABSL_FLAG(std::string, log_dir, "./logs",
          "directory for the run log and JSON report");
ABSL_FLAG(double, min_free_gb, 0,
          "fail if free disk at the output dir is below this");
ABSL_FLAG(bool, resync_missing, false, "validate: re-import what is missing");
ABSL_FLAG(std::string, listen, "",
          "gRPC address to serve (unix:/path or host:port)");
// TEST ONLY: spawned workers hold their tasks instead of running them.
ABSL_FLAG(bool, test_hold_tasks, false,
          "TEST ONLY: spawned workers hold tasks");

// ---- leases, retries, durable job (issue 4) ----
ABSL_FLAG(std::string, state, "",
          "job state file (SQLite); default <log-dir>/<mode>.state.sqlite for "
          "export and import, none for test and validate; 'none': off");
ABSL_FLAG(bool, fresh, false, "discard the job state and start this job over");
ABSL_FLAG(absl::Duration, lease_timeout, absl::Seconds(30),
          "a worker not heard from this long loses its accounts");
ABSL_FLAG(int, max_attempts, 3,
          "attempts per account for retriable failures (>= 1)");

namespace {

coordinator::DurableJobFlags DurableFlags() {
  coordinator::DurableJobFlags f;
  f.state = absl::GetFlag(FLAGS_state);
  f.fresh = absl::GetFlag(FLAGS_fresh);
  f.lease_timeout = absl::GetFlag(FLAGS_lease_timeout);
  f.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  return f;
}

}  // namespace

// ---- status API and transport security (issue 4: status, security) ----
ABSL_FLAG(
    bool, linger, false,
    "after the job ends keep serving the status API until SIGINT/SIGTERM");
ABSL_FLAG(std::string, tls_cert, "", "server certificate (PEM) for --listen");
ABSL_FLAG(std::string, tls_key, "", "its private key (PEM)");
ABSL_FLAG(std::string, tls_ca, "",
          "CA (PEM) that workers' client certificates must chain to");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext on a non-loopback --listen (passwords in clear!)");

namespace {

// Mutual TLS for --listen, or plaintext where allowed. 0 or exit code 2.
int ResolveSecurity(const std::string& listen, rpc::TlsMaterial* tls,
                    std::string* warning) {
  rpc::TlsFlags f{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                  absl::GetFlag(FLAGS_tls_ca), "",
                  absl::GetFlag(FLAGS_insecure)};
  bool any = !f.cert_file.empty() || !f.key_file.empty() || !f.ca_file.empty();
  if (listen.empty() && (any || f.insecure)) {
    std::fprintf(stderr,
                 "coordinator: --tls-* and --insecure apply to --listen\n");
    return coordinator::kExitUsage;
  }
  auto m = rpc::ResolveTransport(f, rpc::Role::kServer,
                                 listen.empty() ? "unix:" : listen, warning);
  if (!m.ok()) {
    std::fprintf(stderr, "coordinator: refusing to start: %s\n",
                 std::string(m.status().message()).c_str());
    return coordinator::kExitUsage;
  }
  if (!warning->empty())
    std::fprintf(stderr, "coordinator: WARNING: %s\n", warning->c_str());
  *tls = std::move(*m);
  return 0;
}

}  // namespace

namespace {

using coordinator::kExitEnvironment;
using coordinator::kExitUsage;

constexpr char kUsage[] =
    "usage: coordinator --mode {export,import,test,validate} [--config PATH]\n"
    "         [--output-dir DIR] [--input-dir DIR] [--workers N] "
    "[--max-workers K]\n"
    "         [--ignore-errors] [--log-dir DIR] [--min-free-gb F] "
    "[--resync-missing]\n"
    "         [--listen ADDR]\n"
    "         [--state PATH|none] [--fresh] [--lease-timeout 30s] "
    "[--max-attempts N]\n"
    "         [--linger] [--tls-cert F --tls-key F --tls-ca F | --insecure]\n"
    "exit codes: 0 all ok, 1 some account failed, 2 bad usage/config,\n"
    "            3 environment/preflight failure, 4 internal error\n";

struct Options {
  engine::Mode mode = engine::Mode::kTest;
  std::string mode_name, config_path, output_dir, input_dir, log_dir, listen;
  int workers = -1, max_workers = 4;
  bool ignore_errors = false, resync_missing = false, test_hold_tasks = false;
  bool linger = false;  // --linger (status part)
  double min_free_gb = 0;
};

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "coordinator: %s\n", message.c_str());
  return code;
}

// Returns 0 or an exit code.
int ParseOptions(int argc, char** argv, Options* o) {
  std::string error;
  switch (cli::ParseFlags(argc, argv, &error)) {
    case cli::ParseResult::kHelp:
      std::fputs(kUsage, stdout);
      std::exit(0);
    case cli::ParseResult::kError:
      std::fputs(kUsage, stderr);
      return Fail(kExitUsage, error);
    case cli::ParseResult::kOk:
      break;
  }
  o->mode_name = absl::GetFlag(FLAGS_mode);
  if (!engine::ParseMode(o->mode_name, &o->mode)) {
    std::fputs(kUsage, stderr);
    return Fail(kExitUsage,
                "--mode must be one of export, import, test, validate");
  }
  o->mode_name = engine::ModeName(o->mode);
  o->config_path = absl::GetFlag(FLAGS_config);
  if (o->config_path.empty())
    o->config_path = config::DefaultConfigPath(o->mode_name);
  o->output_dir = absl::GetFlag(FLAGS_output_dir);
  o->input_dir = absl::GetFlag(FLAGS_input_dir);
  o->log_dir = absl::GetFlag(FLAGS_log_dir);
  o->listen = absl::GetFlag(FLAGS_listen);
  o->workers = absl::GetFlag(FLAGS_workers);
  o->max_workers = absl::GetFlag(FLAGS_max_workers);
  o->ignore_errors = absl::GetFlag(FLAGS_ignore_errors);
  o->resync_missing = absl::GetFlag(FLAGS_resync_missing);
  o->min_free_gb = absl::GetFlag(FLAGS_min_free_gb);
  o->test_hold_tasks = absl::GetFlag(FLAGS_test_hold_tasks);
  o->linger = absl::GetFlag(FLAGS_linger);
  if (o->max_workers < 1) return Fail(kExitUsage, "--max-workers must be >= 1");
  if (o->workers < -1) return Fail(kExitUsage, "--workers must be >= 0");
  if (o->min_free_gb < 0) return Fail(kExitUsage, "--min-free-gb must be >= 0");
  if (o->workers == 0 && o->listen.empty()) {
    return Fail(kExitUsage,
                "--workers 0 spawns no worker: give --listen for remote ones");
  }
  return 0;
}

int DefaultWorkers(size_t accounts) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  size_t n = static_cast<size_t>(cpus > 1 ? cpus : 1);
  return static_cast<int>(std::max<size_t>(1, std::min(accounts, n)));
}

// "<log-dir>/<mode>-YYYYMMDD-HHMMSS" (with "-2", "-3"... when taken).
std::string RunStem(const Options& o) {
  std::string base = absl::StrCat(
      o.log_dir, "/", o.mode_name, "-",
      absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  std::string stem = base;
  for (int i = 2; ::access((stem + ".log").c_str(), F_OK) == 0; ++i) {
    stem = absl::StrCat(base, "-", i);
  }
  return stem;
}

// Blocks SIGINT/SIGTERM/SIGUSR1 in every thread (call before any thread
// starts); one thread takes them with sigwait: first INT/TERM stops the job,
// the second forces it.
class SignalWatcher {
 public:
  static void BlockSignals() {
    sigset_t set = Set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  explicit SignalWatcher(coordinator::Job* job)
      : thread_([this, job] { Loop(job); }) {}
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  static sigset_t Set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    return set;
  }
  void Loop(coordinator::Job* job) {
    sigset_t set = Set();
    for (int count = 0;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) return;
      if (job->finished()) {  // --linger: the end of serving, not a stop
        if (!signalled_.HasBeenNotified()) signalled_.Notify();
        continue;
      }
      std::string what = absl::StrCat("interrupted by ", strsignal(sig));
      if (++count == 1) {
        std::fprintf(stderr,
                     "coordinator: %s: stopping cleanly (again to force)\n",
                     what.c_str());
        job->Stop(what);
      } else {
        job->ForceStop(what + " twice");
      }
    }
  }

 public:
  // --linger: blocks until SIGINT/SIGTERM arrives after the job finished.
  void WaitForSignalAfterFinish() { signalled_.WaitForNotification(); }

 private:
  absl::Notification signalled_;
  std::thread thread_;
};

}  // namespace

namespace {

struct Run {
  Options opts;
  config::Config cfg;
  std::string stem;
  coordinator::RunInfo info;
  std::string socket_dir;  // private temp dir, removed at the end
  std::unique_ptr<coordinator::StateStore> state;  // durable job, or null
  rpc::TlsMaterial tls;     // for --listen (status/security part)
  std::string tls_warning;  // --insecure off loopback: repeated in the log
};

int LoadAndPrepare(int argc, char** argv, Run* run);
int Execute(Run* run);
int Conclude(Run* run, const coordinator::JobSnapshot& snapshot);

}  // namespace

int main(int argc, char** argv) {
  SignalWatcher::BlockSignals();
  logging::SetProcessTag("coordinator");
  Run run;
  if (int code = LoadAndPrepare(argc, argv, &run); code != 0) return code;
  return Execute(&run);
}

namespace {

int LoadAndPrepare(int argc, char** argv, Run* run) {
  Options& o = run->opts;
  if (int code = ParseOptions(argc, argv, &o); code != 0) return code;
  if (int code = ResolveSecurity(o.listen, &run->tls, &run->tls_warning))
    return code;
  absl::StatusOr<config::Config> cfg = config::LoadConfig(o.config_path);
  if (!cfg.ok()) return Fail(kExitUsage, std::string(cfg.status().message()));
  run->cfg = std::move(*cfg);
  if (run->cfg.accounts.empty())
    return Fail(kExitUsage, o.config_path + ": no accounts");
  if (o.workers < 0) o.workers = DefaultWorkers(run->cfg.accounts.size());
  if (o.resync_missing && o.mode != engine::Mode::kValidate) {
    std::fprintf(
        stderr,
        "coordinator: warning: --resync-missing only applies to validate\n");
  }
  absl::Status dirs = coordinator::MakeDirs(o.log_dir, 0700);
  if (!dirs.ok()) return Fail(kExitEnvironment, std::string(dirs.message()));
  run->stem = RunStem(o);
  if (!logging::SetLogFile(run->stem + ".log")) {
    return Fail(kExitEnvironment,
                "cannot create log file " + run->stem + ".log");
  }
  for (const std::string& w : run->cfg.warnings)
    LOG(WARNING) << "config: " << w;
  coordinator::PreflightInput pre{o.mode, o.output_dir, o.input_dir,
                                  o.min_free_gb};
  absl::Status ok = coordinator::Preflight(pre);
  if (!ok.ok()) {
    LOG(ERROR) << "preflight: " << ok.message();
    return Fail(kExitEnvironment,
                absl::StrCat("preflight failed: ", ok.message()));
  }
  if (o.mode == engine::Mode::kTest) {
    auto checks = coordinator::CheckEnvironment(run->cfg.server, o.output_dir,
                                                o.min_free_gb);
    std::string text = coordinator::FormatChecks(checks);
    std::fputs(text.c_str(), stdout);
    logging::AppendToFile(text);
    for (const auto& c : checks) {
      if (!c.ok && c.fatal)
        return Fail(kExitEnvironment, "environment check failed: " + c.name);
    }
  }
  return 0;
}

}  // namespace

namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// A private 0700 directory for the Unix socket; empty on failure.
std::string MakeSocketDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/migrator-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;  // mkdtemp creates it with mode 0700
}

coordinator::JobOptions MakeJobOptions(const Run& run) {
  const Options& o = run.opts;
  coordinator::JobOptions jo;
  jo.job_id = Basename(run.stem);
  jo.mode = o.mode;
  jo.config = run.cfg;
  bool writes =
      o.mode == engine::Mode::kExport || o.mode == engine::Mode::kTest;
  jo.data_location = writes ? o.output_dir : o.input_dir;
  jo.resync_missing = o.resync_missing;
  jo.min_free_gb = o.min_free_gb;
  jo.fail_fast = !o.ignore_errors;
  jo.local_workers = o.workers;
  coordinator::ApplyDurableJob(DurableFlags(), run.state.get(), &jo);
  return jo;
}

void DrainWorkers(coordinator::Job& job, coordinator::WorkerPool* pool) {
  if (!job.WaitNoConnectedWorkers(absl::Seconds(10))) {
    LOG(WARNING)
        << "workers still connected 10s after the end; sending Shutdown";
    job.ShutdownWorkers("the job has finished");
    job.WaitNoConnectedWorkers(absl::Seconds(5));
  }
  if (pool == nullptr || pool->WaitAllExited(absl::Seconds(10))) return;
  LOG(WARNING) << "local workers still running; sending SIGTERM";
  pool->SignalAll(SIGTERM);
  if (pool->WaitAllExited(absl::Seconds(5))) return;
  pool->SignalAll(SIGKILL);
  pool->WaitAllExited(absl::Seconds(5));
}

std::unique_ptr<coordinator::WorkerPool> StartPool(const Run& run,
                                                   const std::string& address,
                                                   coordinator::Job& job,
                                                   absl::Status* st) {
  absl::StatusOr<std::string> binary = coordinator::FindWorkerBinary();
  if (!binary.ok()) {
    *st = binary.status();
    return nullptr;
  }
  coordinator::LocalWorkerSpec spec;
  spec.binary = *binary;
  spec.coordinator = address;
  spec.max_parallel = run.opts.max_workers;
  spec.log_file = run.stem + ".log";
  if (run.opts.test_hold_tasks) spec.extra_args.push_back("--test-hold-tasks");
  auto pool = std::make_unique<coordinator::WorkerPool>(
      spec,
      [&job](const std::string& id, int pid) {
        job.LocalWorkerStarted(id, pid);
      },
      [&job](const coordinator::WorkerExit& e) {
        return job.LocalWorkerExited(e.id, e.how, e.can_respawn);
      });
  *st = pool->Spawn(run.opts.workers);
  return pool;
}

// The endpoints to serve: `address` with the --tls-* security and, when TLS is
// on and local workers are spawned, a private Unix socket for them (they hold
// no client certificate); local workers use the last one. Empty on failure.
std::vector<coordinator::CoordinatorServer::Endpoint> Endpoints(
    Run* run, const std::string& address) {
  std::vector<coordinator::CoordinatorServer::Endpoint> out;
  out.push_back({address, run->tls});
  if (run->tls.tls && run->opts.workers > 0 && run->socket_dir.empty()) {
    run->socket_dir = MakeSocketDir();
    if (run->socket_dir.empty()) return {};
    out.push_back({"unix:" + run->socket_dir + "/coordinator.sock", {}});
  }
  return out;
}

// --linger: writes the summary and report now, then keeps serving the status
// API until SIGINT/SIGTERM. Returns the job's exit code.
int Linger(Run* run, coordinator::Job& job, const std::string& address,
           SignalWatcher& signals) {
  run->info.finished = absl::Now();
  int code = Conclude(run, job.Snapshot());
  LOG(INFO) << "job finished (exit code " << code << "); --linger: serving "
            << "the status API on " << address << " until SIGINT/SIGTERM";
  std::fprintf(stderr,
               "coordinator: job finished; --linger: serving the status API "
               "on %s until SIGINT/SIGTERM\n",
               address.c_str());
  signals.WaitForSignalAfterFinish();
  LOG(INFO) << "signal received while lingering; exiting with " << code;
  return code;
}

int Execute(Run* run) {
  const Options& o = run->opts;
  {
    bool writes =
        o.mode == engine::Mode::kExport || o.mode == engine::Mode::kTest;
    int code = coordinator::OpenDurableJob(DurableFlags(), o.mode, run->cfg,
                                           writes ? o.output_dir : o.input_dir,
                                           o.log_dir, &run->state);
    if (code >= 0) return code;
  }
  coordinator::Job job(MakeJobOptions(*run));
  std::string address = o.listen;
  if (address.empty()) {
    run->socket_dir = MakeSocketDir();
    if (run->socket_dir.empty())
      return Fail(kExitEnvironment, "cannot create a temp dir");
    address = "unix:" + run->socket_dir + "/coordinator.sock";
  }
  auto endpoints = Endpoints(run, address);
  if (endpoints.empty())
    return Fail(kExitEnvironment, "cannot create a temp dir");
  auto server = coordinator::CoordinatorServer::Start(endpoints, &job);
  if (!server.ok()) {
    if (!run->socket_dir.empty()) ::rmdir(run->socket_dir.c_str());
    return Fail(kExitEnvironment, std::string(server.status().message()));
  }
  if (!run->tls_warning.empty()) LOG(WARNING) << run->tls_warning;
  if (run->tls.tls) {
    LOG(INFO) << "mutual TLS on " << (*server)->address()
              << ": workers need a client certificate from --tls-ca";
  }
  LOG(INFO) << "job " << job.options().job_id << ": " << o.mode_name << ", "
            << run->cfg.accounts.size() << " account(s) from " << o.config_path
            << ", " << o.workers << " local worker(s) x " << o.max_workers
            << ", data " << job.options().data_location << ", listening on "
            << (*server)->address();
  run->info = coordinator::RunInfo{o.mode_name,
                                   o.config_path,
                                   job.options().data_location,
                                   run->stem + ".log",
                                   run->stem + ".report.json",
                                   o.workers,
                                   o.max_workers,
                                   o.ignore_errors,
                                   absl::Now(),
                                   absl::Time()};
  std::unique_ptr<coordinator::WorkerPool> pool;
  absl::Status spawned;
  if (o.workers > 0)
    pool = StartPool(*run, (*server)->address(endpoints.size() - 1), job,
                     &spawned);
  if (!spawned.ok()) {
    LOG(ERROR) << "cannot start local workers: " << spawned.message();
    job.ForceStop(
        absl::StrCat("cannot start local workers: ", spawned.message()));
  }
  int lingered = -1;  // --linger: the exit code, already concluded
  {
    SignalWatcher signals(&job);
    job.WaitFinished(absl::InfiniteDuration());
    DrainWorkers(job, pool.get());
    if (o.linger) lingered = Linger(run, job, (*server)->address(), signals);
  }
  (*server)->Shutdown(absl::Milliseconds(500));
  pool.reset();
  if (!run->socket_dir.empty()) {
    ::unlink((run->socket_dir + "/coordinator.sock").c_str());
    ::rmdir(run->socket_dir.c_str());
  }
  int code = lingered;
  if (code < 0) {
    run->info.finished = absl::Now();
    code = Conclude(run, job.Snapshot());
  }
  if (!spawned.ok())
    return Fail(kExitEnvironment, std::string(spawned.message()));
  return code;
}

void WriteImportTemplate(const Run& run) {
  std::string path = Dirname(run.opts.config_path) + "/import.pass.config.json";
  if (::access(path.c_str(), F_OK) == 0) return;
  config::Config tmpl = run.cfg;
  absl::Status st = config::WriteConfig(tmpl, path);
  if (!st.ok()) {
    LOG(WARNING) << "could not write the import template " << path << ": "
                 << st.message();
    return;
  }
  LOG(INFO) << "wrote import template " << path;
  std::printf(
      "wrote import template %s (mode 0600): point its server block at server "
      "B "
      "before running the import\n",
      path.c_str());
}

int Conclude(Run* run, const coordinator::JobSnapshot& snapshot) {
  int code = coordinator::ExitCodeFor(snapshot);
  std::string table = coordinator::FormatSummaryTable(snapshot, run->info);
  std::string details = coordinator::FormatDetails(snapshot);
  if (!details.empty()) std::fputs(("\n" + details + "\n").c_str(), stdout);
  std::fputs(table.c_str(), stdout);
  logging::AppendToFile(details +
                        table);  // the run log keeps the table, stderr does not
  absl::Status st = coordinator::WriteJsonReport(
      coordinator::BuildJsonReport(snapshot, run->info, code),
      run->info.report_path);
  if (!st.ok()) {
    LOG(ERROR) << st.message();
    std::fprintf(stderr, "coordinator: %s\n",
                 std::string(st.message()).c_str());
    code = std::max(code, static_cast<int>(kExitEnvironment));
  }
  std::printf("log: %s\nreport: %s\n", run->info.log_path.c_str(),
              run->info.report_path.c_str());
  if (run->opts.mode == engine::Mode::kExport) WriteImportTemplate(*run);
  std::fflush(stdout);
  LOG(INFO) << "exit code " << code;
  return code;
}

}  // namespace
