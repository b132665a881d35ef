#include "common/engine/pacing.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/imap/reply_class.h"
#include "common/status/status_macros.h"

namespace engine {
namespace {

std::string Seconds(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d), " s"); }

// Sleeps until `until` in slices of at most 200 ms, returning early when `cancelled` says so.
void SleepUntil(const Pacer::Clock& clock, const Pacer::Sleeper& sleep, absl::Time until,
                const Pacer::Cancelled& cancelled) {
  for (;;) {
    if (cancelled && cancelled()) return;
    const absl::Duration left = until - clock();
    if (left <= absl::ZeroDuration()) return;
    sleep(std::min(left, absl::Milliseconds(200)));
  }
}

}  // namespace

Pacer::Pacer(PacingOptions options, int max_connections, Clock clock, Sleeper sleep, Random random)
    : options_(options),
      max_connections_(std::max(1, max_connections)),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })),
      sleep_(sleep ? std::move(sleep) : Sleeper([](absl::Duration d) { absl::SleepFor(d); })),
      allowed_(max_connections_) {
  if (random) {
    random_ = std::move(random);
  } else {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    auto mu = std::make_shared<std::mutex>();
    random_ = [gen, mu] {
      std::lock_guard<std::mutex> lock(*mu);
      return std::uniform_real_distribution<double>(0, 1)(*gen);
    };
  }
}

Pacer::Kind Pacer::KindOf(const absl::Status& status) {
  if (!status::IsRetriable(status)) return Kind::kFinal;
  auto info = imap::ReplyOf(status);
  if (info && info->cls == imap::ReplyClass::kThrottle) return Kind::kThrottle;
  if (info && info->cls == imap::ReplyClass::kConnectionCap) return Kind::kCap;
  return Kind::kTemporary;
}

absl::Duration Pacer::Backoff(int n) {
  absl::Duration d = options_.first_backoff;
  for (int i = 1; i < n && d < options_.max_wait; ++i) d *= 2;
  d = std::min(d, options_.max_wait);
  const double j = std::clamp(options_.jitter, 0.0, 1.0);
  return d * (1.0 - j * std::clamp(random_(), 0.0, 1.0));
}

Pacer::Decision Pacer::OnFailure(const absl::Status& status, int open_connections,
                                 int temporary_streak) {
  Decision out;
  const Kind kind = KindOf(status);
  if (kind == Kind::kFinal) {
    out.status = status;
    return out;
  }
  if (kind == Kind::kTemporary) {
    out.retry = true;
    out.counts_attempt = true;
    if (temporary_streak > 1) {
      std::lock_guard<std::mutex> lock(mu_);
      out.pause = Backoff(temporary_streak - 1);
    }
    return out;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_();
    const bool paused = now < resume_at_;  // sent before the pause began: no escalation
    auto info = imap::ReplyOf(status);
    const absl::Duration suggested = info ? info->suggested_wait : absl::ZeroDuration();
    absl::Duration wait;
    if (suggested > absl::ZeroDuration()) {
      wait = std::min(suggested, options_.max_wait);
    } else if (!paused) {
      wait = Backoff(++streak_);
    } else {
      wait = absl::ZeroDuration();  // already pausing
    }
    const absl::Time until = std::max(resume_at_, now + wait);
    const absl::Duration added = until - std::max(resume_at_, now);
    if (throttled_ + added > options_.budget) {
      out.status = absl::UnavailableError(absl::StrCat(
          "the server throttled the account for ", Seconds(throttled_), " in all and asks for ",
          Seconds(wait), " more, over the throttle budget of ", Seconds(options_.budget),
          " (server.throttle_budget); last: ", status.message()));
      out.status = imap::WithReply(out.status, info.value_or(imap::ReplyInfo()));
      return out;
    }
    throttled_ += added;
    resume_at_ = until;
    last_throttle_ = now;
    counters_.throttles += 1;
    counters_.throttled_ms = absl::ToInt64Milliseconds(throttled_);
    if (kind == Kind::kCap) {
      allowed_ = std::max(1, std::min(allowed_ - 1, open_connections));
    } else if (!paused) {
      allowed_ = std::max(1, allowed_ / 2);
    }
  }
  Notify();
  out.retry = true;
  return out;
}

void Pacer::OnSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  streak_ = 0;
}

void Pacer::OnSlowDown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.throttles += 1;
    throttled_ += options_.slow_down;
    counters_.throttled_ms = absl::ToInt64Milliseconds(throttled_);
  }
  Notify();
  sleep_(options_.slow_down);
}

void Pacer::OnReply(const imap::ReplyInfo& info) {
  if (info.slow_down) {
    OnSlowDown();
    return;
  }
  if (info.cls == imap::ReplyClass::kOk) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.imap_errors[absl::StrReplaceAll(imap::ReplyClassName(info.cls), {{" ", "_"}})] += 1;
  }
  Notify();
}

void Pacer::OnReconnect() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.reconnects += 1;
  }
  Notify();
}

void Pacer::Sleep(absl::Duration d, const Cancelled& cancelled) {
  SleepUntil(clock_, sleep_, clock_() + d, cancelled);
}

void Pacer::WaitResumed(const Cancelled& cancelled) {
  for (;;) {
    if (cancelled && cancelled()) return;
    absl::Duration left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      left = resume_at_ - clock_();
    }
    if (left <= absl::ZeroDuration()) return;
    sleep_(std::min(left, absl::Milliseconds(200)));
  }
}

int Pacer::allowed_connections() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_();
  if (allowed_ < max_connections_ && now - last_throttle_ >= options_.calm &&
      now - last_raise_ >= options_.calm && now >= resume_at_) {
    allowed_ += 1;
    last_raise_ = now;
  }
  return allowed_;
}

PacingCounters Pacer::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

void Pacer::SetListener(std::function<void(const PacingCounters&)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

void Pacer::Notify() {
  std::function<void(const PacingCounters&)> listener;
  PacingCounters c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_;
    c = counters_;
  }
  if (listener) listener(c);
}

TokenBucket::TokenBucket(double rate, Pacer::Clock clock, Pacer::Sleeper sleep)
    : rate_(rate > 0 ? rate : 1),
      capacity_(std::max(1.0, rate_)),
      clock_(clock ? std::move(clock) : Pacer::Clock([] { return absl::Now(); })),
      sleep_(sleep ? std::move(sleep)
                   : Pacer::Sleeper([](absl::Duration d) { absl::SleepFor(d); })),
      tokens_(capacity_),
      last_(clock_()) {}

absl::Duration TokenBucket::Acquire(const Pacer::Cancelled& cancelled) {
  absl::Time until;
  absl::Duration wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_();
    if (now > last_) {
      tokens_ = std::min(capacity_, tokens_ + rate_ * absl::ToDoubleSeconds(now - last_));
      last_ = now;
    }
    tokens_ -= 1;
    if (tokens_ >= 0) return absl::ZeroDuration();
    wait = absl::Seconds(-tokens_ / rate_);
    until = now + wait;
  }
  SleepUntil(clock_, sleep_, until, cancelled);
  return wait;
}

}  // namespace engine
