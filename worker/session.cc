#include "worker/session.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"

namespace worker {

WorkerSession::WorkerSession(SessionOptions options, SessionOutput* output)
    : max_parallel_(options.max_parallel),
      output_(output),
      runner_(std::make_unique<TaskRunner>(std::move(options.runner),
                                           static_cast<TaskReporter*>(this))) {}

WorkerSession::~WorkerSession() { runner_.reset(); }

void WorkerSession::Start(absl::Duration heartbeat_interval, absl::Duration lease, absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    if (heartbeat_interval > absl::ZeroDuration()) heartbeat_interval_ = heartbeat_interval;
    lease_ = lease;
    acked_sent_at_ = now;
    next_heartbeat_ = now + heartbeat_interval_;
  }
  for (int i = 0; i < max_parallel_; ++i) output_->RequestTask();
}

void WorkerSession::OnTask(TaskSpec spec, const absl::Status& valid) {
  std::string stopping;
  {
    absl::MutexLock lock(&mu_);
    ++active_;
    stopping = stopping_;
  }
  if (!stopping.empty()) {
    engine::AccountResult refused;
    refused.status = absl::CancelledError("the worker is stopping (" + stopping + ")");
    OnTaskDone(spec, refused, absl::ZeroDuration());
    return;
  }
  LOG(INFO) << "task " << spec.task_id << ": account " << spec.task.account.email << " ("
            << engine::ModeName(spec.task.mode) << ", attempt " << spec.attempt << ")";
  absl::Status st = valid.ok() ? runner_->Start(spec) : valid;
  if (!st.ok()) {
    engine::AccountResult failed;
    failed.status = st;
    OnTaskDone(spec, failed, absl::ZeroDuration());
  }
}

void WorkerSession::OnCancel(const fleetproto::CancelRequest& cancel) {
  LOG(INFO) << "task " << cancel.task_id << ": cancel (" << cancel.reason << ")";
  runner_->Cancel(cancel.task_id, cancel.epoch);
}

void WorkerSession::OnNoMoreTasks() { NoMoreWork(false, "no more tasks"); }

void WorkerSession::OnShutdown(const std::string& reason) { NoMoreWork(true, reason); }

void WorkerSession::OnStop(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_.empty()) return;
    stopping_ = reason;
  }
  NoMoreWork(true, "stopping at a clean point: " + reason);
}

void WorkerSession::NoMoreWork(bool shutdown, const std::string& reason) {
  bool close;
  {
    absl::MutexLock lock(&mu_);
    if (no_more_ && !shutdown) return;  // repeated "no more tasks"
    no_more_ = true;
    close = active_ == 0;
  }
  LOG(INFO) << (shutdown ? "shutdown: " : "") << reason
            << (close ? "; closing" : "; finishing running task(s)");
  if (shutdown) runner_->CancelAll();
  if (close) CloseWritesOnce();
}

void WorkerSession::OnStreamBroken() {
  LOG(WARNING) << "stream to the coordinator broke; cancelling " << runner_->running()
               << " running task(s) (the coordinator reassigns them)";
  runner_->CancelAll();
}

void WorkerSession::CloseWritesOnce() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
  }
  output_->CloseWrites();
}

void WorkerSession::OnTaskProgress(const TaskSpec& spec, const engine::Progress& progress) {
  output_->Progress(spec, progress);
}

void WorkerSession::OnTaskDone(const TaskSpec& spec, const engine::AccountResult& result,
                               absl::Duration elapsed) {
  LOG(INFO) << "task " << spec.task_id << ": account " << spec.task.account.email << ": "
            << (result.status.ok() ? std::string("ok") : result.status.ToString()) << ", "
            << result.messages << " message(s), " << result.bytes << " byte(s) in "
            << absl::FormatDuration(elapsed);
  output_->Result(spec, result, elapsed);
  bool close = false;
  bool request = false;
  {
    absl::MutexLock lock(&mu_);
    --active_;
    if (no_more_) {
      close = active_ == 0;
    } else {
      request = true;
    }
  }
  if (close) CloseWritesOnce();
  if (request) output_->RequestTask();
}

absl::Time WorkerSession::NextHeartbeat() const {
  absl::MutexLock lock(&mu_);
  return next_heartbeat_;
}

absl::Duration WorkerSession::heartbeat_interval() const {
  absl::MutexLock lock(&mu_);
  return heartbeat_interval_;
}

bool WorkerSession::fenced() const {
  absl::MutexLock lock(&mu_);
  return fenced_;
}

void WorkerSession::Tick(absl::Time now) {
  uint64_t seq;
  {
    absl::MutexLock lock(&mu_);
    if (now < next_heartbeat_) return;
    next_heartbeat_ = now + heartbeat_interval_;
    seq = ++heartbeat_seq_;
    heartbeat_sent_[seq] = now;
    while (heartbeat_sent_.size() > 64) heartbeat_sent_.erase(heartbeat_sent_.begin());
  }
  output_->Heartbeat(seq, runner_->RunningLeases());
  FenceIfLeaseLost(now);
}

void WorkerSession::OnHeartbeatAck(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  auto it = heartbeat_sent_.find(seq);
  if (it == heartbeat_sent_.end()) return;
  acked_sent_at_ = std::max(acked_sent_at_, it->second);
  heartbeat_sent_.erase(heartbeat_sent_.begin(), ++it);
  fenced_ = false;
}

// Stops every task once the lease cannot have been renewed: no ack for a
// heartbeat sent within lease - 2 intervals. The coordinator expires leases
// one lease after it last heard from us, so we stop first.
void WorkerSession::FenceIfLeaseLost(absl::Time now) {
  absl::Duration silent;
  {
    absl::MutexLock lock(&mu_);
    if (lease_ <= absl::ZeroDuration() || fenced_) return;
    silent = now - acked_sent_at_;
    if (silent < lease_ - 2 * heartbeat_interval_) return;
    if (runner_->running() == 0) return;
    fenced_ = true;
  }
  LOG(WARNING) << "lease lost: no heartbeat acknowledged for "
               << absl::FormatDuration(absl::Trunc(silent, absl::Milliseconds(1))) << "; stopping "
               << runner_->running()
               << " task(s) at a clean point (the coordinator reassigns them)";
  runner_->CancelAll();
}

}  // namespace worker
