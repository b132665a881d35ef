// gRPC side of the worker: one Session per connection attempt, RunWorker's
// reconnect loop.
#include "worker/worker_client.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/rpc/channel_client.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/convert.h"
#include "worker/task_runner.h"

namespace worker {
namespace {

namespace pb = ::migrator::v1;
using Stream =
    grpc::ClientReaderWriter<pb::WorkerMessage, pb::CoordinatorMessage>;

enum class SessionEnd { kDone, kBroken, kRejected };

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// One stream with the coordinator. Reads on the thread that calls Run(); task
// threads and the heartbeat thread write (serialised by write_mu_).
class Session : public TaskReporter {
 public:
  Session(const std::shared_ptr<grpc::Channel>& channel,
          const WorkerClientOptions& opts)
      : opts_(opts), stub_(pb::Coordinator::NewStub(channel)) {
    runner_ = std::make_unique<TaskRunner>(TaskRunnerOptions(), this);
  }
  ~Session() override { runner_.reset(); }

  SessionEnd Run();
  bool welcomed() const { return welcomed_; }

  void OnTaskProgress(const TaskSpec& spec,
                      const engine::Progress& progress) override;
  void OnTaskDone(const TaskSpec& spec, const engine::AccountResult& result,
                  absl::Duration elapsed) override;

 private:
  bool Send(const pb::WorkerMessage& m);
  bool SendRequestTask();
  void CloseWrites();
  void Handle(const pb::CoordinatorMessage& m);
  void HandleTask(const pb::Task& t);
  void HandleNoMoreWork(bool shutdown, const std::string& reason);
  void HeartbeatLoop();
  // ---- leases (issue 4) ----
  void SendHeartbeat();
  void OnHeartbeatAck(uint64_t seq);
  void FenceIfLeaseLost();
  SessionEnd End(bool clean);

  const WorkerClientOptions& opts_;
  std::unique_ptr<pb::Coordinator::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<Stream> stream_;
  bool welcomed_ = false;
  absl::Duration heartbeat_every_ = absl::Seconds(5);

  absl::Mutex write_mu_;
  bool writes_closed_ ABSL_GUARDED_BY(write_mu_) = false;
  bool dead_ ABSL_GUARDED_BY(write_mu_) = false;

  // Leases: measured from the send time of the last acknowledged heartbeat.
  absl::Mutex lease_mu_;
  absl::Duration lease_ ABSL_GUARDED_BY(lease_mu_);  // zero: no lease
  uint64_t heartbeat_seq_ ABSL_GUARDED_BY(lease_mu_) = 0;
  std::map<uint64_t, absl::Time> heartbeat_sent_ ABSL_GUARDED_BY(lease_mu_);
  absl::Time acked_sent_at_ ABSL_GUARDED_BY(lease_mu_);
  bool fenced_ ABSL_GUARDED_BY(lease_mu_) = false;

  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  bool no_more_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_heartbeat_ ABSL_GUARDED_BY(mu_) = false;

  std::unique_ptr<TaskRunner>
      runner_;  // reset first in the destructor: joins tasks
};

SessionEnd Session::Run() {
  stream_ = stub_->WorkerSession(&ctx_);
  pb::WorkerMessage reg;
  pb::Register* r = reg.mutable_register_();
  r->set_worker_id(opts_.worker_id);
  r->set_host(HostName());
  r->set_pid(static_cast<int32_t>(getpid()));
  r->set_max_parallel(opts_.max_parallel);
  r->set_version("migrator-worker/1");
  pb::CoordinatorMessage msg;
  if (!Send(reg) || !stream_->Read(&msg) || !msg.has_welcome())
    return End(false);
  welcomed_ = true;
  if (msg.welcome().heartbeat_interval_ms() > 0) {
    heartbeat_every_ =
        absl::Milliseconds(msg.welcome().heartbeat_interval_ms());
  }
  {
    absl::MutexLock lock(&lease_mu_);
    lease_ = absl::Milliseconds(msg.welcome().lease_ms());
    acked_sent_at_ = absl::Now();
  }
  LOG(INFO) << "registered with coordinator " << opts_.coordinator << " (job "
            << msg.welcome().job_id() << ", " << opts_.max_parallel
            << " slot(s))";
  std::thread heartbeat([this] { HeartbeatLoop(); });
  for (int i = 0; i < opts_.max_parallel; ++i) SendRequestTask();
  while (stream_->Read(&msg)) Handle(msg);
  {
    absl::MutexLock lock(&mu_);
    stop_heartbeat_ = true;
  }
  heartbeat.join();
  bool clean;
  {
    absl::MutexLock lock(&write_mu_);
    clean = writes_closed_;
  }
  if (!clean) {
    LOG(WARNING) << "stream to the coordinator broke; cancelling "
                 << runner_->running()
                 << " running task(s) (the coordinator reassigns them)";
    runner_->CancelAll();
  }
  runner_->WaitIdle(absl::InfiniteDuration());
  return End(clean);
}

SessionEnd Session::End(bool clean) {
  grpc::Status st = stream_->Finish();
  if (clean && st.ok()) return SessionEnd::kDone;
  switch (st.error_code()) {
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      LOG(ERROR) << "coordinator refused this worker: " << st.error_message();
      return SessionEnd::kRejected;
    default:
      LOG(WARNING) << "session with coordinator " << opts_.coordinator
                   << " ended: " << (st.ok() ? "closed" : st.error_message());
      return SessionEnd::kBroken;
  }
}

bool Session::Send(const pb::WorkerMessage& m) {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_ || dead_) return false;
  if (!stream_->Write(m)) {
    dead_ = true;
    return false;
  }
  return true;
}

bool Session::SendRequestTask() {
  pb::WorkerMessage m;
  m.mutable_request_task();
  return Send(m);
}

void Session::CloseWrites() {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_) return;
  writes_closed_ = true;
  if (!dead_) stream_->WritesDone();
}

void Session::Handle(const pb::CoordinatorMessage& m) {
  switch (m.msg_case()) {
    case pb::CoordinatorMessage::kTask:
      HandleTask(m.task());
      break;
    case pb::CoordinatorMessage::kCancel:
      LOG(INFO) << "task " << m.cancel().task_id() << ": cancel ("
                << m.cancel().reason() << ")";
      runner_->Cancel(m.cancel().task_id(), m.cancel().epoch());
      break;
    case pb::CoordinatorMessage::kHeartbeatAck:
      OnHeartbeatAck(m.heartbeat_ack().seq());
      break;
    case pb::CoordinatorMessage::kNoMoreTasks:
      HandleNoMoreWork(false, "no more tasks");
      break;
    case pb::CoordinatorMessage::kShutdown:
      HandleNoMoreWork(true, m.shutdown().reason());
      break;
    default:
      break;
  }
}

void Session::HandleTask(const pb::Task& t) {
  TaskSpec spec;
  spec.task_id = t.task_id();
  spec.epoch = t.epoch();
  spec.attempt = t.attempt();
  bool mode_ok = fleetproto::FromProto(t.mode(), &spec.task.mode);
  spec.task.server = fleetproto::FromProto(t.server());
  spec.task.account = fleetproto::FromProto(t.account());
  spec.task.resync_missing = t.resync_missing();
  spec.task.min_free_gb = t.min_free_gb();
  spec.data_location = t.data_location();
  {
    absl::MutexLock lock(&mu_);
    ++active_;
  }
  LOG(INFO) << "task " << spec.task_id << ": account "
            << spec.task.account.email << " ("
            << engine::ModeName(spec.task.mode) << ", attempt " << spec.attempt
            << ")";
  absl::Status st =
      mode_ok ? runner_->Start(spec)
              : absl::InvalidArgumentError("task without a valid mode");
  if (!st.ok()) {
    engine::AccountResult failed;
    failed.status = st;
    OnTaskDone(spec, failed, absl::ZeroDuration());
  }
}

void Session::HandleNoMoreWork(bool shutdown, const std::string& reason) {
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
  if (close) CloseWrites();
}

void Session::OnTaskProgress(const TaskSpec& spec,
                             const engine::Progress& progress) {
  pb::WorkerMessage m;
  pb::Progress* p = m.mutable_progress();
  fleetproto::ToProto(progress, p);
  p->set_task_id(spec.task_id);
  p->set_epoch(spec.epoch);
  Send(m);
}

void Session::OnTaskDone(const TaskSpec& spec,
                         const engine::AccountResult& result,
                         absl::Duration elapsed) {
  pb::WorkerMessage m;
  pb::TaskResult* r = m.mutable_result();
  fleetproto::ToProto(result, r);
  r->set_task_id(spec.task_id);
  r->set_epoch(spec.epoch);
  r->set_elapsed_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(elapsed)));
  LOG(INFO) << "task " << spec.task_id << ": account "
            << spec.task.account.email << ": "
            << (result.status.ok() ? std::string("ok")
                                   : result.status.ToString())
            << ", " << result.messages << " message(s), " << result.bytes
            << " byte(s) in " << absl::FormatDuration(elapsed);
  Send(m);
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
  if (close) CloseWrites();
  if (request) SendRequestTask();
}

void Session::HeartbeatLoop() {
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_heartbeat_;
  };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopped), heartbeat_every_))
        return;
    }
    SendHeartbeat();
    FenceIfLeaseLost();
  }
}

void Session::SendHeartbeat() {
  pb::WorkerMessage m;
  pb::Heartbeat* hb = m.mutable_heartbeat();
  for (const auto& [id, epoch] : runner_->RunningLeases()) {
    hb->add_running_task_ids(id);
    pb::TaskLease* l = hb->add_leases();
    l->set_task_id(id);
    l->set_epoch(epoch);
  }
  {
    absl::MutexLock lock(&lease_mu_);
    hb->set_seq(++heartbeat_seq_);
    heartbeat_sent_[heartbeat_seq_] = absl::Now();
    while (heartbeat_sent_.size() > 64) heartbeat_sent_.erase(heartbeat_sent_.begin());
  }
  Send(m);
}

void Session::OnHeartbeatAck(uint64_t seq) {
  absl::MutexLock lock(&lease_mu_);
  auto it = heartbeat_sent_.find(seq);
  if (it == heartbeat_sent_.end()) return;
  acked_sent_at_ = std::max(acked_sent_at_, it->second);
  heartbeat_sent_.erase(heartbeat_sent_.begin(), ++it);
  fenced_ = false;
}

// Stops every task once the lease cannot have been renewed: no ack for a
// heartbeat sent within lease - 2 intervals. The coordinator expires leases
// one lease after it last heard from us, so we stop first.
void Session::FenceIfLeaseLost() {
  absl::Duration silent;
  {
    absl::MutexLock lock(&lease_mu_);
    if (lease_ <= absl::ZeroDuration() || fenced_) return;
    silent = absl::Now() - acked_sent_at_;
    if (silent < lease_ - 2 * heartbeat_every_) return;
    if (runner_->running() == 0) return;
    fenced_ = true;
  }
  LOG(WARNING) << "lease lost: no heartbeat acknowledged for "
               << absl::FormatDuration(absl::Trunc(silent, absl::Milliseconds(1)))
               << "; stopping " << runner_->running()
               << " task(s) at a clean point (the coordinator reassigns them)";
  runner_->CancelAll();
}

}  // namespace

int RunWorker(const WorkerClientOptions& opts) {
  absl::Time window_start = absl::Now();
  absl::Duration backoff = opts.initial_backoff;
  while (true) {
    auto channel = rpc::MakeChannel(opts.coordinator, opts.tls);
    SessionEnd end;
    bool welcomed;
    {
      Session session(channel, opts);
      end = session.Run();
      welcomed = session.welcomed();
    }
    if (end == SessionEnd::kDone) {
      LOG(INFO) << "done: the coordinator has no more work";
      return kWorkerDone;
    }
    if (end == SessionEnd::kRejected) return kWorkerNoCoordinator;
    absl::Time now = absl::Now();
    if (welcomed) {
      window_start = now;
      backoff = opts.initial_backoff;
    }
    absl::Duration left = opts.retry_for - (now - window_start);
    if (left <= absl::ZeroDuration()) {
      LOG(ERROR) << "coordinator " << opts.coordinator << " unreachable for "
                 << absl::FormatDuration(opts.retry_for) << "; giving up";
      return kWorkerNoCoordinator;
    }
    absl::SleepFor(std::min(backoff, left));  // backoff, not synchronisation
    backoff = std::min(backoff * 2, opts.max_backoff);
  }
}

}  // namespace worker
