#include "coordinator/app/exit_codes.h"

#include "absl/strings/str_cat.h"

namespace coordinator {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kAborted:
      return kExitAccountsFailed;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
      return kExitUsage;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitEnvironment;
    default:
      return kExitInternal;
  }
}

absl::Status JobOutcome(const JobSnapshot& snapshot) {
  size_t not_ok = 0;
  for (const AccountView& a : snapshot.accounts) {
    if (a.task.state != TaskState::kSucceeded) ++not_ok;
  }
  if (not_ok == 0) return absl::OkStatus();
  return absl::AbortedError(
      absl::StrCat(not_ok, " of ", snapshot.accounts.size(), " account(s) not ok"));
}

int ExitCodeFor(const JobSnapshot& snapshot) { return ExitCodeFor(JobOutcome(snapshot)); }

}  // namespace coordinator
