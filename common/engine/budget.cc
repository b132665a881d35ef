#include "common/engine/budget.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace engine {
namespace {

constexpr char kBudgetPayload[] = "type.googleapis.com/migrator.BudgetSpent";

}  // namespace

ByteBudget::ByteBudget(uint64_t limit, uint64_t spent_before, absl::Time resume_at)
    : limit_(limit), spent_before_(spent_before), resume_at_(resume_at) {}

bool ByteBudget::Take(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (limit_ == 0) {
    used_ += bytes;
    return true;
  }
  if (stopped_) return false;
  const uint64_t spent = spent_before_ + used_;
  const bool fits = spent <= limit_ && bytes <= limit_ - spent;
  if (!fits && spent > 0) {
    stopped_ = true;
    return false;
  }
  used_ += bytes;  // fits, or the first message of an untouched window
  return true;
}

void ByteBudget::Return(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  used_ -= std::min(bytes, used_);
}

bool ByteBudget::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

uint64_t ByteBudget::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

absl::Status ByteBudget::SpentStatus() const {
  uint64_t spent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spent = spent_before_ + used_;
  }
  absl::Status st = absl::ResourceExhaustedError(absl::StrCat(
      "byte budget spent (", spent, " of ", limit_, " bytes in this window); resumes at ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", resume_at_, absl::UTCTimeZone())));
  st.SetPayload(kBudgetPayload, absl::Cord(absl::StrCat(absl::ToUnixMillis(resume_at_))));
  return st;
}

bool IsBudgetStop(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kBudgetPayload).has_value();
}

}  // namespace engine
