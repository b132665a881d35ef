#include "coordinator/app/exit_codes.h"

#include "gtest/gtest.h"

namespace coordinator {
namespace {

JobSnapshot Sample() {
  JobSnapshot s;
  AccountView ok;
  ok.task.email = "a@example.com";
  ok.task.state = TaskState::kSucceeded;
  AccountView bad;
  bad.task.email = "b@example.com";
  bad.task.state = TaskState::kFailed;
  s.accounts = {ok, bad};
  return s;
}

TEST(ExitCodesTest, JobOutcome) {
  EXPECT_EQ(ExitCodeFor(Sample()), kExitAccountsFailed);
  EXPECT_EQ(JobOutcome(Sample()).message(), "1 of 2 account(s) not ok");
  JobSnapshot s = Sample();
  s.accounts.pop_back();
  EXPECT_EQ(ExitCodeFor(s), kExitOk);
}

TEST(ExitCodesTest, StatusCodes) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::AbortedError("")), kExitAccountsFailed);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), kExitInternal);
  EXPECT_EQ(ExitCodeFor(absl::UnknownError("")), kExitInternal);
}

}  // namespace
}  // namespace coordinator
