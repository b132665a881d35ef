// The status API's JSON: the status messages (migrator.v1 GetStatusResponse, AccountStatus,
// WatchEvent) as the stable JSON that `migratectl ... --json` prints and the coordinator's
// HTTP front end serves (/api/status, /api/accounts): one formatter for both. Pure
// functions over protobuf messages (no gRPC API); thread-compatible.
//
// The field names are a documented contract (README "Status API"): snake_case, numbers as
// JSON numbers, states and modes as lower-case words, durations in milliseconds ("*_ms"),
// an unknown ETA as null. New fields may be added; none is renamed or removed within v1.
#ifndef MIGRATOR_PROTO_STATUS_JSON_H_
#define MIGRATOR_PROTO_STATUS_JSON_H_

#include <string>

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
// "running" | "stopping" | "finished".
const char* JobState(const pb::GetStatusResponse& s);

nlohmann::json StatusJson(const pb::GetStatusResponse& s);
nlohmann::json AccountJson(const pb::AccountStatus& a);
nlohmann::json AccountsJson(const Accounts& accounts);
// {"status": {...}, "changed": [...]}: one line of `watch --json` (JSON Lines).
nlohmann::json WatchEventJson(const pb::WatchEvent& e);

}  // namespace statusfmt

#endif  // MIGRATOR_PROTO_STATUS_JSON_H_
