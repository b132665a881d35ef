// The coordinator's console on stderr, drawn by a thread of its own from job snapshots
// (console_render.h says what the lines are):
//   live (a terminal): the summary line and one line per running account, redrawn in place
//     every `redraw_interval` (and at once on SIGWINCH when the process blocks it, see
//     Console::BlockResizeSignal), cut to the terminal's size (TIOCGWINSZ at every
//     redraw); finished and failed accounts, and the log lines that reach stderr, scroll
//     above it. Colours unless NO_COLOR.
//   plain (a pipe, a file, TERM=dumb, --verbose): no escape code; one "progress: ..." line
//     every `progress_interval` and one line per finished or failed account.
// Finish() prints what is left (finished accounts, the final summary line) and clears the
// live display, before the summary table goes to stdout.
//
// Thread-safety: the constructor, Finish() and the destructor from one thread; the log
// writer (live mode) from any. The thread never holds its output lock while it takes a
// snapshot, so a log line written under the Job's lock cannot deadlock with it.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/core/job.h"
#include "coordinator/frontends/tty/console_render.h"
#include "coordinator/status/status_tracker.h"

namespace coordinator {

struct ConsoleOptions {
  int fd = 2;
  bool live = false;   // redraw in place (a terminal); else plain lines
  bool color = false;  // live only
  absl::Duration progress_interval = absl::Seconds(10);      // plain: progress lines
  absl::Duration redraw_interval = absl::Milliseconds(250);  // live: redraws; plain: checks
};

// For `fd`: live when it is a terminal and TERM is set and not "dumb", unless `verbose`
// (the detailed log would tear a live display); colours when live and NO_COLOR is unset or
// empty.
ConsoleOptions DetectConsole(int fd, bool verbose, absl::Duration progress_interval);

// The terminal size of `fd` (TIOCGWINSZ); 80x24 when it has none.
TermSize TerminalSize(int fd);

class Console {
 public:
  // Call in main() before any thread starts: SIGWINCH is then taken by the console thread
  // alone (an immediate redraw on a resize) instead of being ignored by some other thread.
  static void BlockResizeSignal();

  // `job` and `tracker` must outlive the console. Live mode takes over logging's stderr
  // lines (logging::SetStderrWriter) until Finish().
  Console(const Job* job, const StatusTracker* tracker, ConsoleOptions options);
  ~Console();  // Finish()
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Stops the thread, prints the accounts not yet shown and the final summary line, leaves
  // no live display behind. Idempotent.
  void Finish();

 private:
  void Loop();
  // One update: new finished accounts, then the live display or a due progress line.
  void Update(bool final);
  // Live: erases the display, writes `scroll` (lines that stay) and draws `live` below.
  void DrawLocked(const std::vector<std::string>& scroll, const std::vector<std::string>& live)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  static void LogLine(void* self, absl::string_view line);
  std::string Colored(const std::string& line, const char* sgr) const;

  const Job* const job_;
  const StatusTracker* const tracker_;
  const ConsoleOptions options_;
  std::vector<bool> shown_;  // per account: its terminal state was printed (thread only)
  absl::Time next_progress_;
  absl::Mutex out_mu_;
  int drawn_ ABSL_GUARDED_BY(out_mu_) = 0;  // live lines on the screen below the cursor's
  std::vector<std::string> live_ ABSL_GUARDED_BY(out_mu_);  // what they say
  std::atomic<bool> stop_{false};
  bool finished_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_TTY_CONSOLE_H_
