// The job's Prometheus metrics, kept in a prometheus-cpp Registry and brought up to date
// from a JobSnapshot and the StatusTracker's figures at each scrape (Update, then Text):
// the numbers are the status API's, read when Prometheus asks, so nothing in the job has to
// report to this class. No HTTP here (http_frontend.h serves Text() on /metrics).
//
// Names follow Prometheus conventions: a `migrator_` prefix, counters end in `_total`, base
// units (seconds, bytes), no label per account (cardinality): accounts by state, messages
// and bytes by mode. Counters only move forward: a retried account that counts its work
// again from zero does not lower them (they stay at the highest figure seen), so
// Prometheus never mistakes that for a restart of the process. The full list is in README
// "Metrics and the status page".
//
// Thread-safe.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_HTTP_JOB_METRICS_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_HTTP_JOB_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace coordinator {

class JobMetrics {
 public:
  JobMetrics();
  JobMetrics(const JobMetrics&) = delete;
  JobMetrics& operator=(const JobMetrics&) = delete;

  // Brings every metric up to `s` and `g` (the same pair the status API converts).
  void Update(const JobSnapshot& s, const AggregateStatus& g);
  // Every metric in the Prometheus text exposition format (version 0.0.4).
  std::string Text() const;

  // Account durations are observed into these buckets (seconds).
  static const std::vector<double>& DurationBuckets();

 private:
  // Raises `counter` to `value` (never lowers it).
  static void RaiseTo(prometheus::Counter& counter, double value);
  void SetMode(const std::string& job_id, const std::string& mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<prometheus::Registry> registry_;  // its own locking; families live in it
  prometheus::Family<prometheus::Gauge>& accounts_;
  prometheus::Family<prometheus::Counter>& messages_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Counter& throttled_seconds_;
  prometheus::Counter& throttles_;
  prometheus::Counter& reconnects_;
  prometheus::Family<prometheus::Counter>& imap_errors_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& info_;
  prometheus::Gauge& messages_expected_;
  prometheus::Gauge& bytes_expected_;
  prometheus::Gauge& totals_known_;
  prometheus::Counter& retries_;
  prometheus::Counter& leases_expired_;
  prometheus::Family<prometheus::Counter>& stale_;
  prometheus::Counter& stale_results_;
  prometheus::Counter& stale_progress_;
  prometheus::Gauge& workers_connected_;
  prometheus::Gauge& workers_known_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& parked_;
  prometheus::Gauge& elapsed_;
  prometheus::Gauge& finished_;
  prometheus::Gauge& stopping_;
  prometheus::Family<prometheus::Gauge>& eta_family_;
  prometheus::Gauge* eta_ ABSL_GUARDED_BY(mu_) = nullptr;  // only while there is an estimate
  // Set by the first Update (a job has one mode).
  std::string mode_ ABSL_GUARDED_BY(mu_);
  prometheus::Counter* messages_mode_ ABSL_GUARDED_BY(mu_) = nullptr;
  prometheus::Counter* bytes_mode_ ABSL_GUARDED_BY(mu_) = nullptr;
  prometheus::Counter* skipped_mode_ ABSL_GUARDED_BY(mu_) = nullptr;
  prometheus::Counter* refused_mode_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Per account index: the epoch whose final state was observed into the histogram.
  std::vector<uint64_t> observed_epoch_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_HTTP_JOB_METRICS_H_
