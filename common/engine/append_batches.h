// Import's append plan, I/O-free: messages go to server B in batches (MULTIAPPEND, all or
// nothing per RFC 3502); a batch refused for one message's sake is sent again one message
// per APPEND, so the refused ones are found and every other one goes in exactly once.
// Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_APPEND_BATCHES_H_
#define MIGRATOR_COMMON_ENGINE_APPEND_BATCHES_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace engine::internal {

struct BatchLimits {
  size_t max_messages = 50;
  uint64_t max_bytes = 8 * 1024 * 1024;  // a single larger message is a batch of its own
};

// What one send did: a status per item, and whether the items went in one command that
// is all or nothing (MULTIAPPEND: a refusal then means none of them was appended).
struct SendResult {
  std::vector<absl::Status> statuses;
  bool atomic = false;
};

struct AppendCallbacks {
  // Sends `items` (indices into the caller's messages): in one MULTIAPPEND when offered
  // and `one_by_one` is false, else one APPEND per item (pipelined). An error return
  // means the session broke.
  std::function<absl::StatusOr<SendResult>(const std::vector<size_t>& items, bool one_by_one)> send;
  std::function<void(size_t item)> appended;
  std::function<void(size_t item, const absl::Status& why)> refused;
  // A refusal for too many keywords (imap::Refusal::kKeywords, `why`): strip what the
  // target cannot keep from the item and return true to send it once more; false when
  // there is nothing to strip (the item is then refused).
  std::function<bool(size_t item, const absl::Status& why)> drop_keywords;
  std::function<bool()> cancelled;  // may be empty
  // Asked once per item before it joins a batch (the byte budget, the message pace): false
  // ends the call before that item with `stop()`'s status, once the batch built so far is
  // sent. Both may be empty (every item is admitted).
  std::function<bool(size_t item)> admit;
  std::function<absl::Status()> stop;
};

// Appends items 0..sizes.size()-1 in order. A refused message (imap::IsMessageRefused) is
// reported through `refused` and skipped; any other failure ends the call with that
// failure (what was appended before it has been reported through `appended`), and so does
// an item `admit` turns away (with `stop()`).
absl::Status AppendInBatches(const std::vector<uint64_t>& sizes, const BatchLimits& limits,
                             const AppendCallbacks& callbacks);

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_APPEND_BATCHES_H_
