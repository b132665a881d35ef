// migratectl's output: human tables and stable JSON built from the status API's
// messages (protobuf only, no gRPC). Pure functions; thread-compatible.
//
// The JSON field names are a documented contract (README "Status API"):
// snake_case, numbers as JSON numbers, states and modes as lower-case words,
// durations in milliseconds ("*_ms"), an unknown ETA as null. New fields may
// be added; none is renamed or removed within v1.
#ifndef MIGRATOR_COORDINATOR_MIGRATECTL_STATUS_FORMAT_H_
#define MIGRATOR_COORDINATOR_MIGRATECTL_STATUS_FORMAT_H_

#include <string>

#include "common/text/bytes.h"
#include "google/protobuf/repeated_field.h"
#include "migrator/v1/migrator.pb.h"
#include "nlohmann/json.hpp"

namespace statusfmt {

namespace pb = ::migrator::v1;
using Accounts = google::protobuf::RepeatedPtrField<pb::AccountStatus>;

// "pending" | "running" | "succeeded" | "failed" | "cancelled" ("" for
// UNSPECIFIED).
const char* StateName(pb::AccountState state);
// Accepts those words (and "ok" for succeeded); false otherwise.
bool ParseState(const std::string& text, pb::AccountState* state);
const char* ModeName(pb::JobMode mode);

nlohmann::json StatusJson(const pb::GetStatusResponse& s);
nlohmann::json AccountJson(const pb::AccountStatus& a);
nlohmann::json AccountsJson(const Accounts& accounts);
// {"status": {...}, "changed": [...]}: one line of `watch --json` (JSON Lines).
nlohmann::json WatchEventJson(const pb::WatchEvent& e);

// Multi-line summary for people.
std::string StatusText(const pb::GetStatusResponse& s);
// One line per account, with a header.
std::string AccountsTable(const Accounts& accounts);
// One progress line, then one line per changed account that reached a final
// state or failed an attempt.
std::string WatchText(const pb::WatchEvent& e);

// "999 B", "12.3 MB": decimal units, as the coordinator's summary table.
using text::HumanBytes;
// "1h02m", "3m04s", "12s".
std::string HumanDuration(uint64_t ms);

}  // namespace statusfmt

#endif  // MIGRATOR_COORDINATOR_MIGRATECTL_STATUS_FORMAT_H_
