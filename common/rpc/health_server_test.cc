#include "common/rpc/health_server.h"

#include <string>
#include <vector>

#include "common/rpc/testing/unary_call.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace rpc {
namespace {

using rpc_testing::UnaryCall;

TEST(HealthServerTest, ServesHealthOnlyAndFollowsSetServing) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();  // as the coordinator does
  auto server = HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse reply;
  ASSERT_TRUE(UnaryCall(address, "/grpc.health.v1.Health/Check", request, &reply).ok());
  EXPECT_EQ(reply.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  (*server)->SetServing(false);
  ASSERT_TRUE(UnaryCall(address, "/grpc.health.v1.Health/Check", request, &reply).ok());
  EXPECT_EQ(reply.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

  // Nothing else: not the status API, not reflection (registered process-wide here).
  grpc::health::v1::HealthCheckResponse unused;
  EXPECT_EQ(
      UnaryCall(address, "/migrator.v1.StatusService/GetStatus", request, &unused).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(UnaryCall(address, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                      request, &unused)
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
