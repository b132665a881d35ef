// Bounded stalls: a connection's progress deadlines beside the idle timeout (README
// "Config": io_timeout, min_rate). I/O-free and clock-free: the transport tells it how long
// it waited for the peer and how many bytes moved, the session what the bytes are for.
//
// Two rules, both measured in *waiting time* (time spent blocked on the peer; time our own
// side spends elsewhere, e.g. writing to a slow disk, never counts against the server):
//   - Minimum rate: while a transfer is under way (a response partly received, a literal
//     being received, or anything being sent), the connection must move at least
//     min_rate x window bytes in every window of waiting, window = io_timeout / 4 (30 s by
//     default). A server that stops inside a literal is dropped after one window, one that
//     drips a byte every 2 s after one window too. Between responses (a server thinking
//     about a SELECT) only the idle timeout applies.
//   - Command deadline: the oldest command in flight may wait io_timeout plus its bytes at
//     min_rate: the bytes it moved since it became the oldest plus those announced and not
//     yet moved (the rest of a literal). A 20 MB literal extends it by 20 MB / min_rate as
//     soon as it is announced; a command answered by a trickle of small complete responses
//     ends at about io_timeout.
// min_rate 0 turns both off (the idle timeout stays).
//
// Thread-safety: none; one connection, one thread (as the transport).
#ifndef MIGRATOR_COMMON_NET_PROGRESS_H_
#define MIGRATOR_COMMON_NET_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <deque>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace net {

struct ProgressLimits {
  std::chrono::milliseconds io_timeout{120000};  // also the idle timeout of each read/write
  uint64_t min_rate = 1024;                      // bytes per second; 0: no progress rules
};

class ProgressWatch {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit ProgressWatch(const ProgressLimits& limits);

  // --- What the bytes are for (the session) ----------------------------------------------
  // The oldest command in flight changed (or one was sent on an idle connection): its
  // deadline starts now.
  void BeginCommand();
  // No command in flight: no command deadline.
  void EndCommands();
  // Bytes announced and not yet moved (the rest of a literal being received or sent).
  void SetOwed(uint64_t bytes) { owed_ = bytes; }
  // A response is partly received: reads are under the rate rule.
  void SetMidResponse(bool mid) { mid_response_ = mid; }

  // --- How they move (the transport) -------------------------------------------------------
  // How long the caller may wait for the peer now before a rule is broken (zero or less:
  // already broken); Duration::max() when no rule applies. `writing`: a wait to send.
  Duration Allowance(bool writing) const;
  // The caller waited `waited` for the peer.
  void Waited(Duration waited, bool writing);
  // `n` bytes moved, either way.
  void Moved(uint64_t n);
  // kDeadlineExceeded "<what>: ..." naming the rule when one is broken, else OK.
  absl::Status Check(bool writing, absl::string_view what) const;

  Duration window() const { return window_; }

 private:
  struct Sample {
    Duration armed;  // the rate rule's clock when `bytes` had moved
    uint64_t bytes;
  };
  bool Armed(bool writing) const { return writing || mid_response_; }
  // Bytes the command may move in its deadline, and the time left (command clock).
  uint64_t CommandBytes() const;
  Duration CommandLeft() const;
  // Time left before the rate rule breaks (armed clock); the bytes moved in the last window.
  Duration RateLeft() const;
  uint64_t BytesInWindow() const;
  void Record();

  const ProgressLimits limits_;
  const Duration window_;
  const uint64_t need_;  // bytes per window: min_rate x window
  bool in_command_ = false;
  bool mid_response_ = false;
  uint64_t owed_ = 0;
  uint64_t moved_ = 0;             // in all
  uint64_t moved_at_command_ = 0;  // when the current command began
  Duration command_clock_{0};      // waited since the current command began
  Duration armed_clock_{0};        // waited while the rate rule applied, in all
  std::deque<Sample> samples_;     // ascending; the first at or before armed_clock_ - window
};

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_PROGRESS_H_
