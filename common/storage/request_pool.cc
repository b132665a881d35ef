// RequestPool and TaskGroup (see request_pool.h).
#include "common/storage/request_pool.h"

#include <algorithm>
#include <utility>

namespace storage {

RequestPool::RequestPool(int concurrency, uint64_t max_bytes)
    : max_bytes_(max_bytes), limit_(std::clamp(concurrency, 1, kMaxConcurrency)) {}

RequestPool::~RequestPool() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

RequestPool& RequestPool::Shared() {
  static RequestPool* pool = new RequestPool(kDefaultConcurrency, kDefaultMaxBytes);
  return *pool;
}

void RequestPool::SetConcurrency(int n) {
  absl::MutexLock lock(&mu_);
  limit_ = std::clamp(n, 1, kMaxConcurrency);
}

int RequestPool::concurrency() const {
  absl::MutexLock lock(&mu_);
  return limit_;
}

void RequestPool::Submit(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(fn));
  // Threads start on demand, up to the limit (a lowered limit leaves idle threads waiting).
  if (static_cast<int>(threads_.size()) < limit_ &&
      static_cast<int>(queue_.size()) > static_cast<int>(threads_.size()) - running_) {
    threads_.emplace_back([this] { Loop(); });
  }
}

void RequestPool::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return (!queue_.empty() && running_ < limit_) || (stopping_ && queue_.empty());
    };
    mu_.Await(absl::Condition(&ready));
    if (queue_.empty()) return;  // stopping
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    mu_.Unlock();
    fn();
    fn = nullptr;  // what it captured goes before the next task
    mu_.Lock();
    --running_;
  }
}

void RequestPool::AcquireBytes(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto fits = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return held_ == 0 || held_ + bytes <= max_bytes_;
  };
  mu_.Await(absl::Condition(&fits));
  held_ += bytes;
}

bool RequestPool::TryAcquireBytes(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (held_ != 0 && held_ + bytes > max_bytes_) return false;
  held_ += bytes;
  return true;
}

void RequestPool::ReleaseBytes(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  held_ -= std::min(held_, bytes);
}

uint64_t RequestPool::held_bytes() const {
  absl::MutexLock lock(&mu_);
  return held_;
}

TaskGroup::~TaskGroup() { Wait().IgnoreError(); }

void TaskGroup::Run(std::function<absl::Status()> fn) {
  {
    absl::MutexLock lock(&state_->mu);
    ++state_->pending;
  }
  pool_.Submit([state = state_, fn = std::move(fn)] {
    absl::Status st = fn();
    absl::MutexLock lock(&state->mu);
    if (state->first.ok()) state->first = std::move(st);
    --state->pending;
  });
}

absl::Status TaskGroup::Wait() {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  auto done = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) { return s.pending == 0; };
  s.mu.Await(absl::Condition(&done));
  return s.first;
}

}  // namespace storage
