// IMAP sequence sets ("1:5,7,9:12"): formatting and bounded parsing. No I/O.
#ifndef MIGRATOR_COMMON_IMAP_SEQUENCE_SET_H_
#define MIGRATOR_COMMON_IMAP_SEQUENCE_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imap {

// Compact form of ascending, distinct `uids`: "1:3,7,9:10". Empty for none.
std::string FormatSequenceSet(const std::vector<uint32_t>& uids);

// Expands "304,319:320" (no "*") into numbers in the order given; kInvalidArgument when
// malformed or when it would expand to more than `max_count` numbers.
absl::StatusOr<std::vector<uint32_t>> ParseSequenceSet(absl::string_view set, size_t max_count);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_SEQUENCE_SET_H_
