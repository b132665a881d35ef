// Human-readable, deterministic renderings of parsed IMAP responses, for logs,
// tests and fuzz targets. Strings are quoted with non-printable bytes escaped;
// a streamed literal shows as {N}~streamed. Equal renderings mean equal values.
#ifndef MIGRATOR_COMMON_IMAP_PARSER_DEBUG_H_
#define MIGRATOR_COMMON_IMAP_PARSER_DEBUG_H_

#include <string>

#include "common/imap/parser.h"

namespace imap {

std::string DebugString(const Value& value);
std::string DebugString(const Response& response);
// kLiteralData shows the chunk's bytes (escaped); kNeedMore shows "need-more".
std::string DebugString(const Event& event);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_PARSER_DEBUG_H_
