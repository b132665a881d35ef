// The coordinator's command line: flags (defined in options.cc), parsed and checked into
// Options. The usage text is generated from the flags (common/cli/help.h), grouped by the
// table in options.cc.
#ifndef MIGRATOR_COORDINATOR_APP_OPTIONS_H_
#define MIGRATOR_COORDINATOR_APP_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/rpc/transport_security.h"
#include "coordinator/durable/durable_job.h"

namespace coordinator {

struct Options {
  bool help = false;       // --help: print Usage() and exit 0
  bool help_full = false;  // --helpfull: print UsageFull() and exit 0
  engine::Mode mode = engine::Mode::kTest;
  std::string mode_name, config_path, output_dir, input_dir, log_dir, listen;
  int workers = -1;  // -1: min(accounts, CPUs), resolved once the config is loaded
  int max_workers = 4;
  bool ignore_errors = false, resync_missing = false;
  bool strict = false;        // a message server B refuses fails the account
  bool fix_messages = false;  // import: send what server B would refuse repaired
  // --dry-run (export, import, validate): plan only, write nothing, no job state.
  bool dry_run = false;
  // --sizes (test): every folder's messages and bytes; --import-config: with the folder
  // each maps to on server B.
  bool sizes = false;
  std::string import_config;
  // The selection flags given (empty / zero / false: not given); each replaces its field
  // of the config's "selection" (MergeSelection).
  config::Selection selection_flags;
  bool linger = false;
  std::string health_listen;   // "": no health-only endpoint
  std::string metrics_listen;  // "": no HTTP metrics and status page
  double min_free_gb = 0;
  int store_concurrency = 0;  // 0: the config's store.concurrency (else the default)
  DurableJobFlags durable;
  // Output: the console on stderr (live display on a terminal, else progress lines every
  // progress_interval); verbose: the detailed log on stderr too; quiet: errors only.
  absl::Duration progress_interval = absl::Seconds(10);
  bool verbose = false, quiet = false;
  bool log_per_account = false;  // local workers write <stem>.accounts/<email>.log
  rpc::TlsFlags tls;
  // --only EMAIL,... and --accounts-file FILE (merged, in order): run only these accounts
  // of the config; empty: all of them.
  std::vector<std::string> only;
  // The command line as given, without --only, --accounts-file and --fresh: the summary's
  // retry command.
  std::vector<std::string> retry_args;
};

// The usage text: every flag with its meaning and default, grouped; the exit codes.
std::string Usage();
// --helpfull: every registered flag, one a line (common/cli/help.h).
std::string UsageFull();

// The config's selection with the flags given replacing its fields.
config::Selection MergeSelection(config::Selection from_config, const config::Selection& flags);

// Parses argv. kInvalidArgument names the bad flag or value.
absl::StatusOr<Options> ParseOptions(int argc, char** argv);

// --dry-run, --sizes, --import-config: kInvalidArgument where they do not apply (a dry
// run of test, --sizes outside test, --import-config without --sizes, --dry-run with
// --state). A dry run keeps no job state: sets durable.state to "none".
absl::Status CheckPlanFlags(Options* options);

// Mutual TLS for --listen, or plaintext where allowed (a Unix socket, loopback, or
// --insecure, which sets `*warning`). kInvalidArgument when refused.
absl::StatusOr<rpc::TlsMaterial> ResolveSecurity(const Options& options, std::string* warning);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_APP_OPTIONS_H_
