// The secret an account logs in with, shared by the connections of one account run: a
// password (read once), or an OAuth2 access token read from oauth2_token_file or printed by
// oauth2_token_command, read again
//   - when a connection opens and the token is older than its max age
//     (oauth2_token_max_age; the fetch time is when it was read), and
//   - when the server refused it: the login is then retried once with the fresh token
//     (connect.h does that).
// Access tokens typically live an hour, so an account that runs for hours keeps logging in.
//
// The secret is never logged or put into a status; fetch errors name the account and the
// file or command (config::ResolveSecret), never the content.
//
// Thread-safety: every method may be called from several threads at once (the
// connections of an account open in parallel). One fetch runs at a time, without the lock
// held; callers that arrive during a fetch wait for it and share its outcome, so
// concurrent callers fetch once.
#ifndef MIGRATOR_COMMON_ENGINE_SECRET_SOURCE_H_
#define MIGRATOR_COMMON_ENGINE_SECRET_SOURCE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/config.h"

namespace engine {

class SecretSource {
 public:
  using Fetcher = std::function<absl::StatusOr<std::string>()>;
  using Clock = std::function<absl::Time()>;

  struct Secret {
    std::string value;        // the password or token: never log it
    uint64_t generation = 0;  // which fetch it came from (1, 2, ...): name it to Refresh
  };

  // `fetch` reads the secret (it may block, e.g. running a command). A fetched secret is
  // reused until it is `max_age` old (InfiniteDuration: forever). `refreshable`: fetching
  // again may give a different secret (a token file or command), so a refused login is
  // worth one retry. `clock` defaults to absl::Now.
  SecretSource(Fetcher fetch, absl::Duration max_age, bool refreshable, Clock clock = nullptr);

  // The source of `account`'s secret (config::ResolveSecret): refreshable with the
  // account's oauth2_token_max_age for a token from a file or a command;
  // a password or an inline token is read once and never refreshed.
  static std::unique_ptr<SecretSource> ForAccount(const config::Account& account,
                                                  Clock clock = nullptr);

  // The secret to log in with: the cached one while younger than the max age, else a
  // fresh fetch. When fetching an aged secret fails, the aged one is returned (it may
  // still be valid; a warning is logged) and the next call tries again; with nothing to
  // fall back on, the fetch's error.
  absl::StatusOr<Secret> Get();

  // The server refused the secret of generation `rejected`: a fresh one, fetched unless
  // a newer generation than `rejected` is already there (another connection refreshed
  // it). When that fetch fails the account has no secret left: kUnauthenticated with the
  // fetch's message, returned from then on by Get and Refresh alike (no further fetch),
  // so every connection of the account fails the same final way.
  // kFailedPrecondition when the source is not refreshable.
  absl::StatusOr<Secret> Refresh(uint64_t rejected);

  bool refreshable() const { return refreshable_; }
  // Fetches started so far (for tests and counters).
  int fetches() const;

 private:
  // Runs one fetch with the lock released; waiters are woken when it is done.
  absl::StatusOr<Secret> FetchLocked(std::unique_lock<std::mutex>& lock, bool after_rejection);
  // The usable secret, else the last fetch's error. Holds mu_.
  absl::StatusOr<Secret> CurrentLocked() const;
  // Waits for the fetch in progress, if any; true when it waited. Holds mu_.
  bool WaitForFetchLocked(std::unique_lock<std::mutex>& lock);

  const Fetcher fetch_;
  const absl::Duration max_age_;
  const bool refreshable_;
  const Clock clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool fetching_ = false;
  uint64_t rounds_ = 0;  // fetches finished
  int fetches_ = 0;      // fetches started
  bool usable_ = false;  // value_ may be logged in with
  bool dead_ = false;    // a refresh after a refusal failed: last_error_ is final
  std::string value_;
  uint64_t generation_ = 0;
  absl::Time fetched_at_ = absl::InfinitePast();
  absl::Status last_error_ = absl::FailedPreconditionError("no secret fetched yet");
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_SECRET_SOURCE_H_
