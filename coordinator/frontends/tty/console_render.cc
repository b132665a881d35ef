#include "coordinator/frontends/tty/console_render.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/text/bytes.h"

namespace coordinator {
namespace {

// "1234/5000", "1234/5000+" (a lower bound), "1234" (no total yet).
std::string OfTotal(uint64_t done, uint64_t total, bool known) {
  if (total == 0 || total < done) return absl::StrCat(done);
  return absl::StrCat(done, "/", total, known ? "" : "+");
}

std::string BytesOfTotal(uint64_t done, uint64_t total, bool known) {
  std::string d = text::HumanBytes(static_cast<double>(done));
  if (total == 0 || total < done) return d;
  return absl::StrCat(d, "/", text::HumanBytes(static_cast<double>(total)), known ? "" : "+");
}

std::string Rate(double per_second) {
  return per_second >= 10 || per_second == 0 ? absl::StrFormat("%.0f", per_second)
                                             : absl::StrFormat("%.1f", per_second);
}

// Only the first line of an error, without trailing blanks.
std::string OneLine(const std::string& text) {
  std::string out = text.substr(0, text.find('\n'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string ShortDuration(absl::Duration d) {
  int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

std::string FitWidth(absl::string_view line, int cols) {
  if (cols <= 0) return "";
  // Byte offsets where each code point starts (continuation bytes are 10xxxxxx).
  std::vector<size_t> starts;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xc0) != 0x80) starts.push_back(i);
  }
  size_t n = static_cast<size_t>(cols);
  if (starts.size() <= n) return std::string(line);
  if (n <= 3) return std::string(line.substr(0, starts[n]));
  return absl::StrCat(line.substr(0, starts[n - 3]), "...");
}

std::string SummaryLine(const JobSnapshot& s, const AggregateStatus& a) {
  size_t total = s.Totals().accounts;
  size_t done =
      s.Count(TaskState::kSucceeded) + s.Count(TaskState::kFailed) + s.Count(TaskState::kCancelled);
  std::string accounts = absl::StrCat("accounts ", done, "/", total, " done, ",
                                      s.Count(TaskState::kRunning), " running");
  if (size_t failed = s.Count(TaskState::kFailed); failed > 0) {
    absl::StrAppend(&accounts, ", ", failed, " failed");
  }
  if (size_t cancelled = s.Count(TaskState::kCancelled); cancelled > 0) {
    absl::StrAppend(&accounts, ", ", cancelled, " cancelled");
  }
  std::vector<std::string> parts = {
      absl::StrCat(engine::ModeName(s.mode), " ", ShortDuration(a.elapsed)),
      accounts,
      absl::StrCat("messages ", OfTotal(a.messages_done, a.messages_total, a.totals_known)),
      BytesOfTotal(a.bytes_done, a.bytes_total, a.totals_known),
      absl::StrCat(Rate(a.rates.messages_per_second), " msg/s, ",
                   text::HumanBytes(a.rates.bytes_per_second), "/s"),
  };
  if (s.finished) {
    parts.push_back("finished");
  } else if (s.stopping) {
    parts.push_back("stopping");
  } else {
    parts.push_back(a.eta > absl::ZeroDuration() ? "ETA " + ShortDuration(a.eta) : "ETA ?");
  }
  return absl::StrJoin(parts, " | ");
}

std::string RunningLine(const AccountView& a) {
  const engine::Progress& p = a.progress;
  std::string line = absl::StrCat("  ", a.task.email);
  if (!p.folder.empty()) absl::StrAppend(&line, "  ", p.folder);
  if (p.folders_total > 0) {
    absl::StrAppend(&line, "  folders ", p.folders_done, "/", p.folders_total);
  }
  absl::StrAppend(&line, "  messages ", OfTotal(a.messages, p.messages_total, true));
  double secs = absl::ToDoubleSeconds(a.elapsed);
  double rate = secs > 0 ? static_cast<double>(a.messages) / secs : 0;
  absl::StrAppend(&line, "  ", Rate(rate), " msg/s");
  if (a.task.attempts > 1) absl::StrAppend(&line, "  (attempt ", a.task.attempts, ")");
  return line;
}

std::string FinishedLine(const AccountView& a) {
  switch (a.task.state) {
    case TaskState::kSucceeded:
      return absl::StrCat("ok      ", a.task.email, ": ", a.messages, " messages, ",
                          text::HumanBytes(static_cast<double>(a.bytes)), " in ",
                          ShortDuration(a.elapsed));
    case TaskState::kFailed:
      return absl::StrCat("FAILED  ", a.task.email, ": ", OneLine(a.task.last_error), " (attempt ",
                          a.task.attempts, ")");
    case TaskState::kCancelled:
      return absl::StrCat("cancelled ", a.task.email, ": ", OneLine(a.task.last_error));
    default:
      return absl::StrCat(TaskStateName(a.task.state), " ", a.task.email);
  }
}

std::vector<std::string> RenderLive(const JobSnapshot& s, const AggregateStatus& a, TermSize size) {
  std::vector<std::string> lines;
  int width = size.cols - 1, room = size.rows - 1;
  if (room < 1 || width < 1) return lines;
  lines.push_back(FitWidth(SummaryLine(s, a), width));
  std::vector<const AccountView*> running;
  for (const AccountView& v : s.accounts) {
    if (v.task.state == TaskState::kRunning) running.push_back(&v);
  }
  size_t slots = static_cast<size_t>(room - 1);
  size_t shown = running.size() <= slots ? running.size() : (slots > 0 ? slots - 1 : 0);
  for (size_t i = 0; i < shown; ++i) lines.push_back(FitWidth(RunningLine(*running[i]), width));
  if (shown < running.size() && slots > 0) {
    lines.push_back(
        FitWidth(absl::StrCat("  ... and ", running.size() - shown, " more running"), width));
  }
  return lines;
}

}  // namespace coordinator
