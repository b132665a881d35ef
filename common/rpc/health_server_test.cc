#include "common/rpc/health_server.h"

#include <string>
#include <vector>

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace rpc {
namespace {

// One unary call by method name, without generated stubs: the status, and the reply.
grpc::Status Call(const std::string& address, const std::string& method,
                  const google::protobuf::Message& request, google::protobuf::Message* reply) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request.SerializeAsString());
  grpc::ByteBuffer in(&slice, 1);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, method, in, &cq);
  call->StartCall();
  grpc::ByteBuffer out;
  grpc::Status status;
  call->Finish(&out, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  std::vector<grpc::Slice> slices;
  if (status.ok() && out.Dump(&slices).ok()) {
    std::string bytes;
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    reply->ParseFromString(bytes);
  }
  return status;
}

TEST(HealthServerTest, ServesHealthOnlyAndFollowsSetServing) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();  // as the coordinator does
  auto server = HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse reply;
  ASSERT_TRUE(Call(address, "/grpc.health.v1.Health/Check", request, &reply).ok());
  EXPECT_EQ(reply.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  (*server)->SetServing(false);
  ASSERT_TRUE(Call(address, "/grpc.health.v1.Health/Check", request, &reply).ok());
  EXPECT_EQ(reply.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

  // Nothing else: not the status API, not reflection (registered process-wide here).
  grpc::health::v1::HealthCheckResponse unused;
  EXPECT_EQ(Call(address, "/migrator.v1.StatusService/GetStatus", request, &unused).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call(address, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", request,
                 &unused)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(HealthServerTest, AddressInUseIsUnavailable) {
  auto first = HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  auto second = HealthServer::Start((*first)->address());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

}  // namespace
}  // namespace rpc
