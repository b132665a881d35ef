// Modified UTF-7 mailbox names (RFC 3501 §5.1.3), both ways. Strict: decoding rejects
// non-canonical input (e.g. "&AGE-" for "a", an encoded "&", empty "&-" misuse, unpadded or
// non-zero trailing bits, adjacent encoded runs, invalid UTF-16 surrogates); encoding
// rejects invalid UTF-8. Errors are kInvalidArgument naming the offending position.
#ifndef MIGRATOR_COMMON_IMAP_MUTF7_H_
#define MIGRATOR_COMMON_IMAP_MUTF7_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imap {

absl::StatusOr<std::string> Utf8ToMutf7(absl::string_view utf8);
absl::StatusOr<std::string> Mutf7ToUtf8(absl::string_view mutf7);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_MUTF7_H_
