#include "common/net/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace net {
namespace {

using Seconds = std::chrono::duration<double>;

std::string Text(ProgressWatch::Duration d) {
  return absl::FormatDuration(
      absl::Milliseconds(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

// `bytes` at `rate` bytes/s as a duration, capped far below overflow.
ProgressWatch::Duration AtRate(uint64_t bytes, uint64_t rate) {
  const double s = std::min(static_cast<double>(bytes) / static_cast<double>(rate), 1e9);
  return std::chrono::duration_cast<ProgressWatch::Duration>(Seconds(s));
}

}  // namespace

ProgressWatch::ProgressWatch(const ProgressLimits& limits)
    : limits_(limits),
      window_(std::max<Duration>(limits.io_timeout / 4, std::chrono::milliseconds(1))),
      need_(std::max<uint64_t>(
          1, static_cast<uint64_t>(static_cast<double>(limits.min_rate) *
                                   std::chrono::duration_cast<Seconds>(window_).count()))) {
  samples_.push_back({Duration(0), 0});
}

void ProgressWatch::BeginCommand() {
  in_command_ = true;
  moved_at_command_ = moved_;
  command_clock_ = Duration(0);
}

void ProgressWatch::EndCommands() {
  in_command_ = false;
  owed_ = 0;
}

uint64_t ProgressWatch::CommandBytes() const { return moved_ - moved_at_command_ + owed_; }

ProgressWatch::Duration ProgressWatch::CommandLeft() const {
  return limits_.io_timeout + AtRate(CommandBytes(), limits_.min_rate) - command_clock_;
}

// The rule breaks at the armed time when the bytes of the window behind it drop below
// need_: one window after the first sample that lies within `need_` bytes of what has moved.
ProgressWatch::Duration ProgressWatch::RateLeft() const {
  const Sample* first = &samples_.front();
  if (moved_ >= need_) {
    const uint64_t floor = moved_ - need_;
    for (const Sample& s : samples_) {
      if (s.bytes > floor) {
        first = &s;
        break;
      }
    }
  }
  return first->armed + window_ - armed_clock_;
}

uint64_t ProgressWatch::BytesInWindow() const {
  uint64_t before = 0;
  for (const Sample& s : samples_) {
    if (s.armed > armed_clock_ - window_) break;
    before = s.bytes;
  }
  return moved_ - before;
}

ProgressWatch::Duration ProgressWatch::Allowance(bool writing) const {
  Duration left = Duration::max();
  if (limits_.min_rate == 0) return left;
  if (in_command_) left = std::min(left, CommandLeft());
  if (Armed(writing)) left = std::min(left, RateLeft());
  return left;
}

void ProgressWatch::Waited(Duration waited, bool writing) {
  if (in_command_) command_clock_ += waited;
  if (!Armed(writing)) return;
  armed_clock_ += waited;
  // Keep one sample at or before the start of the window: the rule needs no older one.
  while (samples_.size() >= 2 && samples_[1].armed <= armed_clock_ - window_) {
    samples_.pop_front();
  }
}

void ProgressWatch::Moved(uint64_t n) {
  moved_ += n;
  owed_ -= std::min(owed_, n);
  Record();
}

// At most ~33 samples: a sample closer than window/32 to the one before the last replaces
// the last (its bytes then count a little later: the rule errs towards patience).
void ProgressWatch::Record() {
  const Sample now{armed_clock_, moved_};
  const size_t n = samples_.size();
  if (n >= 2 && now.armed - samples_[n - 2].armed < window_ / 32) {
    samples_.back() = now;
  } else {
    samples_.push_back(now);
  }
}

absl::Status ProgressWatch::Check(bool writing, absl::string_view what) const {
  if (limits_.min_rate == 0) return absl::OkStatus();
  if (Armed(writing) && RateLeft() <= Duration(0)) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, " too slow: ", BytesInWindow(), " bytes in the last ", Text(window_),
        " of waiting, below min_rate ", limits_.min_rate, " bytes/s (", need_, " bytes)"));
  }
  if (in_command_ && CommandLeft() <= Duration(0)) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, ": the command's deadline passed: ", Text(command_clock_), " of waiting for ",
        CommandBytes(), " bytes (io_timeout ", Text(limits_.io_timeout),
        " plus the bytes at min_rate ", limits_.min_rate, " bytes/s)"));
  }
  return absl::OkStatus();
}

}  // namespace net
