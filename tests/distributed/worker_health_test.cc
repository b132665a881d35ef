// The worker process's health-only port and its stop on SIGTERM, with no coordinator up:
// while it retries within --retry-for it is SERVING (a probe must not kill a worker that
// waits for its coordinator), the port serves nothing but health, and SIGTERM ends it at
// once with 143.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/rpc/testing/unary_call.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

TEST(WorkerHealthTest, ServingWhileRetryingThenStopsOnSigterm) {
  const std::string dir = MakeTempDir();
  const std::string health = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
  Process w = Start({Binary("worker"), "--coordinator", "unix:" + dir + "/nobody.sock",
                     "--retry-for", "120s", "--health-listen", health},
                    dir, {}, "worker");
  HealthCheckResponse reply;
  ASSERT_TRUE(PollUntil(
      [&] {
        return rpc_testing::UnaryCall(health, "/grpc.health.v1.Health/Check", HealthCheckRequest(),
                                      &reply)
            .ok();
      },
      absl::Seconds(30)))
      << ReadFile(w.stderr_path);
  EXPECT_EQ(reply.status(), HealthCheckResponse::SERVING);
  HealthCheckResponse unused;
  EXPECT_EQ(rpc_testing::UnaryCall(health, "/migrator.v1.StatusService/GetStatus",
                                   HealthCheckRequest(), &unused)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  ASSERT_EQ(::kill(w.pid, SIGTERM), 0);
  EXPECT_EQ(Wait(w, absl::Seconds(30)), 143) << ReadFile(w.stderr_path);
}

}  // namespace
}  // namespace fleettest
