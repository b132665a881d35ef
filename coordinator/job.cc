#include "coordinator/job.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace coordinator {

size_t JobSnapshot::Count(TaskState s) const {
  size_t n = 0;
  for (const AccountView& a : accounts) n += a.task.state == s ? 1 : 0;
  return n;
}

uint64_t JobSnapshot::TotalMessages() const {
  uint64_t n = 0;
  for (const AccountView& a : accounts) n += a.messages;
  return n;
}

uint64_t JobSnapshot::TotalBytes() const {
  uint64_t n = 0;
  for (const AccountView& a : accounts) n += a.bytes;
  return n;
}

size_t JobSnapshot::ConnectedWorkers() const {
  size_t n = 0;
  for (const WorkerView& w : workers) n += w.connected ? 1 : 0;
  return n;
}

namespace {

std::vector<std::string> Emails(const config::Config& c) {
  std::vector<std::string> out;
  for (const config::Account& a : c.accounts) out.push_back(a.email);
  return out;
}

}  // namespace

Job::Job(JobOptions options)
    : options_(std::move(options)),
      started_(absl::Now()),
      scheduler_(Emails(options_.config),
                 SchedulerOptions{options_.fail_fast, options_.max_attempts}),
      accounts_(options_.config.accounts.size()) {}

absl::Status Job::Connect(const WorkerHello& hello, WorkerLink* link) {
  if (hello.worker_id.empty())
    return absl::InvalidArgumentError("empty worker id");
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[hello.worker_id];
  if (w.link != nullptr || w.dead) {
    return absl::AlreadyExistsError(
        absl::StrCat("worker id '", hello.worker_id, "' is taken in this job"));
  }
  bool local = w.view.local;
  w.view.hello = hello;
  w.view.local = local;
  w.view.connected = true;
  w.view.connected_at = w.view.last_seen = absl::Now();
  w.link = link;
  w.parked_requests = 0;
  LOG(INFO) << "worker " << hello.worker_id << " connected (host " << hello.host
            << ", pid " << hello.pid << ", " << hello.max_parallel
            << " slot(s))";
  AfterChangeLocked();
  return absl::OkStatus();
}

void Job::Disconnect(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.link == nullptr) return;
  WorkerState& w = it->second;
  w.link = nullptr;
  w.view.connected = false;
  w.parked_requests = 0;
  LOG(INFO) << "worker " << worker_id << " disconnected";
  LoseWorkerLocked(worker_id, absl::StrCat("worker died (", worker_id,
                                           ": connection lost)"));
  CheckLivenessLocked();
  DispatchLocked();
  AfterChangeLocked();
}

void Job::RequestTask(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.link == nullptr) return;
  ++it->second.parked_requests;
  it->second.view.last_seen = absl::Now();
  DispatchLocked();
  AfterChangeLocked();
}

void Job::Heartbeat(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.view.last_seen = absl::Now();
}

void Job::Progress(const std::string& worker_id, uint64_t task_id,
                   uint64_t epoch, const engine::Progress& progress) {
  absl::MutexLock lock(&mu_);
  const TaskInfo* t = scheduler_.Find(task_id);
  if (!scheduler_.IsCurrent(task_id, epoch) || t->worker_id != worker_id)
    return;
  AccountState& a = accounts_[t->account_index];
  if (!progress.folder.empty() && progress.folder != a.progress.folder) {
    LOG(INFO) << "account " << t->email << ": folder " << progress.folder
              << " (" << progress.folders_done << "/" << progress.folders_total
              << ")";
  }
  a.progress = progress;
  auto w = workers_.find(worker_id);
  if (w != workers_.end()) w->second.view.last_seen = absl::Now();
  TouchLocked(task_id);
  AfterChangeLocked();
}

void Job::Result(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
                 const engine::AccountResult& result,
                 absl::Duration /*worker_elapsed*/) {
  absl::MutexLock lock(&mu_);
  const TaskInfo* t = scheduler_.Find(task_id);
  if (!scheduler_.IsCurrent(task_id, epoch) || t->worker_id != worker_id) {
    LOG(WARNING) << "ignoring a stale result for task " << task_id << " epoch "
                 << epoch << " from worker " << worker_id;
    return;
  }
  bool was_stopping = scheduler_.stopping();
  std::vector<CancelOrder> cancels;
  scheduler_.Complete(task_id, epoch, result.status, &cancels);
  AccountState& a = accounts_[t->account_index];
  a.result = result;
  a.elapsed = absl::Now() - a.started;
  LogResultLocked(*t, result, a.elapsed);
  if (!was_stopping && scheduler_.stopping()) {
    LOG(ERROR) << scheduler_.stop_reason() << "; cancelling " << cancels.size()
               << " running account(s)";
  }
  SendCancelsLocked(cancels);
  TouchLocked(task_id);
  DispatchLocked();
  AfterChangeLocked();
}

void Job::LocalWorkerStarted(const std::string& worker_id, int pid) {
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[worker_id];
  w.view.local = true;
  w.view.hello.worker_id = worker_id;
  w.view.hello.pid = pid;
  ++local_alive_;
  ++local_started_;
  AfterChangeLocked();
}

void Job::LocalWorkerExited(const std::string& worker_id,
                            const std::string& how) {
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[worker_id];
  if (w.dead) return;
  w.dead = true;
  w.parked_requests = 0;
  --local_alive_;
  if (scheduler_.finished()) {
    LOG(INFO) << "worker " << worker_id << " " << how;
  } else {
    LOG(WARNING) << "worker " << worker_id << " " << how
                 << " while the job runs";
  }
  LoseWorkerLocked(worker_id,
                   absl::StrCat("worker died (", worker_id, " ", how, ")"));
  CheckLivenessLocked();
  DispatchLocked();
  AfterChangeLocked();
}

void Job::Stop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (scheduler_.stopping()) return;
  std::vector<CancelOrder> cancels;
  scheduler_.Stop(reason, &cancels);
  LOG(WARNING) << "stopping: " << reason << "; cancelling " << cancels.size()
               << " running account(s)";
  SendCancelsLocked(cancels);
  DispatchLocked();
  AfterChangeLocked();
}

void Job::ForceStop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  std::vector<CancelOrder> cancels;
  for (const TaskInfo& t : scheduler_.tasks()) {
    if (t.state == TaskState::kRunning) {
      cancels.push_back(CancelOrder{t.worker_id, t.task_id, t.epoch, reason});
    }
  }
  SendCancelsLocked(cancels);
  scheduler_.FailRemaining(reason);
  LOG(ERROR) << "forced stop: " << reason;
  DispatchLocked();
  AfterChangeLocked();
}

void Job::ShutdownWorkers(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, w] : workers_) {
    if (w.link != nullptr) w.link->SendShutdown(reason);
  }
}

void Job::LoseWorkerLocked(const std::string& worker_id,
                           const std::string& why) {
  std::vector<CancelOrder> cancels;
  bool was_stopping = scheduler_.stopping();
  for (uint64_t id : scheduler_.WorkerLost(worker_id, why, &cancels)) {
    const TaskInfo& t = *scheduler_.Find(id);
    LOG(WARNING) << "account " << t.email << ": " << t.last_error
                 << (t.state == TaskState::kPending ? "" : " -> failed");
    TouchLocked(id);
  }
  if (!was_stopping && scheduler_.stopping()) {
    LOG(ERROR) << scheduler_.stop_reason() << "; cancelling " << cancels.size()
               << " running account(s)";
  }
  SendCancelsLocked(cancels);
}

void Job::CheckLivenessLocked() {
  if (options_.local_workers <= 0 || scheduler_.finished()) return;
  if (local_alive_ > 0 || local_started_ < options_.local_workers) return;
  for (const auto& [id, w] : workers_) {
    if (w.link != nullptr && !w.dead)
      return;  // a remote worker is still connected
  }
  std::string reason =
      absl::StrCat("no live workers: all ", options_.local_workers,
                   " local worker process(es) exited");
  LOG(ERROR) << reason << "; failing the remaining accounts";
  for (const TaskInfo& t : scheduler_.tasks()) {
    if (!IsTerminal(t.state)) TouchLocked(t.task_id);
  }
  scheduler_.FailRemaining(reason);
}

void Job::SendCancelsLocked(const std::vector<CancelOrder>& cancels) {
  for (const CancelOrder& c : cancels) {
    auto it = workers_.find(c.worker_id);
    if (it != workers_.end() && it->second.link != nullptr &&
        !it->second.dead) {
      it->second.link->SendCancel(c.task_id, c.epoch, c.reason);
    }
  }
}

void Job::DispatchLocked() {
  if (scheduler_.finished()) {
    bool first = !no_more_sent_;
    no_more_sent_ = true;
    for (auto& [id, w] : workers_) {
      if (w.link != nullptr && (first || w.parked_requests > 0))
        w.link->SendNoMoreTasks();
      w.parked_requests = 0;
    }
    return;
  }
  bool progressed = true;
  while (progressed && scheduler_.has_pending() && !scheduler_.stopping()) {
    progressed = false;
    for (auto& [id, w] :
         workers_) {  // round robin: one task per worker per pass
      if (w.link == nullptr || w.dead || w.parked_requests <= 0) continue;
      if (!scheduler_.has_pending()) break;
      AssignLocked(w);
      progressed = true;
    }
  }
}

void Job::AssignLocked(WorkerState& w) {
  const std::string& id = w.view.hello.worker_id;
  std::optional<Assignment> a = scheduler_.Next(id);
  if (!a) return;
  --w.parked_requests;
  TaskOrder order;
  order.task_id = a->task_id;
  order.epoch = a->epoch;
  order.attempt = a->attempt;
  order.task.mode = options_.mode;
  order.task.server = options_.config.server;
  order.task.account = options_.config.accounts[a->account_index];
  order.task.resync_missing = options_.resync_missing;
  order.task.min_free_gb = options_.min_free_gb;
  order.data_location = options_.data_location;
  AccountState& acc = accounts_[a->account_index];
  acc.progress = engine::Progress();
  acc.result = engine::AccountResult();
  acc.started = absl::Now();
  LOG(INFO) << "account " << order.task.account.email << ": started on worker "
            << id << " (attempt " << a->attempt << ")";
  w.link->SendTask(order);
  TouchLocked(a->task_id);
}

void Job::LogResultLocked(const TaskInfo& t, const engine::AccountResult& r,
                          absl::Duration elapsed) {
  for (const engine::FolderResult& f : r.folders) {
    LOG(INFO) << "account " << t.email << ": folder " << f.name << ": "
              << f.transferred << " transferred, " << f.bytes
              << " bytes, source " << f.source_messages << ", target "
              << f.target_messages
              << (f.missing ? absl::StrCat(", missing ", f.missing) : "")
              << (f.error.empty() ? "" : ", error: " + f.error);
  }
  std::string head =
      absl::StrCat("account ", t.email, ": ", TaskStateName(t.state));
  std::string tail = absl::StrCat(
      r.messages, " message(s), ", r.bytes, " byte(s) in ",
      absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1))));
  if (t.state == TaskState::kSucceeded) {
    LOG(INFO) << head << " (" << tail << ")";
  } else {
    LOG(ERROR) << head << ": " << t.last_error << " (" << tail << ")";
  }
}

void Job::TouchLocked(uint64_t task_id) {
  const TaskInfo* t = scheduler_.Find(task_id);
  if (t != nullptr) accounts_[t->account_index].version = version_ + 1;
}

void Job::AfterChangeLocked() { ++version_; }

bool Job::finished() const {
  absl::MutexLock lock(&mu_);
  return scheduler_.finished();
}

bool Job::WaitFinished(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return scheduler_.finished();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

bool Job::WaitNoConnectedWorkers(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [id, w] : workers_) {
      if (w.link != nullptr) return false;
    }
    return true;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

uint64_t Job::WaitChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return version_ != seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return version_;
}

AccountView Job::ViewLocked(const TaskInfo& t, absl::Time now) const {
  const AccountState& a = accounts_[t.account_index];
  AccountView v;
  v.task = t;
  v.progress = a.progress;
  v.folders = a.result.folders;
  v.messages = a.result.messages;
  v.bytes = a.result.bytes;
  v.skipped = a.result.skipped;
  v.notes = a.result.notes;
  if (t.state == TaskState::kRunning) {
    v.elapsed = now - a.started;
    v.messages = a.progress.messages_done;
    v.bytes = a.progress.bytes_done;
  } else {
    v.elapsed = a.elapsed;
  }
  v.version = a.version;
  return v;
}

JobSnapshot Job::Snapshot() const {
  absl::MutexLock lock(&mu_);
  JobSnapshot s;
  s.job_id = options_.job_id;
  s.mode = options_.mode;
  s.started = started_;
  s.now = absl::Now();
  s.finished = scheduler_.finished();
  s.stopping = scheduler_.stopping();
  s.stop_reason = scheduler_.stop_reason();
  s.version = version_;
  for (const TaskInfo& t : scheduler_.tasks())
    s.accounts.push_back(ViewLocked(t, s.now));
  for (const auto& [id, w] : workers_) {
    WorkerView v = w.view;
    v.connected = w.link != nullptr && !w.dead;
    for (const TaskInfo& t : scheduler_.tasks()) {
      if (t.state == TaskState::kRunning && t.worker_id == id) ++v.running;
    }
    s.workers.push_back(v);
  }
  return s;
}

}  // namespace coordinator
