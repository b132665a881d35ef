// Small status helpers: Abseil 20220623 has no status macros of its own.
//
//   RETURN_IF_ERROR(expr);              returns the status of `expr` when not OK.
//   ASSIGN_OR_RETURN(lhs, expr);        evaluates StatusOr `expr`, returns its status
//                                       when not OK, else moves the value into `lhs`
//                                       (which may be a declaration: `auto x`).
//
// Error-code conventions (README "Architecture"): kUnavailable / kDeadlineExceeded are
// transient (the engine retries the step, the coordinator the account); kAborted retries
// the account (something changed under a read); kUnauthenticated fails the account without
// retry; kResourceExhausted is out of quota or disk, kInvalidArgument bad input, kDataLoss
// corrupt data (all three final).
#ifndef MIGRATOR_COMMON_STATUS_STATUS_MACROS_H_
#define MIGRATOR_COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define MIGRATOR_STATUS_CONCAT_INNER_(a, b) a##b
#define MIGRATOR_STATUS_CONCAT_(a, b) MIGRATOR_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                    \
  do {                                                           \
    ::absl::Status migrator_status_tmp_ = (expr);                \
    if (!migrator_status_tmp_.ok()) return migrator_status_tmp_; \
  } while (0)

#define MIGRATOR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  MIGRATOR_ASSIGN_OR_RETURN_IMPL_(MIGRATOR_STATUS_CONCAT_(migrator_statusor_, __LINE__), lhs, expr)

namespace status {

// `s` (not OK) with another message, keeping its code and payloads (the IMAP reply class
// rides in one).
inline absl::Status WithMessage(const absl::Status& s, absl::string_view message) {
  absl::Status out(s.code(), message);
  s.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}
// Returns `s` with `prefix: ` put before its message, keeping its code and payloads. OK
// stays OK.
inline absl::Status Annotate(const absl::Status& s, absl::string_view prefix) {
  if (s.ok()) return s;
  return WithMessage(s, absl::StrCat(prefix, ": ", s.message()));
}
// Returns `s` with ` (detail)` after its message, keeping its code and payloads. OK stays
// OK, and so does `s` when `detail` is empty.
inline absl::Status Detail(const absl::Status& s, absl::string_view detail) {
  if (s.ok() || detail.empty()) return s;
  return WithMessage(s, absl::StrCat(s.message(), " (", detail, ")"));
}

// True for codes a caller may retry the same step on (README "Architecture").
inline bool IsRetriable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace status

#endif  // MIGRATOR_COMMON_STATUS_STATUS_MACROS_H_
