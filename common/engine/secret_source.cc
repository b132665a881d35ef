#include "common/engine/secret_source.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace engine {

SecretSource::SecretSource(Fetcher fetch, absl::Duration max_age, bool refreshable, Clock clock)
    : fetch_(std::move(fetch)),
      max_age_(max_age),
      refreshable_(refreshable),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })) {}

std::unique_ptr<SecretSource> SecretSource::ForAccount(const config::Account& account,
                                                       Clock clock) {
  const bool oauth =
      account.auth == config::AuthKind::kXoauth2 || account.auth == config::AuthKind::kOauthBearer;
  const bool refreshable =
      oauth && (!account.oauth2_token_file.empty() || !account.oauth2_token_command.empty());
  const int max_age_s = account.oauth2_token_max_age > 0 ? account.oauth2_token_max_age
                                                         : config::kDefaultOauth2TokenMaxAge;
  return std::make_unique<SecretSource>(
      [account] { return config::ResolveSecret(account); },
      refreshable ? absl::Seconds(max_age_s) : absl::InfiniteDuration(), refreshable,
      std::move(clock));
}

int SecretSource::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

absl::StatusOr<SecretSource::Secret> SecretSource::CurrentLocked() const {
  if (!usable_) return last_error_;
  return Secret{value_, generation_};
}

bool SecretSource::WaitForFetchLocked(std::unique_lock<std::mutex>& lock) {
  if (!fetching_) return false;
  const uint64_t round = rounds_;
  cv_.wait(lock, [&] { return rounds_ != round; });
  return true;
}

absl::StatusOr<SecretSource::Secret> SecretSource::FetchLocked(std::unique_lock<std::mutex>& lock,
                                                               bool after_rejection) {
  fetching_ = true;
  ++fetches_;
  lock.unlock();
  absl::StatusOr<std::string> fetched = fetch_();
  lock.lock();
  fetching_ = false;
  ++rounds_;
  if (fetched.ok()) {
    value_ = *std::move(fetched);
    ++generation_;
    fetched_at_ = clock_();
    usable_ = true;
    last_error_ = absl::OkStatus();
  } else if (after_rejection) {
    usable_ = false;
    dead_ = true;
    last_error_ = absl::UnauthenticatedError(
        absl::StrCat("the server refused the token and no fresh one could be read: ",
                     fetched.status().message()));
  } else {
    // Without a usable secret the error is returned and the next call fetches again; an
    // aged one is kept (it may still be valid). The message names the account and the
    // file or command, never the secret.
    last_error_ = fetched.status();
    if (usable_) {
      LOG(WARNING) << "refreshing an aged token failed (" << last_error_.message()
                   << "); using the current one until the server refuses it";
    }
  }
  cv_.notify_all();
  return CurrentLocked();
}

absl::StatusOr<SecretSource::Secret> SecretSource::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  // The outcome of a fetch that was running when we came is ours too.
  if (WaitForFetchLocked(lock) || dead_) return CurrentLocked();
  if (usable_ && clock_() - fetched_at_ < max_age_) return CurrentLocked();
  return FetchLocked(lock, /*after_rejection=*/false);
}

absl::StatusOr<SecretSource::Secret> SecretSource::Refresh(uint64_t rejected) {
  if (!refreshable_) return absl::FailedPreconditionError("the secret cannot be refreshed");
  std::unique_lock<std::mutex> lock(mu_);
  const bool waited = WaitForFetchLocked(lock);
  if (dead_) return CurrentLocked();
  // A newer secret than the refused one (another connection refreshed it), or the failure
  // of the fetch we waited for: shared, not fetched again.
  if (usable_ ? generation_ != rejected : waited) return CurrentLocked();
  return FetchLocked(lock, /*after_rejection=*/true);
}

}  // namespace engine
