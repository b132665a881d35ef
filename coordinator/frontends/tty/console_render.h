// What the console shows, as plain text: the summary line, one line per running account,
// one line per finished account, cut to a terminal's width and height. Pure functions of a
// JobSnapshot and its AggregateStatus: no terminal, no escape codes, no clock (console.h
// draws them).
//
//   export 1m05s | accounts 3/10 done, 2 running, 1 failed | messages 1234/5000 |
//     12.3 MB/45.6 MB | 120 msg/s, 2.1 MB/s | ETA 35s
//     alice@example.com  INBOX/Archive  folders 3/12  messages 400/2100  45 msg/s
//   ok      bob@example.com: 812 messages, 30.2 MB in 41s
//   FAILED  carol@example.com: login refused (attempt 1)
//
// A total followed by "+" is a lower bound (README "Status API": totals_known).
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_RENDER_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_RENDER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"

namespace coordinator {

struct TermSize {
  int cols = 80, rows = 24;
};

// "42s", "3m05s", "1h02m".
std::string ShortDuration(absl::Duration d);

// `line` cut to at most `cols` columns (a code point counts as one), ending in "..." when
// cut.
std::string FitWidth(absl::string_view line, int cols);

// The job in one line: mode, elapsed, accounts, messages and bytes of the known total, the
// current rates and the ETA.
std::string SummaryLine(const JobSnapshot& s, const AggregateStatus& a);

// A running account: email, current folder, folders n/m, messages, rate over its attempt.
std::string RunningLine(const AccountView& a);

// A finished account ("ok", "FAILED" or "cancelled"), once.
std::string FinishedLine(const AccountView& a);

// The live display: the summary line, then one line per running account, within `size`:
// at most rows - 1 lines (the cursor's line stays free) of at most cols - 1 columns (the
// last column is never written: no wrap). Accounts that do not fit are counted on the last
// line ("... and 7 more running").
std::vector<std::string> RenderLive(const JobSnapshot& s, const AggregateStatus& a, TermSize size);

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_RENDER_H_
