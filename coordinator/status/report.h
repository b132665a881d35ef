// The end-of-run outputs: the summary table (stdout) and the JSON report. Built
// from a JobSnapshot (which carries no secrets). Pure functions apart from
// WriteJsonReport.
#ifndef MIGRATOR_COORDINATOR_STATUS_REPORT_H_
#define MIGRATOR_COORDINATOR_STATUS_REPORT_H_

#include <string>

#include "absl/status/status.h"
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
};

// "12.3 MB", "999 B": the byte counts of the table (decimal units, as migratectl's).
using text::HumanBytes;

// One line per account plus a totals line. Last errors are shortened to fit;
// the JSON report has them in full.
std::string FormatSummaryTable(const JobSnapshot& snapshot, const RunInfo& run);

// What the summary table leaves out, per mode: test — each account's notes (login,
// capabilities); validate — per account the exported and server-B counts, and every folder
// with missing or extra messages. Empty for the other modes.
std::string FormatDetails(const JobSnapshot& snapshot);

// The JSON report (README "The JSON report"): the status API's field names,
// units (milliseconds, bytes) and state words.
nlohmann::json BuildJsonReport(const JobSnapshot& snapshot, const RunInfo& run, int exit_code);

// Writes `report` to `path` (mode 0600, atomically via a temporary file).
absl::Status WriteJsonReport(const nlohmann::json& report, const std::string& path);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_STATUS_REPORT_H_
