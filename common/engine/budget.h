// The byte budget of one account run (README "Budgets"): `bytes_per_day` over a window the
// coordinator keeps (it hands the run the limit, what earlier runs spent in the window, and
// when the window reopens). Every message takes its size before it moves (export: as its
// body begins; import: before its APPEND is sent); the first message that does not fit
// stops the budget, and from then on nothing fits: the run ends at a clean point (between
// messages) with SpentStatus(), nothing half-done counted (a message taken that does not
// move whole gives its bytes back). A message larger than the whole budget fits alone in a
// window nothing was spent in yet, else it could never move.
//
// Thread-safety: every method may be called from several threads at once.
#ifndef MIGRATOR_COMMON_ENGINE_BUDGET_H_
#define MIGRATOR_COMMON_ENGINE_BUDGET_H_

#include <cstdint>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace engine {

class ByteBudget {
 public:
  // `limit` 0: no budget (everything fits, nothing stops).
  ByteBudget(uint64_t limit, uint64_t spent_before, absl::Time resume_at);

  bool limited() const { return limit_ > 0; }
  // Takes `bytes` for one message about to move; false once the budget is stopped (this
  // message did not fit, or an earlier one did not).
  bool Take(uint64_t bytes);
  // Gives back bytes taken for a message that did not move whole.
  void Return(uint64_t bytes);
  bool stopped() const;
  // Bytes this run took (and kept).
  uint64_t used() const;
  absl::Time resume_at() const { return resume_at_; }
  // kResourceExhausted "byte budget spent (S of L bytes in this window); resumes at T",
  // marked so that IsBudgetStop recognises it (also once annotated).
  absl::Status SpentStatus() const;

 private:
  const uint64_t limit_;
  const uint64_t spent_before_;
  const absl::Time resume_at_;
  mutable std::mutex mu_;
  uint64_t used_ = 0;
  bool stopped_ = false;
};

// True for a status made by ByteBudget::SpentStatus (annotations keep the mark).
bool IsBudgetStop(const absl::Status& status);

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_BUDGET_H_
