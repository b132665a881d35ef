#include "coordinator/app/options.h"

#include <fstream>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cli/flags.h"
#include "common/cli/help.h"
#include "common/cli/tls_flags.h"
#include "common/config/config.h"

ABSL_FLAG(std::string, mode, "", "export | import | test | validate");
ABSL_FLAG(std::string, config, "", "JSON config (default per mode)");
ABSL_FLAG(std::string, output_dir, "./exported", "where export writes (dir or s3://)");
ABSL_FLAG(std::string, input_dir, "./exported", "what import/validate read (dir or s3://)");
ABSL_FLAG(int, workers, -1, "local worker processes (default min(accounts, ncpu); 0: none)");
ABSL_FLAG(int, max_workers, 4, "accounts each worker moves at once");
ABSL_FLAG(bool, ignore_errors, false, "keep going after an account fails");
ABSL_FLAG(std::string, log_dir, "./logs", "directory for the run log and JSON report");
ABSL_FLAG(double, min_free_gb, 0, "fail if free disk at the output dir is below this");
ABSL_FLAG(bool, resync_missing, false, "validate: re-import what is missing");
ABSL_FLAG(bool, strict, false,
          "import/validate: a message server B refuses fails the account (default: skipped "
          "and reported)");
ABSL_FLAG(bool, fix_messages, false,
          "import (validate --resync-missing): send messages with NUL bytes, bare newlines or "
          "lines over server.max_line_length repaired (the export is not changed)");
ABSL_FLAG(bool, dry_run, false,
          "export/import/validate: show what the run would do (folders to create, messages "
          "and bytes to move, already present) and write nothing");
ABSL_FLAG(bool, sizes, false,
          "test: every folder's messages and bytes on server A, per account and in total");
ABSL_FLAG(std::string, import_config, "",
          "test --sizes: also name the folder each maps to on server B (the import config)");
ABSL_FLAG(int, store_concurrency, 0,
          "store requests each worker has in flight at once (export uploads, import reads "
          "ahead, metadata reads); 0: the config's store.concurrency, else 16");
ABSL_FLAG(std::string, listen, "",
          "gRPC address to serve workers and the status API on (unix:/path or host:port; "
          "default: a private Unix socket)");

// A subset of the config's accounts.
ABSL_FLAG(std::vector<std::string>, only, {},
          "run only these accounts of the config (EMAIL,...); the durable job keeps the others");
ABSL_FLAG(std::string, accounts_file, "",
          "run only the accounts of the config listed in FILE (one email a line, # comments)");

// Which folders and messages (the config's "selection"; a flag given replaces its field).
ABSL_FLAG(std::string, include_folders, "",
          "move only folders whose UTF-8 name matches this RE2 regex (e.g. '^(INBOX|Work/)')");
ABSL_FLAG(std::string, exclude_folders, "",
          "leave out folders whose UTF-8 name matches this RE2 regex");
ABSL_FLAG(std::vector<std::string>, skip_special_use, {},
          "leave out folders with these special uses, e.g. \\Junk,\\Trash");
ABSL_FLAG(bool, just_folders, false, "import: create the folder tree on server B, no message");
ABSL_FLAG(bool, skip_cross_duplicates, false,
          "import, validate: a message exported in several folders goes to the first only "
          "(INBOX, Sent/Drafts, others by name, views, All Mail, Junk/Trash)");
ABSL_FLAG(std::string, since, "", "only messages whose INTERNALDATE is on or after YYYY-MM-DD");
ABSL_FLAG(std::string, before, "", "only messages whose INTERNALDATE is before YYYY-MM-DD");
ABSL_FLAG(int, max_age, 0, "only messages at most this many days old (0: no limit)");
ABSL_FLAG(int, min_age, 0, "only messages at least this many days old (0: no limit)");
ABSL_FLAG(uint64_t, min_size, 0, "only messages of at least this many bytes (0: no limit)");
ABSL_FLAG(uint64_t, max_size, 0, "only messages of at most this many bytes (0: no limit)");

// Leases, retries, the durable job.
ABSL_FLAG(std::string, state, "",
          "job state file (SQLite); default <log-dir>/<mode>.state.sqlite for export and "
          "import, none for test and validate; 'none': off");
ABSL_FLAG(bool, fresh, false, "discard the job state and start this job over");
ABSL_FLAG(absl::Duration, lease_timeout, absl::Seconds(30),
          "a worker not heard from this long loses its accounts");
ABSL_FLAG(int, max_attempts, 3, "attempts per account for retriable failures (>= 1)");

// The status API and transport security.
ABSL_FLAG(bool, linger, false,
          "after the job ends keep serving the status API until SIGINT/SIGTERM");
// --tls-cert, --tls-key, --tls-ca, --insecure: common/cli/tls_flags.h.

// Probes (e.g. kubelet's grpc: probes, which present no client certificate).
ABSL_FLAG(std::string, health_listen, "",
          "also serve grpc.health.v1 alone, plaintext, on this address (host:port)");

// Output: the console on stderr and what the log shows there.
ABSL_FLAG(absl::Duration, progress_interval, absl::Seconds(10),
          "not on a terminal: one progress line on stderr this often");
ABSL_FLAG(bool, verbose, false,
          "the detailed log (per folder, per worker) on stderr too, not only in the run log");
ABSL_FLAG(bool, log_per_account, false,
          "also log each account's lines (coordinator and local workers) to "
          "<log-dir>/<mode>-<time>.accounts/<email>.log; remote workers: their --log-per-account");
ABSL_FLAG(bool, quiet, false, "on stderr only errors; the final summary still on stdout");

// Prometheus metrics and the status page (HTTP, plaintext, read-only).
ABSL_FLAG(std::string, metrics_listen, "",
          "serve /metrics (Prometheus), the status page / and /api/status on this address "
          "(host:port, HTTP)");

namespace coordinator {
namespace {

// The arguments without the account selection and --fresh (a retry must not start the
// job over), for the summary's retry command.
std::vector<std::string> RetryArgs(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    bool takes_value = false, drop = false;
    for (const char* name : {"--only", "-only", "--accounts-file", "-accounts-file",
                             "--accounts_file", "-accounts_file"}) {
      if (a == name) drop = takes_value = true;
      if (absl::StartsWith(a, absl::StrCat(name, "="))) drop = true;
    }
    if (a == "--fresh" || a == "-fresh" || absl::StartsWith(a, "--fresh=") ||
        absl::StartsWith(a, "-fresh=")) {
      drop = true;
    }
    if (takes_value) ++i;
    if (!drop) out.push_back(a);
  }
  return out;
}

// --accounts-file: one email a line; blank lines and # comments ignored.
absl::Status ReadAccountsFile(const std::string& path, std::vector<std::string>* out) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError("--accounts-file: cannot read " + path);
  std::string line;
  while (std::getline(in, line)) {
    std::string v(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (!v.empty()) out->push_back(std::move(v));
  }
  if (out->empty()) return absl::InvalidArgumentError("--accounts-file: no account in " + path);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPlanFlags(Options* o) {
  if (o->dry_run && o->mode == engine::Mode::kTest) {
    return absl::InvalidArgumentError(
        "--dry-run applies to export, import and validate (test writes nothing; see --sizes)");
  }
  if (o->sizes && o->mode != engine::Mode::kTest) {
    return absl::InvalidArgumentError("--sizes applies to --mode test");
  }
  if (!o->import_config.empty() && !o->sizes) {
    return absl::InvalidArgumentError("--import-config applies to --mode test --sizes");
  }
  if (o->dry_run) {
    if (!o->durable.state.empty() && o->durable.state != "none") {
      return absl::InvalidArgumentError("--dry-run keeps no job state: drop --state");
    }
    o->durable.state = "none";
  }
  return absl::OkStatus();
}

namespace {

// Every flag in one group of --help (a flag left out is listed under "other", and
// help_test fails).
cli::HelpSpec Spec() {
  cli::HelpSpec spec;
  spec.program = "coordinator";
  spec.synopsis =
      "usage: coordinator --mode {export,import,test,validate} [flags]\n"
      "Moves the accounts of --config between IMAP servers through worker processes.\n";
  spec.groups = {
      {"job",
       {"mode", "config", "output_dir", "input_dir", "resync_missing", "min_free_gb",
        "ignore_errors", "strict", "fix_messages", "dry_run", "sizes", "import_config", "only",
        "accounts_file", "state", "fresh", "max_attempts", "store_concurrency"}},
      {"selection",
       {"include_folders", "exclude_folders", "skip_special_use", "just_folders",
        "skip_cross_duplicates", "since", "before", "max_age", "min_age", "min_size", "max_size"}},
      {"fleet", {"workers", "max_workers", "listen", "lease_timeout", "linger", "health_listen"}},
      {"security", {"tls_cert", "tls_key", "tls_ca", "insecure"}},
      {"output",
       {"log_dir", "log_per_account", "progress_interval", "verbose", "quiet", "metrics_listen"}},
  };
  spec.short_names = {{"verbose", "-v"}};
  spec.value_names = {{"mode", "MODE"},      {"config", "FILE"},        {"state", "FILE|none"},
                      {"only", "EMAIL,..."}, {"import_config", "FILE"}, {"accounts_file", "FILE"}};
  spec.epilogue =
      "exit codes: 0 all ok, 1 some account failed, 2 bad usage/config,\n"
      "            3 environment/preflight failure, 4 internal error\n";
  return spec;
}

}  // namespace

std::string Usage() { return cli::FormatHelp(Spec()); }
std::string UsageFull() { return cli::FormatHelpFull(); }

absl::StatusOr<Options> ParseOptions(int argc, char** argv) {
  Options o;
  std::string error;
  switch (cli::ParseFlags(argc, argv, &error, {{"-v", "--verbose"}})) {
    case cli::ParseResult::kHelp:
      o.help = true;
      return o;
    case cli::ParseResult::kHelpFull:
      o.help_full = true;
      return o;
    case cli::ParseResult::kError:
      return absl::InvalidArgumentError(error);
    case cli::ParseResult::kOk:
      break;
  }
  o.mode_name = absl::GetFlag(FLAGS_mode);
  if (!engine::ParseMode(o.mode_name, &o.mode)) {
    return absl::InvalidArgumentError("--mode must be one of export, import, test, validate");
  }
  o.mode_name = engine::ModeName(o.mode);
  o.config_path = absl::GetFlag(FLAGS_config);
  if (o.config_path.empty()) o.config_path = config::DefaultConfigPath(o.mode_name);
  o.output_dir = absl::GetFlag(FLAGS_output_dir);
  o.input_dir = absl::GetFlag(FLAGS_input_dir);
  o.log_dir = absl::GetFlag(FLAGS_log_dir);
  o.listen = absl::GetFlag(FLAGS_listen);
  o.workers = absl::GetFlag(FLAGS_workers);
  o.max_workers = absl::GetFlag(FLAGS_max_workers);
  o.ignore_errors = absl::GetFlag(FLAGS_ignore_errors);
  o.resync_missing = absl::GetFlag(FLAGS_resync_missing);
  o.strict = absl::GetFlag(FLAGS_strict);
  o.fix_messages = absl::GetFlag(FLAGS_fix_messages);
  o.dry_run = absl::GetFlag(FLAGS_dry_run);
  o.sizes = absl::GetFlag(FLAGS_sizes);
  o.import_config = absl::GetFlag(FLAGS_import_config);
  config::Selection& sel = o.selection_flags;
  sel.include_folders = absl::GetFlag(FLAGS_include_folders);
  sel.exclude_folders = absl::GetFlag(FLAGS_exclude_folders);
  sel.skip_special_use = absl::GetFlag(FLAGS_skip_special_use);
  sel.just_folders = absl::GetFlag(FLAGS_just_folders);
  sel.skip_cross_duplicates = absl::GetFlag(FLAGS_skip_cross_duplicates);
  sel.since = absl::GetFlag(FLAGS_since);
  sel.before = absl::GetFlag(FLAGS_before);
  sel.max_age_days = absl::GetFlag(FLAGS_max_age);
  sel.min_age_days = absl::GetFlag(FLAGS_min_age);
  sel.min_size = absl::GetFlag(FLAGS_min_size);
  sel.max_size = absl::GetFlag(FLAGS_max_size);
  if (std::vector<std::string> problems = config::SelectionProblems(sel); !problems.empty()) {
    return absl::InvalidArgumentError("--" + problems[0]);
  }
  o.min_free_gb = absl::GetFlag(FLAGS_min_free_gb);
  o.store_concurrency = absl::GetFlag(FLAGS_store_concurrency);
  o.linger = absl::GetFlag(FLAGS_linger);
  o.health_listen = absl::GetFlag(FLAGS_health_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.durable.state = absl::GetFlag(FLAGS_state);
  o.durable.fresh = absl::GetFlag(FLAGS_fresh);
  o.durable.lease_timeout = absl::GetFlag(FLAGS_lease_timeout);
  o.durable.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  o.tls = cli::ServerTlsFlags();
  for (const std::string& e : absl::GetFlag(FLAGS_only)) {
    std::string v(absl::StripAsciiWhitespace(e));
    if (!v.empty()) o.only.push_back(std::move(v));
  }
  if (std::string file = absl::GetFlag(FLAGS_accounts_file); !file.empty()) {
    absl::Status st = ReadAccountsFile(file, &o.only);
    if (!st.ok()) return st;
  }
  o.retry_args = RetryArgs(argc, argv);
  o.progress_interval = absl::GetFlag(FLAGS_progress_interval);
  o.verbose = absl::GetFlag(FLAGS_verbose);
  o.log_per_account = absl::GetFlag(FLAGS_log_per_account);
  o.quiet = absl::GetFlag(FLAGS_quiet);
  if (o.verbose && o.quiet) return absl::InvalidArgumentError("--verbose and --quiet conflict");
  if (o.progress_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--progress-interval must be > 0");
  }
  if (o.max_workers < 1) return absl::InvalidArgumentError("--max-workers must be >= 1");
  if (o.workers < -1) return absl::InvalidArgumentError("--workers must be >= 0");
  if (o.min_free_gb < 0) return absl::InvalidArgumentError("--min-free-gb must be >= 0");
  if (o.store_concurrency < 0 || o.store_concurrency > config::kMaxStoreConcurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("--store-concurrency must be from 0 to ", config::kMaxStoreConcurrency));
  }
  if (absl::Status st = CheckPlanFlags(&o); !st.ok()) return st;
  if (o.workers == 0 && o.listen.empty()) {
    return absl::InvalidArgumentError(
        "--workers 0 spawns no worker: give --listen for remote ones");
  }
  return o;
}

config::Selection MergeSelection(config::Selection s, const config::Selection& f) {
  if (!f.include_folders.empty()) s.include_folders = f.include_folders;
  if (!f.exclude_folders.empty()) s.exclude_folders = f.exclude_folders;
  if (!f.skip_special_use.empty()) s.skip_special_use = f.skip_special_use;
  if (f.just_folders) s.just_folders = true;
  if (f.skip_cross_duplicates) s.skip_cross_duplicates = true;
  if (!f.since.empty()) s.since = f.since;
  if (!f.before.empty()) s.before = f.before;
  if (f.max_age_days > 0) s.max_age_days = f.max_age_days;
  if (f.min_age_days > 0) s.min_age_days = f.min_age_days;
  if (f.min_size > 0) s.min_size = f.min_size;
  if (f.max_size > 0) s.max_size = f.max_size;
  return s;
}

absl::StatusOr<rpc::TlsMaterial> ResolveSecurity(const Options& o, std::string* warning) {
  const rpc::TlsFlags& f = o.tls;
  bool any = !f.cert_file.empty() || !f.key_file.empty() || !f.ca_file.empty();
  if (o.listen.empty() && (any || f.insecure)) {
    return absl::InvalidArgumentError("--tls-* and --insecure apply to --listen");
  }
  auto m =
      rpc::ResolveTransport(f, rpc::Role::kServer, o.listen.empty() ? "unix:" : o.listen, warning);
  if (!m.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("refusing to start: ", m.status().message()));
  }
  return m;
}

}  // namespace coordinator
