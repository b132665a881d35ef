#include "coordinator/app/run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/rpc/health_server.h"
#include "coordinator/app/exit_codes.h"
#include "coordinator/app/signals.h"
#include "coordinator/core/job.h"
#include "coordinator/durable/durable_job.h"
#include "coordinator/frontends/grpc/coordinator_service.h"
#include "coordinator/frontends/http/http_frontend.h"
#include "coordinator/frontends/tty/console.h"
#include "coordinator/local/environment.h"
#include "coordinator/local/preflight.h"
#include "coordinator/local/worker_pool.h"
#include "coordinator/status/report.h"
#include "coordinator/status/status_tracker.h"

namespace coordinator {
namespace {

constexpr absl::Duration kRateWindow = absl::Seconds(30);  // status rates
constexpr absl::Duration kTrackerPeriod = absl::Seconds(1);
constexpr size_t kMaxInlineRetry = 10;  // more failed accounts: a file for --accounts-file

struct Run {
  Options opts;
  config::Config cfg;
  std::string stem;  // <log-dir>/<mode>-<time>: the log and report paths
  RunInfo info;
  std::string socket_dir;             // private temp dir, removed at the end
  std::unique_ptr<StateStore> state;  // durable job, or null
  // --only / --accounts-file: the config indices run (empty: all), the emails left out,
  // and the journal adapter of a subset run (durable_job.h).
  std::vector<int> subset;
  std::vector<std::string> not_in_run;
  std::unique_ptr<JobJournal> subset_journal;
  std::optional<config::Config> import_cfg;  // test --sizes --import-config
  rpc::TlsMaterial tls;                      // for --listen
  std::string tls_warning;                   // --insecure off loopback: repeated in the log
};

int DefaultWorkers(size_t accounts) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  size_t n = static_cast<size_t>(cpus > 1 ? cpus : 1);
  return static_cast<int>(std::max<size_t>(1, std::min(accounts, n)));
}

// "<log-dir>/<mode>-YYYYMMDD-HHMMSS" (with "-2", "-3"... when taken).
std::string RunStem(const Options& o) {
  std::string base =
      absl::StrCat(o.log_dir, "/", o.mode_name, "-",
                   absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  std::string stem = base;
  for (int i = 2; ::access((stem + ".log").c_str(), F_OK) == 0; ++i) {
    stem = absl::StrCat(base, "-", i);
  }
  return stem;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool Writes(engine::Mode mode) {
  return mode == engine::Mode::kExport || mode == engine::Mode::kTest;
}

std::string DataLocation(const Options& o) { return Writes(o.mode) ? o.output_dir : o.input_dir; }

// A private 0700 directory for the Unix socket.
absl::StatusOr<std::string> MakeSocketDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/migrator-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::FailedPreconditionError("cannot create a temp dir");
  }
  return pattern;  // mkdtemp creates it with mode 0700
}

// Test mode's environment checks, printed (and logged); a failed fatal one stops the run.
absl::Status CheckTestEnvironment(const Run& run) {
  auto checks = CheckEnvironment(run.cfg.server, run.opts.output_dir, run.opts.min_free_gb);
  std::string text = FormatChecks(checks);
  std::fputs(text.c_str(), stdout);
  logging::AppendToFile(text);
  for (const auto& c : checks) {
    if (!c.ok && c.fatal) {
      return absl::FailedPreconditionError("environment check failed: " + c.name);
    }
  }
  return absl::OkStatus();
}

// --only / --accounts-file: the accounts run, by config index, and those left out. An
// email not in the config is a usage error naming it.
absl::Status SelectAccounts(Run* run) {
  if (run->opts.only.empty()) return absl::OkStatus();
  std::vector<bool> chosen(run->cfg.accounts.size(), false);
  for (const std::string& email : run->opts.only) {
    auto it = std::find_if(run->cfg.accounts.begin(), run->cfg.accounts.end(),
                           [&email](const config::Account& a) { return a.email == email; });
    if (it == run->cfg.accounts.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          email, ": not an account of ", run->opts.config_path, " (--only / --accounts-file)"));
    }
    chosen[it - run->cfg.accounts.begin()] = true;
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (chosen[i]) {
      run->subset.push_back(static_cast<int>(i));
    } else {
      run->not_in_run.push_back(run->cfg.accounts[i].email);
    }
  }
  return absl::OkStatus();
}

// test --sizes --import-config: server B and the accounts there, matched by email. An
// account of the config missing from it is named in a warning (its folders are not mapped).
absl::Status LoadImportConfig(Run* run) {
  if (run->opts.import_config.empty()) return absl::OkStatus();
  absl::StatusOr<config::Config> cfg = config::LoadConfig(run->opts.import_config);
  if (!cfg.ok()) return absl::InvalidArgumentError(cfg.status().message());
  std::vector<std::string> unmapped;
  for (const config::Account& a : run->cfg.accounts) {
    const bool found = std::any_of(cfg->accounts.begin(), cfg->accounts.end(),
                                   [&a](const config::Account& b) { return b.email == a.email; });
    if (!found) unmapped.push_back(a.email);
  }
  if (!unmapped.empty()) {
    std::fprintf(stderr,
                 "coordinator: warning: %zu account(s) not in %s, their folders are not mapped "
                 "to server B (first: %s)\n",
                 unmapped.size(), run->opts.import_config.c_str(), unmapped[0].c_str());
  }
  run->import_cfg = *std::move(cfg);
  return absl::OkStatus();
}

// Config, log file, preflight; test mode's environment checks.
absl::Status LoadAndPrepare(Run* run) {
  Options& o = run->opts;
  absl::StatusOr<rpc::TlsMaterial> tls = ResolveSecurity(o, &run->tls_warning);
  if (!tls.ok()) return tls.status();
  run->tls = *std::move(tls);
  if (!run->tls_warning.empty()) {
    std::fprintf(stderr, "coordinator: WARNING: %s\n", run->tls_warning.c_str());
  }
  absl::StatusOr<config::Config> cfg = config::LoadConfig(o.config_path);
  // A config that cannot be used is a usage error, whatever the cause.
  if (!cfg.ok()) return absl::InvalidArgumentError(cfg.status().message());
  run->cfg = *std::move(cfg);
  if (run->cfg.accounts.empty()) return absl::InvalidArgumentError(o.config_path + ": no accounts");
  if (absl::Status st = SelectAccounts(run); !st.ok()) return st;
  run->cfg.selection = MergeSelection(run->cfg.selection, o.selection_flags);
  if (auto problems = config::SelectionProblems(run->cfg.selection); !problems.empty()) {
    return absl::InvalidArgumentError("selection (config and flags): " + problems[0]);
  }
  if (absl::Status st = LoadImportConfig(run); !st.ok()) return st;
  if (o.workers < 0) {
    o.workers = DefaultWorkers(run->subset.empty() ? run->cfg.accounts.size() : run->subset.size());
  }
  if (o.resync_missing && o.mode != engine::Mode::kValidate) {
    std::fprintf(stderr, "coordinator: warning: --resync-missing only applies to validate\n");
  }
  absl::Status dirs = MakeDirs(o.log_dir, 0700);
  if (!dirs.ok()) return absl::FailedPreconditionError(dirs.message());
  run->stem = RunStem(o);
  if (!logging::SetLogFile(run->stem + ".log")) {
    return absl::FailedPreconditionError("cannot create log file " + run->stem + ".log");
  }
  if (o.log_per_account) {
    absl::Status made = MakeDirs(run->stem + ".accounts", 0700);
    if (!made.ok()) return absl::FailedPreconditionError(made.message());
  }
  for (const std::string& w : run->cfg.warnings) LOG(WARNING) << "config: " << w;
  absl::Status ok =
      Preflight(PreflightInput{o.mode, o.output_dir, o.input_dir, o.min_free_gb, o.dry_run});
  if (!ok.ok()) {
    LOG(ERROR) << "preflight: " << ok.message();
    return absl::FailedPreconditionError(absl::StrCat("preflight failed: ", ok.message()));
  }
  if (o.mode == engine::Mode::kTest) return CheckTestEnvironment(*run);
  return absl::OkStatus();
}

JobOptions MakeJobOptions(Run* run_ptr) {
  Run& run = *run_ptr;
  const Options& o = run.opts;
  JobOptions jo;
  jo.job_id = Basename(run.stem);
  jo.mode = o.mode;
  jo.config = run.cfg;
  if (!run.subset.empty()) {  // the Job runs only these; the durable state keeps them all
    jo.config.accounts.clear();
    for (int i : run.subset) jo.config.accounts.push_back(run.cfg.accounts[i]);
  }
  jo.data_location = DataLocation(o);
  jo.resync_missing = o.resync_missing;
  jo.strict = o.strict;
  jo.fix_messages = o.fix_messages;
  jo.selection = config::ResolveSelection(run.cfg.selection, absl::Now());
  jo.dry_run = o.dry_run;
  jo.sizes = o.sizes;
  if (run.import_cfg) {
    jo.map_server = run.import_cfg->server;
    jo.map_folder_map = run.import_cfg->folder_map;
    for (const config::Account& a : run.import_cfg->accounts) jo.map_accounts[a.email] = a;
  }
  jo.min_free_gb = o.min_free_gb;
  jo.store_concurrency = o.store_concurrency > 0 ? o.store_concurrency : run.cfg.store_concurrency;
  jo.fail_fast = !o.ignore_errors;
  jo.local_workers = o.workers;
  if (o.log_per_account) jo.account_log_dir = run.stem + ".accounts";
  run.subset_journal = ApplyDurableJob(o.durable, run.state.get(), run.subset, &jo);
  return jo;
}

void DrainWorkers(Job& job, WorkerPool* pool) {
  if (!job.WaitNoConnectedWorkers(absl::Seconds(10))) {
    LOG(WARNING) << "workers still connected 10s after the end; sending Shutdown";
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

std::unique_ptr<WorkerPool> StartPool(const Run& run, const std::string& address, Job& job,
                                      absl::Status* st) {
  absl::StatusOr<std::string> binary = FindWorkerBinary();
  if (!binary.ok()) {
    *st = binary.status();
    return nullptr;
  }
  LocalWorkerSpec spec;
  spec.binary = *binary;
  spec.coordinator = address;
  spec.max_parallel = run.opts.max_workers;
  spec.log_file = run.stem + ".log";
  if (run.opts.log_per_account) spec.account_log_dir = run.stem + ".accounts";
  // Their detailed log goes to the run log; on the shared terminal only with --verbose.
  if (!run.opts.verbose) spec.stderr_level = "error";
  auto pool = std::make_unique<WorkerPool>(
      spec, [&job](const std::string& id, int pid) { job.LocalWorkerStarted(id, pid); },
      [&job](const WorkerExit& e) { return job.LocalWorkerExited(e.id, e.how, e.can_respawn); });
  *st = pool->Spawn(run.opts.workers);
  return pool;
}

// The endpoints to serve: `address` with the --tls-* security and, when TLS is on and
// local workers are spawned, a private Unix socket for them (they hold no client
// certificate); local workers use the last one.
absl::StatusOr<std::vector<CoordinatorServer::Endpoint>> Endpoints(Run* run,
                                                                   const std::string& address) {
  std::vector<CoordinatorServer::Endpoint> out;
  out.push_back({address, run->tls});
  if (run->tls.tls && run->opts.workers > 0 && run->socket_dir.empty()) {
    absl::StatusOr<std::string> dir = MakeSocketDir();
    if (!dir.ok()) return dir.status();
    run->socket_dir = *dir;
    out.push_back({"unix:" + run->socket_dir + "/coordinator.sock", {}});
  }
  return out;
}

void RemoveSocketDir(const Run& run) {
  if (run.socket_dir.empty()) return;
  ::unlink((run.socket_dir + "/coordinator.sock").c_str());
  ::rmdir(run.socket_dir.c_str());
}

void WriteImportTemplate(const Run& run) {
  std::string path = Dirname(run.opts.config_path) + "/import.pass.config.json";
  if (::access(path.c_str(), F_OK) == 0) return;
  absl::Status st = config::WriteConfig(run.cfg, path);
  if (!st.ok()) {
    LOG(WARNING) << "could not write the import template " << path << ": " << st.message();
    return;
  }
  LOG(INFO) << "wrote import template " << path;
  std::printf(
      "wrote import template %s (mode 0600): point its server block at server B before "
      "running the import\n",
      path.c_str());
}

// The summary table and the failures by cause (stdout and the run log), the JSON and CSV
// reports, the import template.
// Returns the job's outcome, or the report's write error.
absl::Status Conclude(Run* run, const Job& job) {
  const absl::Time began = absl::Now();
  const JobSnapshot snapshot = job.Snapshot();
  absl::Status outcome = JobOutcome(snapshot);
  std::string table = FormatSummaryTable(snapshot, run->info);
  std::string details = FormatDetails(snapshot);
  if (!details.empty()) std::fputs(("\n" + details + "\n").c_str(), stdout);
  std::fputs(table.c_str(), stdout);
  logging::AppendToFile(details + table);  // the run log keeps the table, stderr does not
  absl::Status written = WriteReportFileFrom(run->info.report_path, [&](ReportWriter write) {
    JsonReportPieces(snapshot, run->info, ExitCodeFor(outcome), write);
  });
  if (!written.ok()) LOG(ERROR) << written.message();
  const std::string csv_path = run->stem + ".report.csv";
  absl::Status csv =
      WriteReportFileFrom(csv_path, [&](ReportWriter write) { CsvReportPieces(snapshot, write); });
  if (!csv.ok()) LOG(ERROR) << csv.message();
  // Many failed accounts: listed in a file beside the report, for --accounts-file.
  std::string retry_file;
  const std::string failed = FailedAccountsFile(snapshot);
  if (static_cast<size_t>(std::count(failed.begin(), failed.end(), '\n')) > kMaxInlineRetry) {
    retry_file = run->stem + ".failed.txt";
    absl::Status st = WriteReportFile(failed, retry_file);
    if (!st.ok()) {
      LOG(ERROR) << st.message();
      retry_file.clear();
    }
  }
  std::string groups = FormatFailureGroups(snapshot, run->info, retry_file, kMaxInlineRetry);
  std::fputs(groups.c_str(), stdout);
  logging::AppendToFile(groups);
  std::printf("log: %s\nreport: %s\ncsv: %s\n", run->info.log_path.c_str(),
              run->info.report_path.c_str(), csv_path.c_str());
  if (run->opts.log_per_account) {
    std::printf("account logs: %s.accounts/\n", run->stem.c_str());
  }
  if (run->opts.mode == engine::Mode::kExport && !run->opts.dry_run) WriteImportTemplate(*run);
  std::fflush(stdout);
  LOG(INFO) << "summary and reports of " << snapshot.accounts.size() << " account(s) written in "
            << absl::ToInt64Milliseconds(absl::Now() - began) << " ms";
  absl::Status result = !written.ok() ? written : !csv.ok() ? csv : outcome;
  LOG(INFO) << "exit code " << ExitCodeFor(result);
  return result;
}

// --linger: writes the summary and report now, then keeps serving the status API until
// SIGINT/SIGTERM. Returns the job's outcome.
absl::Status Linger(Run* run, Job& job, const std::string& address, SignalWatcher& signals) {
  run->info.finished = absl::Now();
  absl::Status outcome = Conclude(run, job);
  LOG(INFO) << "job finished (exit code " << ExitCodeFor(outcome)
            << "); --linger: serving the status API on " << address << " until SIGINT/SIGTERM";
  std::fprintf(stderr,
               "coordinator: job finished; --linger: serving the status API on %s until "
               "SIGINT/SIGTERM\n",
               address.c_str());
  signals.WaitForSignalAfterFinish();
  LOG(INFO) << "signal received while lingering; exiting with " << ExitCodeFor(outcome);
  return outcome;
}

void LogStart(const Run& run, const Job& job, const CoordinatorServer& server) {
  const Options& o = run.opts;
  if (!run.tls_warning.empty()) LOG(WARNING) << run.tls_warning;
  if (run.tls.tls) {
    LOG(INFO) << "mutual TLS on " << server.address()
              << ": workers need a client certificate from --tls-ca";
  }
  LOG(INFO) << "job " << job.options().job_id << ": " << o.mode_name
            << (o.dry_run ? " (dry run: nothing is written)" : "") << ", "
            << job.options().config.accounts.size() << " account(s) from " << o.config_path << ", "
            << o.workers << " local worker(s) x " << o.max_workers << ", data "
            << job.options().data_location << ", listening on " << server.address();
}

// The health-only endpoint, when --health-listen asks for one.
absl::StatusOr<std::unique_ptr<rpc::HealthServer>> StartHealth(const Options& o) {
  if (o.health_listen.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<rpc::HealthServer>> health =
      rpc::HealthServer::Start(o.health_listen);
  if (health.ok()) {
    LOG(INFO) << "health (grpc.health.v1 only, plaintext) on " << (*health)->address();
  }
  return health;
}

// Prometheus metrics and the status page, when --metrics-listen asks for them.
absl::StatusOr<std::unique_ptr<HttpFrontend>> StartHttp(const Options& o, Job& job,
                                                        StatusTracker& tracker) {
  if (o.metrics_listen.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<HttpFrontend>> http =
      HttpFrontend::Start(o.metrics_listen, &job, &tracker);
  if (!http.ok()) {
    LOG(ERROR) << http.status().message();
    return http.status();
  }
  LOG(INFO) << "metrics on http://" << (*http)->address() << "/metrics, status page on http://"
            << (*http)->address() << "/ (HTTP, plaintext, read-only)";
  return http;
}

// Serves workers and the status API on --listen (or a private Unix socket), plus the
// private socket of local workers beside a TLS listener. Sets run->info.
absl::StatusOr<std::unique_ptr<CoordinatorServer>> Serve(Run* run, Job& job,
                                                         StatusTracker& tracker) {
  const Options& o = run->opts;
  std::string address = o.listen;
  if (address.empty()) {
    absl::StatusOr<std::string> dir = MakeSocketDir();
    if (!dir.ok()) return dir.status();
    run->socket_dir = *dir;
    address = "unix:" + run->socket_dir + "/coordinator.sock";
  }
  auto endpoints = Endpoints(run, address);
  if (!endpoints.ok()) return endpoints.status();
  auto server = CoordinatorServer::Start(*endpoints, &job, &tracker);
  if (!server.ok()) {
    RemoveSocketDir(*run);
    return server.status();
  }
  LogStart(*run, job, **server);
  run->info = RunInfo{o.mode_name,
                      o.config_path,
                      job.options().data_location,
                      run->stem + ".log",
                      run->stem + ".report.json",
                      o.workers,
                      o.max_workers,
                      o.ignore_errors,
                      absl::Now(),
                      absl::Time(),
                      o.strict,
                      o.fix_messages,
                      o.retry_args,
                      run->not_in_run};
  run->info.dry_run = o.dry_run;
  run->info.sizes = o.sizes;
  return server;
}

// What reaches stderr: warnings and errors (the detailed log is in the run log file), all of
// it with --verbose, errors only with --quiet.
void RouteLog(const Options& o) {
  logging::SetStderrMinLevel(o.quiet     ? logging::Level::kError
                             : o.verbose ? logging::Level::kDebug
                                         : logging::Level::kWarning);
}

// The console on stderr (frontends/tty), none with --quiet.
std::unique_ptr<Console> StartConsole(const Options& o, const Job& job,
                                      const StatusTracker& tracker) {
  if (o.quiet) return nullptr;
  return std::make_unique<Console>(&job, &tracker,
                                   DetectConsole(2, o.verbose, o.progress_interval));
}

// Serves, spawns, waits for the job, drains, concludes.
absl::Status Execute(Run* run) {
  const Options& o = run->opts;
  absl::StatusOr<std::unique_ptr<StateStore>> state =
      OpenDurableJob(o.durable, o.mode, run->cfg, DataLocation(o), o.log_dir);
  if (!state.ok()) {
    LOG(ERROR) << state.status().message();
    return state.status();
  }
  run->state = *std::move(state);
  absl::StatusOr<std::unique_ptr<rpc::HealthServer>> health = StartHealth(o);
  if (!health.ok()) return health.status();
  Job job(MakeJobOptions(run));
  StatusTracker tracker(&job, kRateWindow, kTrackerPeriod);
  absl::StatusOr<std::unique_ptr<HttpFrontend>> http = StartHttp(o, job, tracker);
  if (!http.ok()) return http.status();
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = Serve(run, job, tracker);
  if (!server.ok()) return server.status();
  std::unique_ptr<Console> console = StartConsole(o, job, tracker);
  // Local workers use the last endpoint (the private socket beside a TLS listener).
  const std::string& local_address = (*server)->address((*server)->endpoints() - 1);
  std::unique_ptr<WorkerPool> pool;
  absl::Status spawned;
  if (o.workers > 0) pool = StartPool(*run, local_address, job, &spawned);
  if (!spawned.ok()) {
    LOG(ERROR) << "cannot start local workers: " << spawned.message();
    job.ForceStop(absl::StrCat("cannot start local workers: ", spawned.message()));
  }
  absl::Status outcome;
  bool concluded = false;  // --linger concludes before it waits
  {
    SignalWatcher signals(&job);
    job.WaitFinished(absl::InfiniteDuration());
    DrainWorkers(job, pool.get());
    console.reset();  // its last lines, then the summary on stdout
    if (o.linger) {
      outcome = Linger(run, job, (*server)->address(), signals);
      concluded = true;
    }
  }
  (*server)->Shutdown(absl::Milliseconds(500));
  pool.reset();
  RemoveSocketDir(*run);
  if (!concluded) {
    run->info.finished = absl::Now();
    outcome = Conclude(run, job);
  }
  return spawned.ok() ? outcome : spawned;
}

}  // namespace

absl::Status RunCoordinator(Options options) {
  Run run;
  run.opts = std::move(options);
  RouteLog(run.opts);
  absl::Status prepared = LoadAndPrepare(&run);
  if (!prepared.ok()) return prepared;
  return Execute(&run);
}

}  // namespace coordinator
