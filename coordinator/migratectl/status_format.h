// migratectl's output: human tables built from the status API's messages (protobuf only,
// no gRPC), and its stable JSON, which proto/status_json.h formats (the coordinator's HTTP
// front end serves the same). Pure functions; thread-compatible.
#ifndef MIGRATOR_COORDINATOR_MIGRATECTL_STATUS_FORMAT_H_
#define MIGRATOR_COORDINATOR_MIGRATECTL_STATUS_FORMAT_H_

#include <string>

#include "common/text/bytes.h"
#include "proto/status_json.h"

namespace statusfmt {

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
