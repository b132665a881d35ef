#include "coordinator/core/job.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace coordinator {

namespace {

std::vector<std::string> Emails(const config::Config& c) {
  std::vector<std::string> out;
  for (const config::Account& a : c.accounts) out.push_back(a.email);
  return out;
}

SchedulerOptions MakeSchedulerOptions(const JobOptions& o) {
  SchedulerOptions s;
  s.fail_fast = o.fail_fast;
  s.max_attempts = std::max<uint32_t>(1, o.max_attempts);
  s.lease = o.lease_timeout;
  s.backoff_initial = o.backoff_initial;
  s.backoff_max = o.backoff_max;
  s.budget_window = absl::Seconds(std::max(1, o.config.server.budget_window_seconds));
  return s;
}

// Which way the mode moves bytes through the config's server (README "Budgets").
config::Direction DirectionOf(const JobOptions& o) {
  switch (o.mode) {
    case engine::Mode::kExport:
      return config::Direction::kDownload;
    case engine::Mode::kImport:
      return config::Direction::kUpload;
    case engine::Mode::kValidate:
      return o.resync_missing ? config::Direction::kUpload : config::Direction::kNone;
    case engine::Mode::kTest:
      return config::Direction::kNone;
  }
  return config::Direction::kNone;
}

// How often the ticker looks at leases and backoffs.
absl::Duration TickInterval(absl::Duration lease) {
  return std::clamp(lease / 10, absl::Milliseconds(50), absl::Milliseconds(500));
}

}  // namespace

Job::Job(JobOptions options)
    : options_(std::move(options)),
      started_(options_.clock ? options_.clock() : absl::Now()),
      scheduler_(Emails(options_.config), MakeSchedulerOptions(options_)),
      accounts_(options_.config.accounts.size()) {
  {
    absl::MutexLock lock(&mu_);
    shares_.resize(accounts_.size());
    stale_.resize(accounts_.size(), false);
    for (size_t i = 0; i < accounts_.size(); ++i) StaleLocked(i);
    const config::Direction direction = DirectionOf(options_);
    for (const config::Account& a : options_.config.accounts) {
      const config::AccountLimits l = config::LimitsOf(options_.config.server, a, direction);
      scheduler_.SetLimits(
          static_cast<uint64_t>(a.index) + 1,
          AccountLimitSpec{config::ConnectionKey(a), l.max_connections, l.bytes_per_day});
    }
  }
  Restore();
  if (options_.run_ticker) ticker_ = std::thread([this] { TickerLoop(); });
}

Job::~Job() {
  {
    absl::MutexLock lock(&mu_);
    ticker_stop_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

void Job::Restore() {
  absl::MutexLock lock(&mu_);
  uint64_t min_epoch = options_.min_epoch;
  for (const StoredAccount& r : options_.restored) {
    if (r.index < 0 || static_cast<size_t>(r.index) >= accounts_.size()) continue;
    uint64_t id = static_cast<uint64_t>(r.index) + 1;
    min_epoch = std::max(min_epoch, r.epoch);
    if (r.size > 0) scheduler_.SetSize(id, r.size);
    accounts_[r.index].before = r.totals.throttling;
    if (r.state == TaskState::kSucceeded) {
      scheduler_.RestoreSucceeded(id, "succeeded in an earlier run (not redone)");
      accounts_[r.index].earlier = r.totals;
    }
    scheduler_.RestoreBudget(id, r.window_start, r.budget_spent, r.parked_until, Now());
  }
  scheduler_.SetMinEpoch(min_epoch);
}

void Job::TickerLoop() {
  const absl::Duration every = TickInterval(options_.lease_timeout);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ticker_stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), every)) return;
    }
    Tick();
  }
}

absl::Duration HeartbeatInterval(absl::Duration lease) {
  return std::clamp(lease / 5, absl::Milliseconds(50), absl::Seconds(60));
}

absl::Status Job::Connect(const WorkerHello& hello, WorkerLink* link) {
  if (hello.worker_id.empty()) return absl::InvalidArgumentError("empty worker id");
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
  w.view.connected_at = w.view.last_seen = Now();
  w.link = link;
  w.parked_requests = 0;
  LOG(INFO) << "worker " << hello.worker_id << " connected (host " << hello.host << ", pid "
            << hello.pid << ", " << hello.max_parallel << " slot(s))";
  AfterChangeLocked();
  return absl::OkStatus();
}

void Job::Disconnect(const std::string& worker_id, const WorkerLink* link) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.link == nullptr) return;
  if (link != nullptr && it->second.link != link)
    return;  // an earlier session (its process exited; maybe respawned)
  WorkerState& w = it->second;
  w.link = nullptr;
  w.view.connected = false;
  w.parked_requests = 0;
  size_t held = 0;
  for (size_t i : scheduler_.running()) held += scheduler_.tasks()[i].worker_id == worker_id;
  LOG(INFO) << "worker " << worker_id << " disconnected"
            << (held ? absl::StrCat("; its ", held,
                                    " account(s) go back to the queue when "
                                    "their lease expires")
                     : "");
  CheckLivenessLocked();
  DispatchLocked();
  AfterChangeLocked();
}

void Job::RequestTask(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.link == nullptr) return;
  ++it->second.parked_requests;
  it->second.view.last_seen = Now();
  DispatchLocked();
  AfterChangeLocked();
}

void Job::Heartbeat(const std::string& worker_id, uint64_t seq,
                    const std::vector<HeldLease>& held) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.link == nullptr) return;
  WorkerState& w = it->second;
  absl::Time now = Now();
  bool was_responsive = ResponsiveLocked(w, now);
  w.view.last_seen = now;
  std::vector<CancelOrder> cancels;
  // Connections of its stale assignments stay counted while it names them.
  const bool freed = scheduler_.WorkerRuns(
      worker_id, std::set<std::pair<uint64_t, uint64_t>>(held.begin(), held.end()), now);
  for (const auto& [task_id, epoch] : held) {
    if (scheduler_.Renew(task_id, epoch, worker_id, now)) continue;
    const TaskInfo* t = scheduler_.Find(task_id);
    if (t != nullptr && t->epoch == epoch && IsTerminal(t->state))
      continue;  // its result is on the way or in: nothing to stop
    LOG(WARNING) << "worker " << worker_id << " still runs task " << task_id << " epoch " << epoch
                 << " whose lease is gone; telling it to stop";
    cancels.push_back(
        CancelOrder{worker_id, task_id, epoch, "lease lost: the account was reassigned"});
  }
  SendCancelsLocked(cancels);
  w.link->SendHeartbeatAck(seq);
  if (!was_responsive || freed) DispatchLocked();
}

void Job::Tick() {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  std::vector<CancelOrder> cancels;
  bool was_stopping = scheduler_.stopping();
  std::vector<uint64_t> expired = scheduler_.ExpireLeases(now, &cancels);
  const bool freed = scheduler_.ExpireStaleConnections(now);
  if (!expired.empty()) {
    fleet_.leases_expired += expired.size();
    LogLostLocked(expired);
    if (!was_stopping && scheduler_.stopping()) {
      LOG(ERROR) << scheduler_.stop_reason() << "; cancelling running accounts";
    }
  }
  SendCancelsLocked(cancels);
  if (expired.empty() && !freed && !scheduler_.HasReady(now)) return;
  DispatchLocked();
  AfterChangeLocked();
}

void Job::Progress(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
                   const engine::Progress& progress) {
  absl::MutexLock lock(&mu_);
  const TaskInfo* t = scheduler_.Find(task_id);
  if (!scheduler_.IsCurrent(task_id, epoch) || t->worker_id != worker_id) {
    RejectLocked(worker_id, task_id, epoch, /*result=*/false);
    return;
  }
  absl::Time now = Now();
  scheduler_.Renew(task_id, epoch, worker_id, now);
  AccountState& a = accounts_[t->account_index];
  if (!progress.folder.empty() && progress.folder != a.progress.folder) {
    logging::ScopedThreadLog scope(logging::OpenAccountLog(options_.account_log_dir, t->email));
    LOG(INFO) << "account " << t->email << ": folder " << progress.folder << " ("
              << progress.folders_done << "/" << progress.folders_total << ")";
  }
  a.progress = progress;
  if (progress.messages_total > 0 && progress.messages_total != t->size) {
    scheduler_.SetSize(task_id, progress.messages_total);
    RecordLocked(task_id);
  }
  auto w = workers_.find(worker_id);
  if (w != workers_.end()) w->second.view.last_seen = now;
  TouchLocked(task_id);
  AfterChangeLocked();
}

void Job::Result(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
                 const engine::AccountResult& result, absl::Duration /*worker_elapsed*/) {
  absl::MutexLock lock(&mu_);
  const TaskInfo* t = scheduler_.Find(task_id);
  if (!scheduler_.IsCurrent(task_id, epoch) || t->worker_id != worker_id) {
    RejectLocked(worker_id, task_id, epoch, /*result=*/true);
    // That old run is over: its connections no longer count.
    if (scheduler_.StaleRunEnded(task_id, epoch)) DispatchLocked();
    AfterChangeLocked();
    return;
  }
  absl::Time now = Now();
  auto w = workers_.find(worker_id);
  if (w != workers_.end()) w->second.view.last_seen = now;
  bool was_stopping = scheduler_.stopping();
  std::vector<CancelOrder> cancels;
  scheduler_.Charge(task_id, result.budget_used, now);
  const bool parked = result.parked_until != absl::InfinitePast();
  Scheduler::Outcome outcome =
      parked ? scheduler_.Park(task_id, epoch, now)
             : scheduler_.Complete(task_id, epoch, result.status, now, &cancels);
  AccountState& a = accounts_[t->account_index];
  a.result = result;
  a.result_in = true;
  a.elapsed = now - a.started;
  RecordLocked(task_id);  // durable before it is logged or acted upon
  {
    logging::ScopedThreadLog scope(logging::OpenAccountLog(options_.account_log_dir, t->email));
    if (outcome == Scheduler::Outcome::kRetry) {
      ++fleet_.retries;
      LOG(WARNING) << "account " << t->email << ": " << t->last_error;
    } else if (outcome == Scheduler::Outcome::kParked) {
      LOG(INFO) << "account " << t->email << ": " << t->last_error << " (" << result.messages
                << " message(s) this run; not an attempt; the other accounts go on)";
    } else {
      LogResultLocked(*t, result, a.elapsed);
    }
  }
  if (!was_stopping && scheduler_.stopping()) {
    LOG(ERROR) << scheduler_.stop_reason() << "; cancelling " << cancels.size()
               << " running account(s)";
  }
  SendCancelsLocked(cancels);
  TouchLocked(task_id);
  DispatchLocked();
  AfterChangeLocked();
}

void Job::RejectLocked(const std::string& worker_id, uint64_t task_id, uint64_t epoch,
                       bool result) {
  const TaskInfo* t = scheduler_.Find(task_id);
  std::string now_held = "unknown task";
  if (t != nullptr && t->state == TaskState::kRunning) {
    now_held =
        absl::StrCat("account ", t->email, " now runs at epoch ", t->epoch, " on ", t->worker_id);
  } else if (t != nullptr) {
    now_held = absl::StrCat("account ", t->email, " is ", TaskStateName(t->state),
                            " since its lease ended");
  }
  if (result) {
    ++fleet_.rejected_results;
    LOG(WARNING) << "rejected a stale result for task " << task_id << " epoch " << epoch
                 << " from worker " << worker_id << " (" << now_held << ")";
  } else {
    ++fleet_.rejected_progress;
    if (t != nullptr && accounts_[t->account_index].logged_stale_epoch != epoch) {
      accounts_[t->account_index].logged_stale_epoch = epoch;
      LOG(WARNING) << "rejected stale progress for task " << task_id << " epoch " << epoch
                   << " from worker " << worker_id << " (" << now_held << ")";
    }
  }
  auto it = workers_.find(worker_id);
  if (it != workers_.end() && it->second.link != nullptr && !it->second.dead) {
    it->second.link->SendCancel(task_id, epoch,
                                "stale epoch: the lease was lost and the "
                                "account reassigned");
  }
}

void Job::LocalWorkerStarted(const std::string& worker_id, int pid) {
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[worker_id];
  w.view.local = true;
  w.view.hello.worker_id = worker_id;
  w.view.hello.pid = pid;
  ++local_alive_;
  if (w.respawning) {  // a replacement: it may register under the same id
    w.respawning = false;
    w.dead = false;
    ++w.respawns;
    --local_respawning_;
  } else {
    ++local_started_;
  }
  AfterChangeLocked();
}

bool Job::LocalWorkerExited(const std::string& worker_id, const std::string& how,
                            bool can_respawn) {
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[worker_id];
  bool respawn = false;
  if (w.respawning) {  // its replacement could not be started
    LOG(ERROR) << "worker " << worker_id << " " << how;
    w.respawning = false;
    --local_respawning_;
  } else if (!w.dead) {
    w.dead = true;
    w.link = nullptr;  // the process is gone: so is its stream
    w.view.connected = false;
    w.parked_requests = 0;
    --local_alive_;
    if (scheduler_.finished()) {
      LOG(INFO) << "worker " << worker_id << " " << how;
    } else {
      LOG(WARNING) << "worker " << worker_id << " " << how << " while the job runs";
    }
    LoseWorkerLocked(worker_id, absl::StrCat("worker died (", worker_id, " ", how, ")"));
    respawn = can_respawn && !scheduler_.finished() && !scheduler_.stopping();
    w.respawning = respawn;
    local_respawning_ += respawn ? 1 : 0;
  } else {
    return false;
  }
  CheckLivenessLocked();
  DispatchLocked();
  AfterChangeLocked();
  return respawn;
}

void Job::Stop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (scheduler_.stopping()) return;
  std::vector<CancelOrder> cancels;
  scheduler_.Stop(reason, &cancels);
  LOG(WARNING) << "stopping: " << reason << "; cancelling " << cancels.size()
               << " running account(s)";
  for (const TaskInfo& t : scheduler_.tasks()) {
    if (t.state == TaskState::kCancelled) RecordLocked(t.task_id);
  }
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
  for (const TaskInfo& t : scheduler_.tasks()) RecordLocked(t.task_id);
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

void Job::LoseWorkerLocked(const std::string& worker_id, const std::string& why) {
  std::vector<CancelOrder> cancels;
  bool was_stopping = scheduler_.stopping();
  LogLostLocked(scheduler_.WorkerLost(worker_id, why, Now(), &cancels));
  if (!was_stopping && scheduler_.stopping()) {
    LOG(ERROR) << scheduler_.stop_reason() << "; cancelling " << cancels.size()
               << " running account(s)";
  }
  SendCancelsLocked(cancels);
}

void Job::LogLostLocked(const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) {
    // What the lost run reported moving counts against its budget.
    scheduler_.Charge(id, accounts_[scheduler_.Find(id)->account_index].progress.bytes_done, Now());
    const TaskInfo& t = *scheduler_.Find(id);
    bool requeued = t.state == TaskState::kPending;
    if (requeued) ++fleet_.retries;
    logging::ScopedThreadLog scope(logging::OpenAccountLog(options_.account_log_dir, t.email));
    LOG(WARNING) << "account " << t.email << ": " << t.last_error
                 << (requeued ? "" : absl::StrCat(" -> ", TaskStateName(t.state)));
    RecordLocked(id);
    TouchLocked(id);
  }
}

void Job::CheckLivenessLocked() {
  if (options_.local_workers <= 0 || scheduler_.finished()) return;
  if (local_alive_ + local_respawning_ > 0 || local_started_ < options_.local_workers) return;
  for (const auto& [id, w] : workers_) {
    if (w.link != nullptr && !w.dead) return;  // a remote worker is still connected
  }
  std::string reason = absl::StrCat("no live workers: all ", options_.local_workers,
                                    " local worker process(es) exited");
  LOG(ERROR) << reason << "; failing the remaining accounts";
  scheduler_.FailRemaining(reason);
  for (const TaskInfo& t : scheduler_.tasks()) {
    if (t.state == TaskState::kFailed && t.last_error.rfind(reason, 0) == 0) {
      TouchLocked(t.task_id);
      RecordLocked(t.task_id);
    }
  }
}

void Job::SendCancelsLocked(const std::vector<CancelOrder>& cancels) {
  for (const CancelOrder& c : cancels) {
    auto it = workers_.find(c.worker_id);
    if (it != workers_.end() && it->second.link != nullptr && !it->second.dead) {
      it->second.link->SendCancel(c.task_id, c.epoch, c.reason);
    }
  }
}

bool Job::ResponsiveLocked(const WorkerState& w, absl::Time now) const {
  return now - w.view.last_seen <= options_.lease_timeout;
}

void Job::DispatchLocked() {
  if (scheduler_.finished()) {
    bool first = !no_more_sent_;
    no_more_sent_ = true;
    for (auto& [id, w] : workers_) {
      if (w.link != nullptr && (first || w.parked_requests > 0)) w.link->SendNoMoreTasks();
      w.parked_requests = 0;
    }
    return;
  }
  absl::Time now = Now();
  if (HoldingStartLocked(now)) return;
  bool progressed = true;
  while (progressed && scheduler_.HasReady(now)) {
    progressed = false;
    // Round robin: one task per worker per pass; a worker not heard from
    // for a lease gets nothing (it may be stopped or cut off).
    for (auto& [id, w] : workers_) {
      if (w.link == nullptr || w.dead || w.parked_requests <= 0) continue;
      if (!ResponsiveLocked(w, now)) continue;
      if (!AssignLocked(w)) break;
      progressed = true;
    }
  }
}

// True while the start of the job waits for the spawned local workers (see
// JobOptions::start_grace). A local worker is settled once it has exited, or
// is connected with a request parked for each of its slots (a worker asks for
// all its slots right after registering): releasing on its first request
// would let the first worker take the bigger share. Once over, never again.
bool Job::HoldingStartLocked(absl::Time now) {
  if (!start_held_) return false;
  int settled = 0;
  for (const auto& [id, w] : workers_) {
    if (!w.view.local) continue;
    bool ready = w.link != nullptr && w.parked_requests >= std::max(1, w.view.hello.max_parallel);
    // A worker that died once does not hold the start again.
    settled += w.dead || ready || w.respawns > 0 ? 1 : 0;
  }
  const int expected = options_.local_workers;
  bool all_settled = settled >= expected;
  bool expired = now - started_ >= options_.start_grace;
  if (!all_settled && !expired) return true;
  start_held_ = false;
  if (expected > 0 && !all_settled) {
    LOG(WARNING) << "only " << settled << " of " << expected
                 << " local worker(s) ready (or exited) after "
                 << absl::FormatDuration(options_.start_grace)
                 << "; handing out work to the connected ones";
  } else if (expected > 0) {
    LOG(INFO) << "all " << expected << " local worker(s) ready after "
              << absl::FormatDuration(absl::Trunc(now - started_, absl::Milliseconds(1)))
              << "; handing out work";
  }
  return false;
}

bool Job::AssignLocked(WorkerState& w) {
  const std::string& id = w.view.hello.worker_id;
  absl::Time now = Now();
  std::optional<Assignment> a = scheduler_.Next(id, now);
  if (!a) return false;
  --w.parked_requests;
  TaskOrder order;
  order.task_id = a->task_id;
  order.epoch = a->epoch;
  order.attempt = a->attempt;
  order.task.mode = options_.mode;
  order.task.server = options_.config.server;
  order.task.account = options_.config.accounts[a->account_index];
  order.task.resync_missing = options_.resync_missing;
  order.task.strict = options_.strict;
  order.task.fix_messages = options_.fix_messages;
  order.task.selection = options_.selection;
  order.task.folder_map = options_.config.folder_map;
  order.task.dry_run = options_.dry_run;
  order.task.sizes = options_.sizes;
  if (options_.map_server) {
    auto b = options_.map_accounts.find(order.task.account.email);
    if (b != options_.map_accounts.end()) {
      order.task.map_to = engine::AccountTask::Target{*options_.map_server, b->second};
      order.task.folder_map = options_.map_folder_map;  // where the import would put them
    }
  }
  order.task.min_free_gb = options_.min_free_gb;
  order.task.store_concurrency = options_.store_concurrency;
  order.task.max_connections = a->connections;
  order.task.budget_bytes = a->budget_bytes;
  order.task.budget_spent = a->budget_spent;
  order.task.budget_resume_at = a->budget_resume_at;
  order.data_location = options_.data_location;
  AccountState& acc = accounts_[a->account_index];
  acc.before = Throttling(acc);  // the previous attempt's counters are kept
  acc.progress = engine::Progress();
  acc.result = engine::AccountResult();
  acc.result_in = false;
  acc.started = now;
  std::string limits;
  if (a->connections > 0) absl::StrAppend(&limits, ", ", a->connections, " connection(s)");
  if (a->budget_bytes > 0) {
    absl::StrAppend(&limits, ", ", a->budget_bytes - std::min(a->budget_spent, a->budget_bytes),
                    " of ", a->budget_bytes, " budget bytes left");
  }
  logging::ScopedThreadLog scope(
      logging::OpenAccountLog(options_.account_log_dir, order.task.account.email));
  LOG(INFO) << "account " << order.task.account.email << ": started on worker " << id
            << " (attempt " << a->attempt << ", epoch " << a->epoch << limits << ")";
  RecordLocked(a->task_id);
  w.link->SendTask(order);
  TouchLocked(a->task_id);
  return true;
}

void Job::RecordLocked(uint64_t task_id) {
  const TaskInfo* t = scheduler_.Find(task_id);
  if (options_.journal == nullptr || t == nullptr) return;
  const AccountState& a = accounts_[t->account_index];
  const engine::AccountResult& r = a.result;
  AccountTotals totals{r.messages, r.bytes, r.skipped, Throttling(a)};
  options_.journal->Record(*t, totals, IsTerminal(t->state));
}

namespace {

// A folder's sizes and plan (test --sizes, dry runs) for the log; "" when it has none.
std::string PlanText(const engine::FolderResult& f) {
  std::string out;
  if (f.source_bytes > 0) absl::StrAppend(&out, ", source bytes ", f.source_bytes);
  if (f.to_move > 0 || f.present > 0) {
    absl::StrAppend(&out, ", to move ", f.to_move, " (", f.bytes_to_move, " bytes), present ",
                    f.present);
  }
  if (f.create) absl::StrAppend(&out, ", to create");
  return out;
}

}  // namespace

void Job::LogResultLocked(const TaskInfo& t, const engine::AccountResult& r,
                          absl::Duration elapsed) {
  for (const engine::FolderResult& f : r.folders) {
    LOG(INFO) << "account " << t.email << ": folder " << f.name
              << (f.target.empty() ? "" : absl::StrCat(" -> ", f.target, " (", f.mapping, ")"))
              << ": " << f.transferred << " transferred, " << f.bytes << " bytes, source "
              << f.source_messages << ", target " << f.target_messages
              << (f.missing ? absl::StrCat(", missing ", f.missing) : "")
              << (f.refused ? absl::StrCat(", refused ", f.refused) : "")
              << (f.repaired ? absl::StrCat(", repaired ", f.repaired) : "") << PlanText(f)
              << (f.error.empty() ? "" : ", error: " + f.error);
    for (const engine::RefusedMessage& m : f.refused_messages) {
      LOG(WARNING) << "account " << t.email << ": folder " << f.name << ": message uid " << m.uid
                   << " (" << m.size << " bytes, " << m.internaldate << ") refused by the target ("
                   << m.kind << "): " << m.reason;
    }
    for (const engine::RepairedMessage& m : f.repaired_messages) {
      LOG(INFO) << "account " << t.email << ": folder " << f.name << ": message uid " << m.uid
                << " (" << m.size << " bytes) appended repaired (" << m.repaired_size
                << " bytes): " << m.repairs;
    }
    for (const engine::RefusedMessage& m : f.keywords_dropped) {
      LOG(WARNING) << "account " << t.email << ": folder " << f.name << ": message uid " << m.uid
                   << " went in without keyword(s) " << absl::StrJoin(m.keywords, " ")
                   << ": the target keeps no more in the folder (" << m.reason << ")";
    }
  }
  std::string head = absl::StrCat("account ", t.email, ": ", TaskStateName(t.state));
  std::string tail =
      absl::StrCat(r.messages, " message(s), ", r.bytes, " byte(s) in ",
                   absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1))));
  if (r.refused > 0) absl::StrAppend(&tail, ", ", r.refused, " refused by the target");
  if (r.repaired > 0) absl::StrAppend(&tail, ", ", r.repaired, " repaired for the target");
  // Over every attempt, as the report shows them.
  const ThrottleTotals th = Throttling(accounts_[t.account_index]);
  if (th.throttles > 0 || th.reconnects > 0) {
    absl::StrAppend(&tail, ", throttled ", th.throttles, " time(s) (paused ", th.throttled_ms,
                    " ms), ", th.reconnects, " reconnect(s)");
  }
  if (t.state == TaskState::kSucceeded) {
    LOG(INFO) << head << " (" << tail << ")";
  } else {
    LOG(ERROR) << head << ": " << t.last_error << " (" << tail << ")";
  }
}

void Job::TouchLocked(uint64_t task_id) {
  const TaskInfo* t = scheduler_.Find(task_id);
  if (t == nullptr) return;
  accounts_[t->account_index].version = version_ + 1;
  StaleLocked(static_cast<size_t>(t->account_index));
}

void Job::AfterChangeLocked() { ++version_; }

}  // namespace coordinator
