// gRPC adapter only: stream events → Job calls, Job snapshots → status
// messages.
#include "coordinator/coordinator_service.h"

#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/convert.h"

namespace coordinator {
namespace {

namespace pb = ::migrator::v1;

constexpr uint32_t kHeartbeatIntervalMs = 5000;

// One worker's stream. Reads arrive on gRPC threads (one at a time); Job may
// call the WorkerLink methods from any thread: they only enqueue. Deletes
// itself in OnDone.
class SessionReactor
    : public grpc::ServerBidiReactor<pb::WorkerMessage, pb::CoordinatorMessage>,
      public WorkerLink {
 public:
  explicit SessionReactor(Job* job) : job_(job) { StartRead(&in_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      PeerGone();
      return;
    }
    if (Handle(in_)) StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    const pb::CoordinatorMessage* next = nullptr;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      out_.pop_front();
      if (!ok) out_.clear();
      if (!out_.empty()) next = &out_.front();  // stays valid: deque push_back
      writing_ = next != nullptr;
      finish = next == nullptr && finish_pending_;
    }
    if (next != nullptr) StartWrite(next);
    if (finish) DoFinish(grpc::Status::OK);
  }

  void OnDone() override { delete this; }

  // WorkerLink
  void SendTask(const TaskOrder& o) override {
    pb::CoordinatorMessage m;
    pb::Task* t = m.mutable_task();
    t->set_task_id(o.task_id);
    t->set_epoch(o.epoch);
    t->set_attempt(o.attempt);
    t->set_mode(fleetproto::ToProto(o.task.mode));
    fleetproto::ToProto(o.task.server, t->mutable_server());
    fleetproto::ToProto(o.task.account, t->mutable_account());
    t->set_data_location(o.data_location);
    t->set_resync_missing(o.task.resync_missing);
    t->set_min_free_gb(o.task.min_free_gb);
    Enqueue(std::move(m));
  }
  void SendCancel(uint64_t task_id, uint64_t epoch,
                  const std::string& reason) override {
    pb::CoordinatorMessage m;
    m.mutable_cancel()->set_task_id(task_id);
    m.mutable_cancel()->set_epoch(epoch);
    m.mutable_cancel()->set_reason(reason);
    Enqueue(std::move(m));
  }
  void SendNoMoreTasks() override {
    pb::CoordinatorMessage m;
    m.mutable_no_more_tasks();
    Enqueue(std::move(m));
  }
  void SendShutdown(const std::string& reason) override {
    pb::CoordinatorMessage m;
    m.mutable_shutdown()->set_reason(reason);
    Enqueue(std::move(m));
  }

 private:
  // False when the stream is being finished (no further read).
  bool Handle(const pb::WorkerMessage& m) {
    if (worker_id_.empty()) return HandleRegister(m);
    switch (m.msg_case()) {
      case pb::WorkerMessage::kRequestTask:
        job_->RequestTask(worker_id_);
        break;
      case pb::WorkerMessage::kHeartbeat:
        job_->Heartbeat(worker_id_);
        break;
      case pb::WorkerMessage::kProgress:
        job_->Progress(worker_id_, m.progress().task_id(), m.progress().epoch(),
                       fleetproto::FromProto(m.progress()));
        break;
      case pb::WorkerMessage::kResult:
        job_->Result(worker_id_, m.result().task_id(), m.result().epoch(),
                     fleetproto::FromProto(m.result()),
                     absl::Milliseconds(m.result().elapsed_ms()));
        break;
      default:
        break;
    }
    return true;
  }

  bool HandleRegister(const pb::WorkerMessage& m) {
    if (!m.has_register_()) {
      Refuse(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "the first message of a session must be Register"));
      return false;
    }
    WorkerHello hello{m.register_().worker_id(), m.register_().host(),
                      m.register_().pid(), m.register_().max_parallel()};
    // Welcome goes first in the queue, before anything Job may send once
    // connected.
    pb::CoordinatorMessage w;
    w.mutable_welcome()->set_job_id(job_->options().job_id);
    w.mutable_welcome()->set_mode(fleetproto::ToProto(job_->options().mode));
    w.mutable_welcome()->set_worker_id(hello.worker_id);
    w.mutable_welcome()->set_heartbeat_interval_ms(kHeartbeatIntervalMs);
    Enqueue(std::move(w));
    absl::Status st = job_->Connect(hello, this);
    if (!st.ok()) {
      LOG(WARNING) << "refused worker '" << hello.worker_id
                   << "': " << st.message();
      {
        absl::MutexLock lock(&mu_);
        if (!writing_) out_.clear();  // do not send the Welcome if not sent yet
      }
      Refuse(grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                          std::string(st.message())));
      return false;
    }
    worker_id_ = hello.worker_id;
    return true;
  }

  void Refuse(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (writing_) {
        finish_pending_ = true;
        finish_status_ = status;
        return;
      }
    }
    DoFinish(status);
  }

  void PeerGone() {
    if (!worker_id_.empty())
      job_->Disconnect(worker_id_);  // no Send* after this
    Refuse(grpc::Status::OK);
  }

  void DoFinish(const grpc::Status& fallback) {
    grpc::Status st = fallback;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      if (finish_pending_) st = finish_status_;
    }
    Finish(st);
  }

  void Enqueue(pb::CoordinatorMessage m) {
    const pb::CoordinatorMessage* start = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || finish_pending_) return;
      out_.push_back(std::move(m));
      if (!writing_) start = &out_.front();  // stays valid: deque push_back
      writing_ = true;
    }
    if (start != nullptr) StartWrite(start);
  }

  Job* const job_;
  pb::WorkerMessage in_;
  std::string
      worker_id_;  // set once registered; touched only by read callbacks
  absl::Mutex mu_;
  std::deque<pb::CoordinatorMessage> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class CoordinatorServiceImpl final : public pb::Coordinator::CallbackService {
 public:
  explicit CoordinatorServiceImpl(Job* job) : job_(job) {}
  grpc::ServerBidiReactor<pb::WorkerMessage, pb::CoordinatorMessage>*
  WorkerSession(grpc::CallbackServerContext* /*context*/) override {
    return new SessionReactor(job_);
  }

 private:
  Job* const job_;
};

// ---------------------------------------------------------------- status views

pb::AccountState ToProto(TaskState s) {
  switch (s) {
    case TaskState::kPending:
      return pb::ACCOUNT_STATE_PENDING;
    case TaskState::kRunning:
      return pb::ACCOUNT_STATE_RUNNING;
    case TaskState::kSucceeded:
      return pb::ACCOUNT_STATE_SUCCEEDED;
    case TaskState::kFailed:
      return pb::ACCOUNT_STATE_FAILED;
    case TaskState::kCancelled:
      return pb::ACCOUNT_STATE_CANCELLED;
  }
  return pb::ACCOUNT_STATE_UNSPECIFIED;
}

uint64_t MsAgo(absl::Time now, absl::Time then) {
  if (then == absl::Time()) return 0;
  return static_cast<uint64_t>(absl::ToInt64Milliseconds(now - then));
}

void FillStatus(const JobSnapshot& s, pb::GetStatusResponse* out) {
  out->set_job_id(s.job_id);
  out->set_mode(fleetproto::ToProto(s.mode));
  out->set_finished(s.finished);
  out->set_stopping(s.stopping);
  out->set_stop_reason(s.stop_reason);
  out->set_accounts_total(s.accounts.size());
  out->set_accounts_pending(s.Count(TaskState::kPending));
  out->set_accounts_running(s.Count(TaskState::kRunning));
  out->set_accounts_succeeded(s.Count(TaskState::kSucceeded));
  out->set_accounts_failed(s.Count(TaskState::kFailed));
  out->set_accounts_cancelled(s.Count(TaskState::kCancelled));
  out->set_messages(s.TotalMessages());
  out->set_bytes(s.TotalBytes());
  out->set_workers_connected(s.ConnectedWorkers());
  out->set_elapsed_ms(MsAgo(s.now, s.started));
  for (const WorkerView& w : s.workers) {
    pb::WorkerInfo* wi = out->add_workers();
    wi->set_worker_id(w.hello.worker_id);
    wi->set_host(w.hello.host);
    wi->set_pid(w.hello.pid);
    wi->set_max_parallel(w.hello.max_parallel);
    wi->set_running(w.running);
    wi->set_connected_ms_ago(w.connected ? MsAgo(s.now, w.connected_at) : 0);
    wi->set_last_seen_ms_ago(MsAgo(s.now, w.last_seen));
  }
}

void FillAccount(const AccountView& a, pb::AccountStatus* out) {
  out->set_index(a.task.account_index);
  out->set_email(a.task.email);
  out->set_state(ToProto(a.task.state));
  out->set_worker_id(a.task.worker_id);
  out->set_attempts(a.task.attempts);
  out->set_last_error(a.task.last_error);
  out->set_current_folder(a.progress.folder);
  out->set_task_id(a.task.task_id);
  out->set_epoch(a.task.epoch);
  out->set_elapsed_ms(
      static_cast<uint64_t>(absl::ToInt64Milliseconds(a.elapsed)));
  pb::Counters* c = out->mutable_counters();
  c->set_folders_done(a.progress.folders_done);
  c->set_folders_total(a.progress.folders_total);
  c->set_messages_done(a.messages);
  c->set_messages_total(a.progress.messages_total);
  c->set_bytes_done(a.bytes);
  c->set_skipped(a.skipped);
  for (const engine::FolderResult& f : a.folders) {
    pb::FolderProgress* fp = out->add_folders();
    fp->set_name(f.name);
    fp->set_messages(f.transferred);
    fp->set_bytes(f.bytes);
    fp->set_error(f.error);
  }
}

class StatusServiceImpl final : public pb::StatusService::Service {
 public:
  explicit StatusServiceImpl(Job* job) : job_(job) {}

  grpc::Status GetStatus(grpc::ServerContext*, const pb::GetStatusRequest*,
                         pb::GetStatusResponse* out) override {
    FillStatus(job_->Snapshot(), out);
    return grpc::Status::OK;
  }

  grpc::Status ListAccounts(grpc::ServerContext*,
                            const pb::ListAccountsRequest* req,
                            pb::ListAccountsResponse* out) override {
    for (const AccountView& a : job_->Snapshot().accounts) {
      if (req->state() != pb::ACCOUNT_STATE_UNSPECIFIED &&
          ToProto(a.task.state) != req->state()) {
        continue;
      }
      FillAccount(a, out->add_accounts());
    }
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* ctx, const pb::WatchRequest* req,
                     grpc::ServerWriter<pb::WatchEvent>* writer) override {
    absl::Duration every = absl::Milliseconds(
        req->min_interval_ms() ? req->min_interval_ms() : 500);
    uint64_t sent_version = 0;
    while (!ctx->IsCancelled()) {
      JobSnapshot s = job_->Snapshot();
      pb::WatchEvent ev;
      FillStatus(s, ev.mutable_status());
      for (const AccountView& a : s.accounts) {
        if (a.version > sent_version) FillAccount(a, ev.add_changed());
      }
      if (!writer->Write(ev)) break;
      if (s.finished) break;
      sent_version = s.version;
      absl::SleepFor(every);  // rate limit between events, not synchronisation
      job_->WaitChange(s.version, absl::Seconds(1));
    }
    return grpc::Status::OK;
  }

 private:
  Job* const job_;
};

}  // namespace

struct CoordinatorServer::Impl {
  explicit Impl(Job* job) : workers(job), status(job) {}
  CoordinatorServiceImpl workers;
  StatusServiceImpl status;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

CoordinatorServer::CoordinatorServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

CoordinatorServer::~CoordinatorServer() { Shutdown(absl::ZeroDuration()); }

const std::string& CoordinatorServer::address() const { return impl_->address; }

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const std::string& address, Job* job) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto impl = std::make_unique<Impl>(job);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&impl->workers);
  builder.RegisterService(&impl->status);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  impl->address = address;
  if (!absl::StartsWith(address, "unix:")) {
    std::string host = address.substr(0, address.rfind(':'));
    impl->address = absl::StrCat(host, ":", port);
  }
  return std::unique_ptr<CoordinatorServer>(
      new CoordinatorServer(std::move(impl)));
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  if (impl_->server == nullptr) return;
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace coordinator
