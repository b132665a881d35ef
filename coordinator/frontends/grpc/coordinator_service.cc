// gRPC adapter only: stream events → Job calls, Job snapshots → status
// messages.
#include "coordinator/frontends/grpc/coordinator_service.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/rpc/reactor_order.h"
#include "coordinator/frontends/grpc/authorize.h"
#include "coordinator/frontends/grpc/status_service.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "proto/convert.h"

namespace coordinator {
namespace {

namespace pb = ::migrator::v1;

uint64_t LeaseMs(const Job* job) {
  return static_cast<uint64_t>(absl::ToInt64Milliseconds(job->options().lease_timeout));
}

// Mutual TLS: clients must present a certificate chained to the CA.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const rpc::TlsMaterial& tls) {
  if (!tls.tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls.ca_pem;
  ssl.pem_key_cert_pairs.push_back({tls.key_pem, tls.cert_pem});
  return grpc::SslServerCredentials(ssl);
}

// One worker's stream. Reads arrive on gRPC threads (one at a time); Job may
// call the WorkerLink methods from any thread: they only enqueue. Deletes
// itself in OnDone.
class SessionReactor : public grpc::ServerBidiReactor<pb::WorkerMessage, pb::CoordinatorMessage>,
                       public WorkerLink {
 public:
  explicit SessionReactor(Job* job) : job_(job) {
    rpc::ReactorStep step(this);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    rpc::ReactorStep step(this);
    if (!ok) {
      PeerGone();
      return;
    }
    if (Handle(in_)) StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    rpc::ReactorStep step(this);
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

  void OnDone() override {
    rpc::ReactorDone(this);
    delete this;
  }

  // WorkerLink
  void SendTask(const TaskOrder& o) override {
    pb::CoordinatorMessage m;
    fleetproto::ToProto(o, m.mutable_task());
    m.mutable_task()->set_lease_ms(LeaseMs(job_));
    Enqueue(std::move(m));
  }
  void SendCancel(uint64_t task_id, uint64_t epoch, const std::string& reason) override {
    pb::CoordinatorMessage m;
    fleetproto::ToProto(fleetproto::CancelRequest{task_id, epoch, reason}, m.mutable_cancel());
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
  void SendHeartbeatAck(uint64_t seq) override {
    pb::CoordinatorMessage m;
    m.mutable_heartbeat_ack()->set_seq(seq);
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
        job_->Heartbeat(worker_id_, m.heartbeat().seq(),
                        fleetproto::LeasesFromProto(m.heartbeat()));
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
    WorkerHello hello = fleetproto::FromProto(m.register_());
    // Welcome goes first in the queue, before anything Job may send once
    // connected.
    pb::CoordinatorMessage w;
    fleetproto::ToProto(fleetproto::SessionTerms{job_->options().job_id,
                                                 HeartbeatInterval(job_->options().lease_timeout),
                                                 job_->options().lease_timeout},
                        w.mutable_welcome());
    w.mutable_welcome()->set_mode(fleetproto::ToProto(job_->options().mode));
    w.mutable_welcome()->set_worker_id(hello.worker_id);
    Enqueue(std::move(w));
    absl::Status st = job_->Connect(hello, this);
    if (!st.ok()) {
      LOG(WARNING) << "refused worker '" << hello.worker_id << "': " << st.message();
      {
        absl::MutexLock lock(&mu_);
        if (!writing_) out_.clear();  // do not send the Welcome if not sent yet
      }
      Refuse(grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message())));
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
    if (!worker_id_.empty()) job_->Disconnect(worker_id_, this);  // no Send* after this
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
    rpc::ReactorStep step(this);  // Job calls this from its threads
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
  std::string worker_id_;  // set once registered; touched only by read callbacks
  absl::Mutex mu_;
  std::deque<pb::CoordinatorMessage> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// A worker session refused before its first message (the caller's certificate is not a
// worker's): finishes at once with that status.
class RefusedSession : public grpc::ServerBidiReactor<pb::WorkerMessage, pb::CoordinatorMessage> {
 public:
  explicit RefusedSession(const grpc::Status& status) {
    rpc::ReactorStep step(this);
    Finish(status);
  }
  void OnDone() override {
    rpc::ReactorDone(this);
    delete this;
  }
};

class CoordinatorServiceImpl final : public pb::Coordinator::CallbackService {
 public:
  explicit CoordinatorServiceImpl(Job* job) : job_(job) {}
  grpc::ServerBidiReactor<pb::WorkerMessage, pb::CoordinatorMessage>* WorkerSession(
      grpc::CallbackServerContext* context) override {
    // Tasks carry account passwords: only a worker's certificate may receive them.
    grpc::Status allowed = Authorize(*context, rpc::PeerRole::kWorker);
    if (!allowed.ok()) return new RefusedSession(allowed);
    return new SessionReactor(job_);
  }

 private:
  Job* const job_;
};

}  // namespace

struct CoordinatorServer::Impl {
  Impl(Job* job, StatusTracker* tracker) : workers(job), status(NewStatusService(job, tracker)) {}
  CoordinatorServiceImpl workers;
  std::unique_ptr<grpc::Service> status;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::string> addresses;
};

CoordinatorServer::CoordinatorServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CoordinatorServer::~CoordinatorServer() { Shutdown(absl::ZeroDuration()); }

const std::string& CoordinatorServer::address() const { return impl_->addresses.front(); }

const std::string& CoordinatorServer::address(size_t i) const { return impl_->addresses.at(i); }

size_t CoordinatorServer::endpoints() const { return impl_->addresses.size(); }

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const std::vector<Endpoint>& endpoints, Job* job, StatusTracker* tracker) {
  grpc::EnableDefaultHealthCheckService(true);
  // Puts grpc.health.v1 in the descriptor pool, so reflection describes the health
  // service (the reference also keeps the generated file linked in).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto impl = std::make_unique<Impl>(job, tracker);
  grpc::ServerBuilder builder;
  std::vector<int> ports(endpoints.size(), 0);
  for (size_t i = 0; i < endpoints.size(); ++i) {
    builder.AddListeningPort(endpoints[i].address, ServerCredentials(endpoints[i].tls), &ports[i]);
  }
  builder.RegisterService(&impl->workers);
  builder.RegisterService(impl->status.get());
  impl->server = builder.BuildAndStart();
  std::string all;
  for (const Endpoint& e : endpoints) all += (all.empty() ? "" : ", ") + e.address;
  if (impl->server == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", all));
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string& a = endpoints[i].address;
    if (absl::StartsWith(a, "unix:")) {
      impl->addresses.push_back(a);
    } else if (ports[i] == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", a));
    } else {
      impl->addresses.push_back(absl::StrCat(a.substr(0, a.rfind(':')), ":", ports[i]));
    }
  }
  return std::unique_ptr<CoordinatorServer>(new CoordinatorServer(std::move(impl)));
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  if (impl_->server == nullptr) return;
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace coordinator
