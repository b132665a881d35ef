// How fast one account may go: the pauses after a throttle, a connection cap or a temporary
// failure, the number of connections it may use, and the counters the report shows. One
// Pacer per account run, shared by its connections.
//
//   - A throttle (reply class kThrottle: "Request is throttled. Suggested Backoff Time: N
//     milliseconds", Gmail's "[OVERQUOTA] ... command or bandwidth limits") pauses the whole
//     account: for the server's suggested wait when it gave one, else an exponential backoff
//     (first_backoff, doubling per throttle that arrives after the previous pause ended,
//     with jitter: a backoff d becomes d * [1 - jitter, 1]), never longer than max_wait. It
//     halves the connections the account may use (down to 1).
//   - A connection cap (kConnectionCap: "Too many simultaneous connections", Dovecot's
//     "[LIMIT] Maximum number of connections") pauses the same way and lowers the
//     connections to fewer than were open when it came (down to 1).
//   - Neither counts against a step's attempts: the server keeps answering. Their pauses
//     add up to the account's throttled time; once that exceeds `budget`, the next one fails
//     the account with kUnavailable naming the cause.
//   - A temporary failure (a disconnect, BYE, "Server Unavailable") counts against the
//     step's attempts and pauses only that connection: not at all the first time, then the
//     backoff. Not throttled time.
//   - After `calm` without a throttle or cap, the account may use one more connection again,
//     one per `calm`, up to its configured maximum.
//   - An OK that asks to slow down (Gmail's "OK Success [THROTTLED]") pauses the connection
//     it came on for `slow_down` and counts as a throttle; it never fails anything.
//
// Time comes from an injected clock and sleeper (tests run without real time).
// Thread-safety: every method may be called from several threads at once; sleeps happen
// without the lock held.
#ifndef MIGRATOR_COMMON_ENGINE_PACING_H_
#define MIGRATOR_COMMON_ENGINE_PACING_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/imap/reply_class.h"

namespace engine {

struct PacingOptions {
  absl::Duration first_backoff = absl::Seconds(1);     // a throttle without a suggested wait
  absl::Duration max_wait = absl::Seconds(300);        // server.throttle_max_wait: one pause
  absl::Duration budget = absl::Seconds(3600);         // server.throttle_budget: all pauses
  absl::Duration calm = absl::Seconds(30);             // without a throttle: one more connection
  absl::Duration slow_down = absl::Milliseconds(100);  // after an OK [THROTTLED]
  double jitter = 0.5;                                 // a backoff d is d * [1 - jitter, 1]
};

// What the report shows per account.
struct PacingCounters {
  uint64_t throttled_ms = 0;  // time the account was paused by throttles and caps
  uint64_t throttles = 0;     // throttles, connection caps and slow-down OKs
  uint64_t reconnects = 0;    // connections opened again after one failed or was refused
  // NO, BAD and BYE replies by class (imap::ReplyClassName with '_' for spaces).
  std::map<std::string, uint64_t> imap_errors;
};

class Pacer {
 public:
  using Clock = std::function<absl::Time()>;
  using Sleeper = std::function<void(absl::Duration)>;
  using Random = std::function<double()>;  // uniform in [0, 1)
  using Cancelled = std::function<bool()>;

  // `max_connections` (at least 1) is where the allowed connections start and the most
  // they rise to. Defaults: absl::Now, absl::SleepFor, a seeded generator.
  Pacer(PacingOptions options, int max_connections, Clock clock = nullptr, Sleeper sleep = nullptr,
        Random random = nullptr);

  enum class Kind { kFinal, kThrottle, kCap, kTemporary };
  // What a failed step's status means here: kFinal for a status that is not retriable.
  static Kind KindOf(const absl::Status& status);

  struct Decision {
    bool retry = false;  // false: give up with `status`
    // The failure counts against the step's attempts (temporary); a throttle or cap does
    // not.
    bool counts_attempt = false;
    // How long this connection pauses before it retries (temporary failures; a throttle's
    // pause is the account's: WaitResumed).
    absl::Duration pause = absl::ZeroDuration();
    absl::Status status;  // !retry: the final status
  };
  // A step (or a login) failed with `status`. `open_connections`: the account's
  // connections open besides the one that failed. `temporary_streak`: how many temporary
  // failures in a row this step has had, this one included.
  Decision OnFailure(const absl::Status& status, int open_connections, int temporary_streak);
  // A step succeeded: the next throttle starts the backoff over.
  void OnSuccess();
  // An OK [THROTTLED]: pauses the caller for slow_down.
  void OnSlowDown();
  // What a session of the account was answered (imap::SessionOptions::on_reply): a
  // slow-down OK pauses (OnSlowDown), any other reply but OK is counted by class.
  void OnReply(const imap::ReplyInfo& info);
  // A connection was opened again after a failure.
  void OnReconnect();

  // Blocks until the account's pause is over, or `cancelled` says so (checked at least
  // every 200 ms of the pause).
  void WaitResumed(const Cancelled& cancelled = nullptr);
  // Sleeps `d` in slices, returning early when `cancelled` says so.
  void Sleep(absl::Duration d, const Cancelled& cancelled = nullptr);

  // Connections the account may use now (1 to max_connections): raised by one after each
  // `calm` without a throttle or cap.
  int allowed_connections();
  PacingCounters counters() const;
  // Called (without the lock) whenever the counters change.
  void SetListener(std::function<void(const PacingCounters&)> listener);

 private:
  absl::Duration Backoff(int n);  // holds mu_
  void Notify();

  const PacingOptions options_;
  const int max_connections_;
  Clock clock_;
  Sleeper sleep_;
  Random random_;

  mutable std::mutex mu_;
  int allowed_;
  int streak_ = 0;  // throttles since the last success that each began a new pause
  absl::Time resume_at_ = absl::InfinitePast();
  absl::Time last_throttle_ = absl::InfinitePast();
  absl::Time last_raise_ = absl::InfinitePast();
  absl::Duration throttled_ = absl::ZeroDuration();
  PacingCounters counters_;
  std::function<void(const PacingCounters&)> listener_;
};

// messages_per_second (README "Budgets"): a token bucket shared by an account's
// connections. It holds up to max(1, rate) tokens (one second's burst) and starts full;
// Acquire takes one, waiting when none is left. Waiters queue: each takes the next token
// (the bucket goes into debt), so N connections share the rate instead of each having it.
// Time comes from an injected clock and sleeper, as the Pacer's.
class TokenBucket {
 public:
  // `rate` > 0 tokens per second. Defaults: absl::Now, absl::SleepFor.
  explicit TokenBucket(double rate, Pacer::Clock clock = nullptr, Pacer::Sleeper sleep = nullptr);
  // Takes one token, sleeping (in slices, returning early when `cancelled` says so) until it
  // is due. Returns how long it waited.
  absl::Duration Acquire(const Pacer::Cancelled& cancelled = nullptr);

 private:
  const double rate_;
  const double capacity_;
  Pacer::Clock clock_;
  Pacer::Sleeper sleep_;
  std::mutex mu_;
  double tokens_;
  absl::Time last_;
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_PACING_H_
