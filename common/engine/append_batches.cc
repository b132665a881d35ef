#include "common/engine/append_batches.h"

#include "absl/strings/str_cat.h"
#include "common/imap/reply_class.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

bool IsKeywordRefusal(const absl::Status& st) {
  auto info = imap::ReplyOf(st);
  return info && info->cls == imap::ReplyClass::kMessageRefused &&
         info->refusal == imap::Refusal::kKeywords;
}

// One item refused on its own: retried once without the keywords the target cannot keep
// when that is the reason, else recorded.
absl::Status HandleRefusal(const AppendCallbacks& cb, size_t item, const absl::Status& why) {
  if (IsKeywordRefusal(why) && cb.drop_keywords && cb.drop_keywords(item, why)) {
    ASSIGN_OR_RETURN(SendResult again, cb.send({item}, /*one_by_one=*/true));
    if (again.statuses.size() != 1) return absl::InternalError("send: one status per item");
    const absl::Status& st = again.statuses[0];
    if (st.ok()) {
      cb.appended(item);
      return absl::OkStatus();
    }
    if (!imap::IsMessageRefused(st)) return st;
    cb.refused(item, st);
    return absl::OkStatus();
  }
  cb.refused(item, why);
  return absl::OkStatus();
}

// Per-item outcomes of a send that was not all or nothing.
absl::Status Settle(const AppendCallbacks& cb, const std::vector<size_t>& items,
                    const SendResult& r) {
  absl::Status first_error;
  for (size_t k = 0; k < items.size(); ++k) {
    const absl::Status& st = r.statuses[k];
    if (st.ok()) {
      cb.appended(items[k]);
    } else if (imap::IsMessageRefused(st)) {
      absl::Status h = HandleRefusal(cb, items[k], st);
      if (!h.ok() && first_error.ok()) first_error = h;
    } else if (first_error.ok()) {
      first_error = st;
    }
  }
  return first_error;
}

absl::Status SendBatch(const AppendCallbacks& cb, const std::vector<size_t>& items) {
  ASSIGN_OR_RETURN(SendResult r, cb.send(items, /*one_by_one=*/false));
  if (r.statuses.size() != items.size()) return absl::InternalError("send: one status per item");
  if (!r.atomic) return Settle(cb, items, r);
  const absl::Status& st = r.statuses[0];
  if (st.ok()) {
    for (size_t item : items) cb.appended(item);
    return absl::OkStatus();
  }
  if (!imap::IsMessageRefused(st)) return st;
  if (items.size() == 1) return HandleRefusal(cb, items[0], st);
  // All or nothing: none of the batch is on B. Each message on its own finds the refused.
  ASSIGN_OR_RETURN(SendResult each, cb.send(items, /*one_by_one=*/true));
  if (each.statuses.size() != items.size() || each.atomic) {
    return absl::InternalError("send one by one: one status per item");
  }
  return Settle(cb, items, each);
}

}  // namespace

absl::Status AppendInBatches(const std::vector<uint64_t>& sizes, const BatchLimits& limits,
                             const AppendCallbacks& callbacks) {
  size_t i = 0;
  while (i < sizes.size()) {
    if (callbacks.cancelled && callbacks.cancelled()) return absl::CancelledError("cancelled");
    std::vector<size_t> batch;
    uint64_t bytes = 0;
    bool turned_away = false;
    for (; i < sizes.size() && batch.size() < limits.max_messages &&
           (batch.empty() || bytes + sizes[i] <= limits.max_bytes);
         ++i) {
      if (callbacks.admit && !callbacks.admit(i)) {
        turned_away = true;
        break;
      }
      batch.push_back(i);
      bytes += sizes[i];
    }
    if (!batch.empty()) RETURN_IF_ERROR(SendBatch(callbacks, batch));
    if (turned_away) {
      return callbacks.stop ? callbacks.stop() : absl::ResourceExhaustedError("not admitted");
    }
  }
  return absl::OkStatus();
}

}  // namespace engine::internal
