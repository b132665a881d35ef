// Internals of the IMAP response parser (parser.h), shared by parser.cc and
// parser_tokenizer.cc. Not part of the public API: include only from those
// files and tests.
//
// The parser works in two stages. Framing (parser.cc) finds line ends
// incrementally and assembles one response: its line segments concatenated
// (CRLF removed) into one text, plus the literals announced at the end of
// segments (inline bytes kept aside, streamed ones handed out as events).
// Tokenizing (here) runs once over the complete text.
#ifndef MIGRATOR_COMMON_IMAP_PARSER_INTERNAL_H_
#define MIGRATOR_COMMON_IMAP_PARSER_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "common/imap/limits.h"
#include "common/imap/parser.h"

namespace imap {
namespace parser_internal {

// A literal of the response being assembled.
struct LiteralRecord {
  size_t end_pos = 0;  // offset in the response text just after the '}' of its marker
  bool streamed = false;
  uint64_t size = 0;
  size_t data_offset = 0;  // inline only: offset of its bytes in the literal data store
};

// `bytes` (at most `max_len` of them) made printable: \r \n \t \\ and \xHH
// escapes; "..." appended when truncated.
std::string Excerpt(absl::string_view bytes, size_t max_len);

// "IMAP response: <what> near \"<excerpt>\"", the excerpt starting a little
// before `pos`.
absl::Status ErrorAt(absl::StatusCode code, absl::string_view what, absl::string_view text,
                     size_t pos, size_t excerpt_len);

// ATOM-CHAR, leniently: any byte above SP except DEL, '(', ')', '{' and '"'.
// Flags ('\'), list wildcards, ']' and 8-bit bytes (UTF8=ACCEPT) are accepted.
bool IsAtomChar(unsigned char c);

// Parses a run of values (atoms, NIL, quoted strings, literals, nested lists)
// from a complete response text. Literal markers must match `literals` (in
// order); the bytes of inline ones are in `literal_data`. Linear in the text;
// no recursion.
class Tokenizer {
 public:
  // `literals` may be null (no literals allowed). All referenced data must
  // outlive Parse().
  Tokenizer(absl::string_view text, const Limits& limits,
            const std::vector<LiteralRecord>* literals, absl::string_view literal_data);

  // Appends the values of text[start..] to `out`.
  absl::Status Parse(size_t start, std::vector<Value>* out);

 private:
  absl::Status Error(absl::StatusCode code, absl::string_view what) const;
  // End of the current line segment: the next literal's end or the end of the
  // text.
  size_t Bound() const;
  absl::Status CountValue();
  absl::Status OpenList(std::vector<Value>* open);
  absl::Status ExpectSeparator() const;
  absl::StatusOr<Value> ParseScalar();
  absl::StatusOr<Value> ParseQuoted();
  absl::StatusOr<Value> ParseLiteral();
  absl::StatusOr<Value> ParseAtom();
  absl::Status SkipBracket(size_t bound);

  absl::string_view text_;
  const Limits& limits_;
  const std::vector<LiteralRecord>* literals_;
  absl::string_view literal_data_;
  size_t pos_ = 0;
  size_t next_literal_ = 0;
  size_t values_ = 0;
};

// What the first line of a response says.
struct Header {
  ResponseType type = ResponseType::kUntagged;
  std::string tag;
  StatusKind status = StatusKind::kNone;
  absl::optional<uint64_t> number;
  std::string name;  // data responses, upper-cased
  size_t rest = 0;   // offset of what follows the status word, the name, or "+ "
};

// Parses the first line segment of a response. kDataLoss when it is not a
// response.
absl::StatusOr<Header> ParseHeader(absl::string_view line, const Limits& limits);

// Fills response->code and response->text from the text after the status word
// (or "+").
void ParseStatusText(absl::string_view rest, const Limits& limits, Response* response);

// A literal marker ("{n}", "{n+}", "~{n}") ending a line segment.
struct LiteralMarker {
  bool present = false;
  uint64_t size = 0;
  size_t begin = 0;  // offset of its '{' (or '~')
};

// Finds the marker at the end of `line`. kOutOfRange when its size exceeds
// max_literal_size. A malformed marker ("{abc}") is not a marker here; the
// tokenizer reports it.
absl::StatusOr<LiteralMarker> FindLiteralMarker(absl::string_view line, const Limits& limits);

// The atom just before the marker starting at `marker_begin` ("BODY[]<0>"), or
// empty.
std::string LiteralKey(absl::string_view line, size_t marker_begin);

}  // namespace parser_internal
}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_PARSER_INTERNAL_H_
