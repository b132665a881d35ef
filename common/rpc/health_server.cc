#include "common/rpc/health_server.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/reactor_order.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"

namespace rpc {
namespace {

// Drops the process-wide builder plugins (server reflection registers one): this
// endpoint serves health and nothing else.
class NoPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

// Answers every method but health with UNIMPLEMENTED. gRPC needs a callback service (or a
// polled completion queue) on a server whose only service is the built-in health one.
class Unimplemented final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() {
        rpc::ReactorStep step(this);
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "health only"));
      }
      void OnDone() override {
        rpc::ReactorDone(this);
        delete this;
      }
    };
    return new Reactor;
  }
};

}  // namespace

struct HealthServer::Impl {
  Unimplemented unimplemented;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

HealthServer::HealthServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HealthServer::~HealthServer() {
  impl_->server->Shutdown(std::chrono::system_clock::now());
  impl_->server->Wait();
}

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& address) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<NoPlugins>());
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a taken port is an error
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  auto impl = std::make_unique<Impl>();
  builder.RegisterCallbackGenericService(&impl->unimplemented);
  impl->server = builder.BuildAndStart();
  bool unix_socket = absl::StartsWith(address, "unix:");
  if (impl->server == nullptr || (!unix_socket && port == 0)) {
    return absl::UnavailableError(absl::StrCat("cannot serve health on ", address));
  }
  impl->address =
      unix_socket ? address : absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
  return std::unique_ptr<HealthServer>(new HealthServer(std::move(impl)));
}

const std::string& HealthServer::address() const { return impl_->address; }

void HealthServer::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = impl_->server->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(serving);
}

}  // namespace rpc
