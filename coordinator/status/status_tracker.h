// The derived figures of the status API: totals done / known, rates over a
// recent window, an ETA. Plain code (no gRPC): the status service turns an
// AggregateStatus into its wire message.
//
//   RateMeter      samples (time, cumulative counters); rates over a window.
//                  Pure, injected time; not thread-safe.
//   Aggregate()    one JobSnapshot + a meter -> AggregateStatus. Pure.
//   StatusTracker  owns a meter fed by a thread that samples the job every
//                  `period` (the app: 1 s) and at once when it finishes,
//                  noting when. Thread-safe.
#ifndef MIGRATOR_COORDINATOR_STATUS_STATUS_TRACKER_H_
#define MIGRATOR_COORDINATOR_STATUS_STATUS_TRACKER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/core/job.h"

namespace coordinator {

// Cumulative counters at one instant.
struct WorkSample {
  absl::Time at;
  double messages = 0, bytes = 0, accounts_done = 0;
};

struct Rates {
  double messages_per_second = 0, bytes_per_second = 0;
  double accounts_per_minute = 0;
  absl::Duration window;  // what the rates were measured over (0: none yet)
};

class RateMeter {
 public:
  explicit RateMeter(absl::Duration window) : window_(window) {}
  // Samples must come in time order; older ones than needed are dropped.
  void Add(const WorkSample& sample);
  // Rates from the newest sample at least `window` older than `current` (or
  // the oldest one kept) to `current`. Negative changes (a restarted account
  // re-counting) count as zero.
  Rates At(const WorkSample& current) const;

 private:
  absl::Duration window_;
  std::deque<WorkSample> samples_;
};

struct AggregateStatus {
  uint64_t messages_done = 0, messages_total = 0, messages_skipped = 0;
  uint64_t messages_refused = 0;  // refused by server B
  uint64_t bytes_done = 0, bytes_total = 0;
  bool totals_known = false;
  Rates rates;
  absl::Duration elapsed;
  absl::Duration eta;     // zero: no estimate
  std::string eta_basis;  // "messages", "accounts" or ""
};

// The cumulative counters of `s` (for RateMeter).
WorkSample SampleOf(const JobSnapshot& s);

// `finished_at`: when the job finished (absl::InfinitePast() when unknown).
AggregateStatus Aggregate(const JobSnapshot& s, const RateMeter& meter, absl::Time finished_at);

class StatusTracker {
 public:
  // `job` must outlive the tracker. Samples every `period` until the job
  // finishes.
  StatusTracker(Job* job, absl::Duration window, absl::Duration period);
  ~StatusTracker();
  StatusTracker(const StatusTracker&) = delete;
  StatusTracker& operator=(const StatusTracker&) = delete;

  AggregateStatus Aggregate(const JobSnapshot& s) const;

 private:
  void Loop();

  Job* const job_;
  const absl::Duration period_;
  mutable absl::Mutex mu_;
  RateMeter meter_ ABSL_GUARDED_BY(mu_);
  absl::Time finished_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_STATUS_STATUS_TRACKER_H_
