// A worker's store requests in flight together. Store calls block for a round trip each (a
// PUT, a GET); the engine hands the ones that need not be waited for at once (committing an
// exported message, its .json, reading the next messages ahead of an APPEND, the .json of a
// folder) to a RequestPool, whose threads run up to `concurrency` of them at the same time,
// so their round trips overlap. One pool per process (Shared()), so the bound is per worker
// whatever the number of accounts and folders it runs.
//
// Memory: work queued in the pool may hold message bytes (an exported message waiting for
// its PUT, a body read ahead); callers account for them with AcquireBytes/ReleaseBytes,
// bounded by `max_bytes` per process, so a fast source cannot queue more than that.
//
// Thread-safety: every method may be called from any thread. A task must not wait for
// other tasks of the pool (TaskGroup::Wait from inside a task could wait forever).
#ifndef MIGRATOR_COMMON_STORAGE_REQUEST_POOL_H_
#define MIGRATOR_COMMON_STORAGE_REQUEST_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace storage {

class RequestPool {
 public:
  // Store requests a worker has in flight at once by default (--store-concurrency).
  static constexpr int kDefaultConcurrency = 16;
  static constexpr int kMaxConcurrency = 256;
  // Message bytes queued work may hold per process (exported messages awaiting their PUT,
  // bodies read ahead). One message larger than this is let through alone.
  static constexpr uint64_t kDefaultMaxBytes = 24ull << 20;

  RequestPool(int concurrency, uint64_t max_bytes);
  ~RequestPool();  // runs what is queued, then joins the threads
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;

  // The process's pool (never destroyed), kDefaultConcurrency until set.
  static RequestPool& Shared();

  // At most `n` (1..kMaxConcurrency, clamped) tasks run at once from now on.
  void SetConcurrency(int n);
  int concurrency() const;

  // Queues `fn`, run by a pool thread in submission order. Never blocks.
  void Submit(std::function<void()> fn);

  // Waits until `bytes` more fit under max_bytes (or nothing is held), then holds them.
  void AcquireBytes(uint64_t bytes);
  // Holds `bytes` when they fit now; false (nothing held) otherwise.
  bool TryAcquireBytes(uint64_t bytes);
  void ReleaseBytes(uint64_t bytes);
  uint64_t held_bytes() const;

 private:
  void Loop();

  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  int limit_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t held_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// Tasks run on a pool whose outcome the caller waits for: Run() queues one, Wait() waits for
// all of them and returns the first error. The destructor waits too.
class TaskGroup {
 public:
  explicit TaskGroup(RequestPool& pool) : pool_(pool) {}
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  void Run(std::function<absl::Status()> fn);
  absl::Status Wait();

 private:
  struct State {
    absl::Mutex mu;
    int pending ABSL_GUARDED_BY(mu) = 0;
    absl::Status first ABSL_GUARDED_BY(mu);
  };
  RequestPool& pool_;
  // Shared with the tasks: the last one may still unlock it after Wait() returned.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_REQUEST_POOL_H_
