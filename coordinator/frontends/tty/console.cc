#include "coordinator/frontends/tty/console.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/sys/file.h"

namespace coordinator {
namespace {

constexpr char kBold[] = "1", kGreen[] = "32", kRed[] = "31", kYellow[] = "33";

sigset_t ResizeSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  return set;
}

}  // namespace

ConsoleOptions DetectConsole(int fd, bool verbose, absl::Duration progress_interval) {
  ConsoleOptions o;
  o.fd = fd;
  o.progress_interval = progress_interval;
  const char* term = std::getenv("TERM");
  bool dumb = term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0;
  o.live = ::isatty(fd) == 1 && !dumb && !verbose;
  const char* no_color = std::getenv("NO_COLOR");
  o.color = o.live && (no_color == nullptr || *no_color == '\0');
  // Lines only: a finished account's line within a second is soon enough, and a big job's
  // snapshot is not free (it looks at every account).
  if (!o.live) o.redraw_interval = std::min(absl::Seconds(1), progress_interval);
  return o;
}

TermSize TerminalSize(int fd) {
  TermSize size;
  struct winsize ws;
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    size.cols = ws.ws_col;
    size.rows = ws.ws_row;
  }
  return size;
}

void Console::BlockResizeSignal() {
  sigset_t set = ResizeSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Console::Console(const Job* job, const StatusTracker* tracker, ConsoleOptions options)
    : job_(job), tracker_(tracker), options_(options) {
  JobSnapshot s = job_->Snapshot(SnapshotDetail::kNoFolders);
  shown_.assign(s.accounts.size(), false);
  // Accounts that succeeded in an earlier run are no news.
  for (size_t i = 0; i < s.accounts.size(); ++i) shown_[i] = s.accounts[i].task.earlier_run;
  next_progress_ = absl::Now() + options_.progress_interval;
  if (options_.live) logging::SetStderrWriter(&Console::LogLine, this);
  thread_ = std::thread([this] { Loop(); });
}

Console::~Console() { Finish(); }

void Console::Finish() {
  if (finished_) return;
  finished_ = true;
  stop_.store(true);
  ::pthread_kill(thread_.native_handle(), SIGWINCH);  // wakes its sigtimedwait
  thread_.join();
  if (options_.live) logging::SetStderrWriter(nullptr, nullptr);
  Update(/*final=*/true);
}

void Console::Loop() {
  sigset_t set = ResizeSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  while (!stop_.load()) {
    Update(/*final=*/false);
    // Sleeps one interval; a resize (live) or Finish() wakes it early.
    absl::Duration wait = options_.redraw_interval;
    struct timespec ts = absl::ToTimespec(wait);
    ::sigtimedwait(&set, nullptr, &ts);
  }
}

void Console::Update(bool final) {
  // No lock of ours held: see the header. Without the folders: 4 times a second.
  JobSnapshot s = job_->Snapshot(SnapshotDetail::kNoFolders);
  AggregateStatus a = tracker_->Aggregate(s);
  TermSize size = options_.live ? TerminalSize(options_.fd) : TermSize{};
  std::vector<std::string> scroll;
  for (size_t i = 0; i < s.accounts.size() && i < shown_.size(); ++i) {
    const AccountView& v = s.accounts[i];
    if (!IsTerminal(v.task.state)) {
      shown_[i] = false;  // requeued: its end will be news again
      continue;
    }
    if (shown_[i]) continue;
    shown_[i] = true;
    std::string line = FinishedLine(v);
    if (!options_.live) {
      scroll.push_back(line);
      continue;
    }
    const char* sgr = v.task.state == TaskState::kSucceeded ? kGreen
                      : v.task.state == TaskState::kFailed  ? kRed
                                                            : kYellow;
    scroll.push_back(Colored(FitWidth(line, size.cols - 1), sgr));
  }
  if (options_.live) {
    std::vector<std::string> live;
    if (final) {
      scroll.push_back(Colored(FitWidth(SummaryLine(s, a), size.cols - 1), kBold));
    } else {
      live = RenderLive(s, a, size);
      if (!live.empty()) live[0] = Colored(live[0], kBold);
    }
    absl::MutexLock lock(&out_mu_);
    DrawLocked(scroll, live);
    return;
  }
  absl::Time now = absl::Now();
  if (final || now >= next_progress_) {
    scroll.push_back(absl::StrCat(final ? "final: " : "progress: ", SummaryLine(s, a)));
    while (next_progress_ <= now) next_progress_ += options_.progress_interval;
  }
  if (scroll.empty()) return;
  std::string out;
  for (const std::string& line : scroll) absl::StrAppend(&out, line, "\n");
  absl::MutexLock lock(&out_mu_);
  sys::WriteAll(options_.fd, out);
}

void Console::DrawLocked(const std::vector<std::string>& scroll,
                         const std::vector<std::string>& live) {
  if (scroll.empty() && live == live_ && drawn_ == static_cast<int>(live.size())) return;
  std::string out;
  // Back to the first line of the display, and erase it to the end of the screen.
  if (drawn_ > 0) absl::StrAppend(&out, "\r\x1b[", drawn_, "A");
  absl::StrAppend(&out, "\r\x1b[J");
  for (const std::string& line : scroll) absl::StrAppend(&out, line, "\n");
  for (const std::string& line : live) absl::StrAppend(&out, line, "\n");
  drawn_ = static_cast<int>(live.size());
  live_ = live;
  sys::WriteAll(options_.fd, out);
}

void Console::LogLine(void* self, absl::string_view line) {
  auto* console = static_cast<Console*>(self);
  std::string text(line);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  absl::MutexLock lock(&console->out_mu_);
  console->DrawLocked({text}, console->live_);
}

std::string Console::Colored(const std::string& line, const char* sgr) const {
  if (!options_.color) return line;
  return absl::StrCat("\x1b[", sgr, "m", line, "\x1b[0m");
}

}  // namespace coordinator
