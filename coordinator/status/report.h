// The end-of-run outputs: the summary table (stdout) and the JSON report. Built
// from a JobSnapshot (which carries no secrets). Pure functions apart from
// WriteJsonReport.
#ifndef MIGRATOR_COORDINATOR_STATUS_REPORT_H_
#define MIGRATOR_COORDINATOR_STATUS_REPORT_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/text/bytes.h"
#include "coordinator/core/job.h"
#include "nlohmann/json.hpp"

namespace coordinator {

struct RunInfo {
  std::string mode;
  std::string config_path;
  std::string data_location;
  std::string log_path;
  std::string report_path;
  int workers = 0;      // local worker processes
  int max_workers = 0;  // accounts per worker
  bool ignore_errors = false;
  absl::Time started;
  absl::Time finished;
  bool strict = false;
  bool fix_messages = false;
  // The command line to print for a retry of only the failed accounts: the program and
  // its arguments without --only / --accounts-file (empty: no retry line).
  std::vector<std::string> retry_args;
  // Accounts of the config left out by --only / --accounts-file (their durable state is
  // kept); named in the summary and the reports.
  std::vector<std::string> not_in_run;
  bool dry_run = false;  // --dry-run: the accounts' plans, nothing written
  bool sizes = false;    // test --sizes
};

// "12.3 MB", "999 B": the byte counts of the table (decimal units, as migratectl's).
using text::HumanBytes;

// One line per account plus a totals line. Last errors are shortened to fit;
// the JSON report has them in full.
std::string FormatSummaryTable(const JobSnapshot& snapshot, const RunInfo& run);

// What the summary table leaves out, per mode: test — each account's notes (login,
// capabilities), with --sizes every folder's size (FormatSizesTable); validate — per account
// the exported and server-B counts, and every folder with missing or extra messages; a dry
// run — the plan (FormatPlanTable). Empty for the other runs.
std::string FormatDetails(const JobSnapshot& snapshot);

// The JSON report (README "The JSON report"): the status API's field names,
// units (milliseconds, bytes) and state words.
nlohmann::json BuildJsonReport(const JobSnapshot& snapshot, const RunInfo& run, int exit_code);
// The same report as text, BuildJsonReport(...).dump(2) and a newline, byte for byte, built
// one account at a time (a 100,000-account job's report as one JSON tree would take
// gigabytes).
std::string JsonReportText(const JobSnapshot& snapshot, const RunInfo& run, int exit_code);
// The same text in pieces, in order (an account a piece), to `write`: what the coordinator
// writes to the report file, never holding the whole text.
using ReportWriter = absl::FunctionRef<void(absl::string_view)>;
void JsonReportPieces(const JobSnapshot& snapshot, const RunInfo& run, int exit_code,
                      ReportWriter write);

// The CSV report (RFC 4180, header row, CRLF line ends): one row per account of the
// snapshot (state, folders, messages and bytes on each side, refused, repaired, skipped,
// duration, attempts, last error), for spreadsheets.
std::string BuildCsvReport(const JobSnapshot& snapshot);
// The same text in pieces (a row a piece), to `write`.
void CsvReportPieces(const JobSnapshot& snapshot, ReportWriter write);

// Writes `data` to `path` (mode 0600, atomically via a temporary file).
absl::Status WriteReportFile(const std::string& data, const std::string& path);
// The same, the content made by `produce` piece by piece (JsonReportPieces, CsvReportPieces).
absl::Status WriteReportFileFrom(const std::string& path,
                                 absl::FunctionRef<void(ReportWriter)> produce);

// A failure's cause in words, from its status code (the prefix of last_error, e.g.
// "UNAUTHENTICATED: ..."): "login refused (wrong password or token)", "target full /
// quota", "server unreachable or throttled", "cancelled (fail-fast or interrupted)", else
// the code itself ("unknown" when there is none).
std::string FailureCause(const std::string& last_error);

struct FailureGroup {
  std::string cause;
  std::vector<std::string> emails;  // in account order
};

// The failed and cancelled accounts grouped by FailureCause, biggest group first.
std::vector<FailureGroup> GroupFailures(const JobSnapshot& snapshot);

// After the table: "12 account(s): login refused (...): a@x, b@y, ... and 2 more" per
// group, then what to do next. `retry_file` (may be "") is where the failed accounts were
// written for --accounts-file when there are more than `max_inline` of them; else the
// retry line names them with --only. Empty when no account failed.
std::string FormatFailureGroups(const JobSnapshot& snapshot, const RunInfo& run,
                                const std::string& retry_file, size_t max_inline = 10);

// The failed and cancelled accounts, one a line, for --accounts-file.
std::string FailedAccountsFile(const JobSnapshot& snapshot);

// ---- test --sizes and dry runs (plan_report.cc) ----
// Sums over folders (of an account, or of the whole job) of what test --sizes and a dry
// run report per folder.
struct PlanSums {
  uint64_t folders = 0, source_messages = 0, source_bytes = 0;
  uint64_t folders_to_create = 0, to_move = 0, bytes_to_move = 0, present = 0, refused = 0;
  void Add(const engine::FolderResult& f);
  void Add(const PlanSums& other);
};
PlanSums SumsOf(const AccountView& account);
PlanSums SumsOf(const JobSnapshot& snapshot);
// {folders_total, source_messages, source_bytes, folders_to_create, messages_to_move,
//  bytes_to_move, messages_present}: the JSON report's names.
nlohmann::json PlanSumsJson(const PlanSums& sums);
// test --sizes: per account every folder's messages and bytes on server A and the folder it
// maps to on server B (when known; "(to create)" when B lacks it), then the account's sums.
std::string FormatSizesTable(const JobSnapshot& snapshot);
// Dry run: per account the folders with something to do (present, to move, bytes,
// refused, target; "(to create)"), then the account's sums.
std::string FormatPlanTable(const JobSnapshot& snapshot);
// The line of totals under the summary table: sizes on server A, or the dry run's plan;
// "" for other runs.
std::string FormatPlanTotals(const JobSnapshot& snapshot);

// Writes `report` to `path` (mode 0600, atomically via a temporary file).
absl::Status WriteJsonReport(const nlohmann::json& report, const std::string& path);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_STATUS_REPORT_H_
