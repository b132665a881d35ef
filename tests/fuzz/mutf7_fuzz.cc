// Fuzz target for modified UTF-7 (common/imap/mutf7.h). Invariants, any
// violation aborts:
//  - Mutf7ToUtf8(x) ok  =>  Utf8ToMutf7(that) ok and == x (strict decoding =
//  canonical);
//  - Utf8ToMutf7(x) ok  =>  the result is printable US-ASCII and
//  Mutf7ToUtf8(it) == x;
//  - every error is kInvalidArgument.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/imap/mutf7.h"

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "mutf7_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void CheckError(const absl::Status& status) {
  Check(status.ok() || status.code() == absl::StatusCode::kInvalidArgument,
        "error is not kInvalidArgument");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::string> decoded = imap::Mutf7ToUtf8(input);
  CheckError(decoded.status());
  if (decoded.ok()) {
    absl::StatusOr<std::string> again = imap::Utf8ToMutf7(*decoded);
    Check(again.ok(), "decoded text does not encode");
    Check(*again == input, "decode then encode is not the identity");
  }

  absl::StatusOr<std::string> encoded = imap::Utf8ToMutf7(input);
  CheckError(encoded.status());
  if (encoded.ok()) {
    for (char c : *encoded) Check(c >= 0x20 && c <= 0x7e, "encoding not printable");
    absl::StatusOr<std::string> back = imap::Mutf7ToUtf8(*encoded);
    Check(back.ok(), "encoded text does not decode");
    Check(*back == input, "encode then decode is not the identity");
  }
  return 0;
}
