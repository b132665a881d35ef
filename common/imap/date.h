// IMAP date-time ("17-Jul-1996 02:44:25 -0700", RFC 3501 §9) to and from absl::Time.
#ifndef MIGRATOR_COMMON_IMAP_DATE_H_
#define MIGRATOR_COMMON_IMAP_DATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace imap {

// Parses an INTERNALDATE; the day may be space-padded (" 7-Jul-1996"). kInvalidArgument
// when malformed.
absl::StatusOr<absl::Time> ParseInternalDate(absl::string_view text);

// Parses the usual forms of a message's Date: header field (RFC 5322 §3.3): an optional
// "Day," then "d Mon yyyy hh:mm[:ss] zone", the zone numeric or UT/UTC/GMT/Z, a trailing
// comment ignored. kInvalidArgument otherwise (obsolete zone names such as "EST" too).
absl::StatusOr<absl::Time> ParseMessageDate(absl::string_view text);

// Formats `t` in UTC as an IMAP date-time: "07-Jul-1996 09:44:25 +0000".
std::string FormatInternalDate(absl::Time t);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_DATE_H_
