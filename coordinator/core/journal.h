// The seam between the job and its durable state: Job reports every state
// transition of an account here (under its lock, in order). The SQLite
// implementation is StateStore (state_store.h); tests may record calls. No
// secrets ever pass through it.
//
// Thread-safety: Job serialises calls. Implementations must not call back into
// Job. A failing write is the implementation's to log: the job goes on (the
// engine is idempotent, so the cost of a lost record is redone work).
#ifndef MIGRATOR_COORDINATOR_CORE_JOURNAL_H_
#define MIGRATOR_COORDINATOR_CORE_JOURNAL_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "coordinator/core/scheduler.h"

namespace coordinator {

// Throttling counters (engine::AccountResult's): time paused by throttles and caps, how
// many, connections opened again.
struct ThrottleTotals {
  uint64_t throttled_ms = 0, throttles = 0, reconnects = 0;
  ThrottleTotals& operator+=(const ThrottleTotals& o) {
    throttled_ms += o.throttled_ms;
    throttles += o.throttles;
    reconnects += o.reconnects;
    return *this;
  }
};

// What an account's row holds beyond its TaskInfo: the last attempt's messages, bytes and
// skipped; the throttling summed over every attempt of the job (earlier runs included).
struct AccountTotals {
  uint64_t messages = 0, bytes = 0, skipped = 0;
  ThrottleTotals throttling;
};

// One account's durable row, as found when a job is resumed.
struct StoredAccount {
  int index = 0;
  std::string email;
  TaskState state = TaskState::kPending;  // running/unknown read as pending
  uint32_t attempts = 0;                  // over every run
  std::string last_error;
  std::string worker_id;
  uint64_t epoch = 0;
  uint64_t size = 0;
  AccountTotals totals;
  // Its byte budget (README "Budgets"): the window, what was spent in it, and until when it
  // was parked. InfinitePast / 0 when none.
  absl::Time window_start = absl::InfinitePast();
  uint64_t budget_spent = 0;
  absl::Time parked_until = absl::InfinitePast();
};

class JobJournal {
 public:
  virtual ~JobJournal() = default;
  // After any change of `task` (assigned, requeued, finished, size learnt).
  // `terminal` is true when the task reached a final state: the write must be
  // durable before this returns (a coordinator killed right after keeps it).
  virtual void Record(const TaskInfo& task, const AccountTotals& totals, bool terminal) = 0;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_CORE_JOURNAL_H_
