#include "coordinator/status/status_tracker.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace coordinator {

// ---------------------------------------------------------------- RateMeter

void RateMeter::Add(const WorkSample& sample) {
  samples_.push_back(sample);
  // Keep one sample at or beyond the window's start, drop the older ones.
  while (samples_.size() > 2 && samples_[1].at <= sample.at - window_) {
    samples_.pop_front();
  }
}

Rates RateMeter::At(const WorkSample& current) const {
  Rates r;
  if (samples_.empty()) return r;
  const WorkSample* base = &samples_.front();
  for (const WorkSample& s : samples_) {
    if (s.at > current.at - window_) break;
    base = &s;
  }
  absl::Duration span = current.at - base->at;
  if (span <= absl::ZeroDuration()) return r;
  double secs = absl::ToDoubleSeconds(span);
  auto per_second = [secs](double now, double then) {
    return now > then ? (now - then) / secs : 0.0;
  };
  r.messages_per_second = per_second(current.messages, base->messages);
  r.bytes_per_second = per_second(current.bytes, base->bytes);
  r.accounts_per_minute = 60.0 * per_second(current.accounts_done, base->accounts_done);
  r.window = span;
  return r;
}

// ---------------------------------------------------------------- Aggregate

WorkSample SampleOf(const JobSnapshot& s) {
  WorkSample w;
  w.at = s.now;
  const JobTotals t = s.Totals();
  w.messages = static_cast<double>(t.messages);
  w.bytes = static_cast<double>(t.bytes);
  for (TaskState done : {TaskState::kSucceeded, TaskState::kFailed, TaskState::kCancelled}) {
    w.accounts_done += static_cast<double>(t.by_state[static_cast<int>(done)]);
  }
  return w;
}

namespace {

// Done / total over the accounts (JobTotals).
void SumTotals(const JobSnapshot& s, AggregateStatus* out) {
  const JobTotals t = s.Totals();
  out->messages_done = t.messages;
  out->bytes_done = t.bytes;
  out->messages_skipped = t.skipped;
  out->messages_refused = t.refused;
  out->messages_total = t.messages_total;
  out->bytes_total = t.bytes_total;
  out->totals_known = t.totals_known;
}

void Estimate(const JobSnapshot& s, AggregateStatus* out) {
  if (s.finished) return;
  const Rates& r = out->rates;
  uint64_t left = out->messages_total - out->messages_done;
  if (out->totals_known && left > 0 && r.messages_per_second > 0) {
    out->eta = absl::Seconds(static_cast<double>(left) / r.messages_per_second);
    out->eta_basis = "messages";
    return;
  }
  size_t accounts_left = s.Count(TaskState::kPending) + s.Count(TaskState::kRunning);
  if (accounts_left > 0 && r.accounts_per_minute > 0) {
    out->eta = absl::Seconds(60.0 * static_cast<double>(accounts_left) / r.accounts_per_minute);
    out->eta_basis = "accounts";
  }
}

}  // namespace

AggregateStatus Aggregate(const JobSnapshot& s, const RateMeter& meter, absl::Time finished_at) {
  AggregateStatus out;
  SumTotals(s, &out);
  out.rates = meter.At(SampleOf(s));
  absl::Time end =
      s.finished && finished_at != absl::InfinitePast() ? std::min(finished_at, s.now) : s.now;
  out.elapsed = end - s.started;
  Estimate(s, &out);
  return out;
}

// ---------------------------------------------------------------- StatusTracker

StatusTracker::StatusTracker(Job* job, absl::Duration window, absl::Duration period)
    : job_(job), period_(period), meter_(window) {
  JobSnapshot s = job_->Snapshot(SnapshotDetail::kSummary);
  WorkSample start;
  start.at = s.started;
  meter_.Add(start);
  thread_ = std::thread([this] { Loop(); });
}

StatusTracker::~StatusTracker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void StatusTracker::Loop() {
  absl::Time next = absl::Now();
  for (;;) {
    // Wake at the next sampling time, or at once when the job finishes (so
    // the finish time is exact); check for stop at least every 100 ms.
    while (absl::Now() < next && !job_->finished()) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
      }
      job_->WaitFinished(std::min(next - absl::Now(), absl::Milliseconds(100)));
    }
    JobSnapshot s = job_->Snapshot(SnapshotDetail::kSummary);
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    meter_.Add(SampleOf(s));
    if (s.finished) {
      finished_at_ = s.now;
      return;  // nothing changes any more
    }
    next = s.now + period_;
  }
}

AggregateStatus StatusTracker::Aggregate(const JobSnapshot& s) const {
  absl::MutexLock lock(&mu_);
  return coordinator::Aggregate(s, meter_, finished_at_);
}

}  // namespace coordinator
