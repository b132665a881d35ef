// gRPC side of the worker: one GrpcSession per connection attempt (the stream
// of a WorkerSession, which holds the protocol logic), RunWorker's reconnect
// loop.
#include "worker/worker_client.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/rpc/channel_client.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/convert.h"
#include "worker/session.h"

namespace worker {
namespace {

namespace pb = ::migrator::v1;
using Stream = grpc::ClientReaderWriter<pb::WorkerMessage, pb::CoordinatorMessage>;

enum class SessionEnd { kDone, kBroken, kRejected };

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// One stream with the coordinator: the transport of a WorkerSession. Reads on
// the thread that calls Run(); task threads and the heartbeat thread write
// (serialised by write_mu_).
class GrpcSession : public SessionOutput {
 public:
  GrpcSession(const std::shared_ptr<grpc::Channel>& channel, const WorkerClientOptions& opts,
              StopRequest* stop)
      : opts_(opts), stop_(stop), stub_(pb::Coordinator::NewStub(channel)) {
    SessionOptions so;
    so.max_parallel = opts.max_parallel;
    so.runner.account_log_dir = opts.account_log_dir;
    session_ = std::make_unique<WorkerSession>(std::move(so), this);
  }
  ~GrpcSession() override { session_.reset(); }  // joins the task threads

  SessionEnd Run();
  bool welcomed() const { return welcomed_; }

  // SessionOutput
  void RequestTask() override { Send(fleetproto::RequestTaskMessage()); }
  void Heartbeat(uint64_t seq, const std::vector<fleetproto::Lease>& leases) override {
    Send(fleetproto::HeartbeatMessage(seq, leases));
  }
  void Progress(const TaskSpec& spec, const engine::Progress& progress) override {
    Send(fleetproto::ProgressMessage({spec.task_id, spec.epoch}, progress));
  }
  void Result(const TaskSpec& spec, const engine::AccountResult& result,
              absl::Duration elapsed) override {
    Send(fleetproto::ResultMessage({spec.task_id, spec.epoch}, result, elapsed));
  }
  void CloseWrites() override;

 private:
  bool Send(const pb::WorkerMessage& m);
  void Handle(const pb::CoordinatorMessage& m);
  void HeartbeatLoop();
  SessionEnd End(bool clean);

  const WorkerClientOptions& opts_;
  StopRequest* const stop_;  // may be null
  std::unique_ptr<pb::Coordinator::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<Stream> stream_;
  bool welcomed_ = false;

  absl::Mutex write_mu_;
  bool writes_closed_ ABSL_GUARDED_BY(write_mu_) = false;
  bool dead_ ABSL_GUARDED_BY(write_mu_) = false;

  absl::Mutex mu_;
  bool stop_heartbeat_ ABSL_GUARDED_BY(mu_) = false;

  // Reset first in the destructor: joins the tasks, which write to the stream.
  std::unique_ptr<WorkerSession> session_;
};

SessionEnd GrpcSession::Run() {
  stream_ = stub_->WorkerSession(&ctx_);
  pb::CoordinatorMessage msg;
  if (!Send(fleetproto::RegisterMessage({opts_.worker_id, HostName(), static_cast<int>(getpid()),
                                         opts_.max_parallel, "migrator-worker/1"})) ||
      !stream_->Read(&msg) || !msg.has_welcome())
    return End(false);
  welcomed_ = true;
  fleetproto::SessionTerms terms = fleetproto::FromProto(msg.welcome());
  LOG(INFO) << "registered with coordinator " << opts_.coordinator << " (job " << terms.job_id
            << ", " << opts_.max_parallel << " slot(s))";
  session_->Start(terms.heartbeat_interval, terms.lease, absl::Now());
  std::thread heartbeat([this] { HeartbeatLoop(); });
  if (stop_ != nullptr) {
    stop_->OnRequest([this](const std::string& reason) { session_->OnStop(reason); });
  }
  while (stream_->Read(&msg)) Handle(msg);
  if (stop_ != nullptr) stop_->OnRequest(nullptr);
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
  if (!clean) session_->OnStreamBroken();
  session_->WaitIdle(absl::InfiniteDuration());
  return End(clean);
}

SessionEnd GrpcSession::End(bool clean) {
  grpc::Status st = stream_->Finish();
  if (clean && st.ok()) return SessionEnd::kDone;
  switch (st.error_code()) {
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      LOG(ERROR) << "coordinator refused this worker ("
                 << absl::StatusCodeToString(static_cast<absl::StatusCode>(st.error_code()))
                 << "): " << st.error_message();
      return SessionEnd::kRejected;
    default:
      LOG(WARNING) << "session with coordinator " << opts_.coordinator
                   << " ended: " << (st.ok() ? "closed" : st.error_message());
      return SessionEnd::kBroken;
  }
}

bool GrpcSession::Send(const pb::WorkerMessage& m) {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_ || dead_) return false;
  if (!stream_->Write(m)) {
    dead_ = true;
    return false;
  }
  return true;
}

void GrpcSession::CloseWrites() {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_) return;
  writes_closed_ = true;
  if (!dead_) stream_->WritesDone();
}

void GrpcSession::Handle(const pb::CoordinatorMessage& m) {
  switch (m.msg_case()) {
    case pb::CoordinatorMessage::kTask: {
      TaskSpec spec;
      absl::Status valid = fleetproto::FromProto(m.task(), &spec);
      session_->OnTask(std::move(spec), valid);
      break;
    }
    case pb::CoordinatorMessage::kCancel:
      session_->OnCancel(fleetproto::FromProto(m.cancel()));
      break;
    case pb::CoordinatorMessage::kHeartbeatAck:
      session_->OnHeartbeatAck(m.heartbeat_ack().seq());
      break;
    case pb::CoordinatorMessage::kNoMoreTasks:
      session_->OnNoMoreTasks();
      break;
    case pb::CoordinatorMessage::kShutdown:
      session_->OnShutdown(m.shutdown().reason());
      break;
    default:
      break;
  }
}

void GrpcSession::HeartbeatLoop() {
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_heartbeat_; };
  while (true) {
    absl::Duration wait = session_->NextHeartbeat() - absl::Now();
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopped), wait)) return;
    }
    session_->Tick(absl::Now());
  }
}

}  // namespace

void StopRequest::Request(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (requested_) return;
  requested_ = true;
  reason_ = reason;
  if (callback_) callback_(reason_);
}

bool StopRequest::requested() const {
  absl::MutexLock lock(&mu_);
  return requested_;
}

bool StopRequest::WaitFor(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&requested_), timeout);
}

void StopRequest::OnRequest(std::function<void(const std::string&)> callback) {
  absl::MutexLock lock(&mu_);
  callback_ = std::move(callback);
  if (requested_ && callback_) callback_(reason_);
}

int RunWorker(const WorkerClientOptions& opts, StopRequest* stop) {
  absl::Time window_start = absl::Now();
  absl::Duration backoff = opts.initial_backoff;
  while (true) {
    if (stop != nullptr && stop->requested()) {
      LOG(INFO) << "stopped on request";
      return kWorkerStopped;
    }
    auto channel = rpc::MakeChannel(opts.coordinator, opts.tls);
    SessionEnd end;
    bool welcomed;
    {
      GrpcSession session(channel, opts, stop);
      end = session.Run();
      welcomed = session.welcomed();
    }
    if (stop != nullptr && stop->requested()) {
      LOG(INFO) << "stopped on request: its accounts went back to the coordinator";
      return kWorkerStopped;
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
    absl::Duration wait = std::min(backoff, left);  // backoff, cut short by a stop request
    if (stop != nullptr) {
      stop->WaitFor(wait);
    } else {
      absl::SleepFor(wait);
    }
    backoff = std::min(backoff * 2, opts.max_backoff);
  }
}

}  // namespace worker
