// An incremental, I/O-free, bounded IMAP response parser (RFC 3501 / RFC 9051).
//
// Feed it bytes as they arrive; call Next() until it says kNeedMore. It never reads a socket
// and never allocates more than Limits allows. Not thread-safe; one parser per connection.
//
//   Parser p;
//   p.Feed(bytes);
//   for (;;) {
//     ASSIGN_OR_RETURN(Event e, p.Next());
//     if (e.type == Event::Type::kNeedMore) break;
//     ...
//   }
//
// Large literals (> Limits::max_inline_literal) are streamed: Next() returns kLiteralBegin
// (with the literal's size and context), then kLiteralData events with chunks (views into
// the parser's buffer, valid until the next call to Feed() or Next()), then kLiteralEnd;
// the enclosing response, when complete, holds a Value of type kStreamedLiteral in that
// place. Smaller literals are inline: a kString Value with the bytes.
//
// Errors: malformed input is kDataLoss, a limit exceeded is kOutOfRange; the message has a
// short, printable excerpt of the offending input. After an error the parser stays failed
// (every later Next() returns the same error).
#ifndef MIGRATOR_COMMON_IMAP_PARSER_H_
#define MIGRATOR_COMMON_IMAP_PARSER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "common/imap/limits.h"

namespace imap {

struct Value {
  enum class Type {
    kAtom,             // also numbers, flags (\Seen), section specs (BODY[HEADER.FIELDS (X)])
    kString,           // quoted string (unescaped) or inline literal (raw bytes)
    kNil,              // NIL
    kList,             // ( ... )
    kStreamedLiteral,  // a literal delivered through literal events; size in literal_size
  };
  Type type = Type::kNil;
  std::string str;            // kAtom: as received; kString: the contents
  std::vector<Value> list;    // kList
  uint64_t literal_size = 0;  // kStreamedLiteral

  bool is_atom() const { return type == Type::kAtom; }
  bool is_string() const { return type == Type::kString; }
  bool is_nil() const { return type == Type::kNil; }
  bool is_list() const { return type == Type::kList; }
  // kAtom equal to `s`, ASCII case-insensitively.
  bool IsAtom(absl::string_view s) const;
  // kAtom or kString: its text. NIL: empty. Otherwise empty.
  absl::string_view text() const;
  // A kAtom of decimal digits that fits in uint64: its value.
  absl::optional<uint64_t> AsNumber() const;
};

enum class ResponseType { kUntagged, kTagged, kContinuation };
enum class StatusKind { kNone, kOk, kNo, kBad, kBye, kPreauth };

struct ResponseCode {
  std::string name;         // upper-cased: "UIDVALIDITY", "APPENDUID", "X-UNKNOWN", ...
  std::string raw_args;     // everything between the name and ']', as received
  std::vector<Value> args;  // raw_args parsed as values when possible; empty otherwise
};

struct Response {
  ResponseType type = ResponseType::kUntagged;
  std::string tag;  // kTagged only

  // Status responses: every tagged response, and untagged OK/NO/BAD/BYE/PREAUTH.
  StatusKind status = StatusKind::kNone;
  absl::optional<ResponseCode> code;  // the [CODE args] after the status, if any
  std::string text;  // human-readable text after status and code; for kContinuation the
                     // text after "+ " (base64 challenges included)

  // Data responses (untagged, status == kNone): "* 5 FETCH (...)" has number 5,
  // name "FETCH"; "* CAPABILITY IMAP4rev1 ..." has no number, name "CAPABILITY".
  absl::optional<uint64_t> number;
  std::string name;           // upper-cased
  std::vector<Value> values;  // the rest of the line, parsed
};

struct Event {
  enum class Type { kNeedMore, kResponse, kLiteralBegin, kLiteralData, kLiteralEnd };
  Type type = Type::kNeedMore;

  Response response;  // kResponse

  // kLiteralBegin: context of a streamed literal.
  uint64_t literal_size = 0;
  absl::optional<uint64_t> literal_number;  // "* 5 FETCH ... {n}": 5
  std::string literal_response_name;        // "FETCH" (upper-cased), if known
  std::string literal_key;  // the atom just before the literal: "BODY[]", "BODY[]<0>",
                            // "BINARY[1]"; empty if none

  // kLiteralData: a chunk of the literal; valid until the next Feed() or Next().
  absl::string_view data;
};

class Parser {
 public:
  explicit Parser(const Limits& limits = Limits());

  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Appends bytes received from the server.
  void Feed(absl::string_view bytes);

  // The next event, or kNeedMore when the buffered bytes do not complete one.
  absl::StatusOr<Event> Next();

  // Drops every buffered byte not yet parsed and any partial response, e.g. after
  // STARTTLS (bytes received before the TLS handshake must never be trusted). The parser
  // must be between responses (not inside a literal); returns false otherwise.
  bool DiscardBuffered();

  // Bytes buffered and not yet consumed.
  size_t buffered() const;

  // A response is partly received: some of its bytes arrived, its end has not.
  bool InResponse() const;
  // Bytes of the literal being received that have not arrived yet (0 outside a literal).
  uint64_t literal_missing() const;
  // What the partly received response is, for error messages, e.g. "inside the FETCH
  // response for message 5 (UID 17): 65536 of its 2000000-byte literal received"; "" when
  // no response is partly received. The UID is named when the server sent it before the
  // literal (as Dovecot, Gmail and Exchange do).
  std::string DescribePartial() const;

 private:
  // Implementation state (helpers may add members here).
  struct State;
  Limits limits_;
  std::unique_ptr<State> state_;

 public:
  ~Parser();
};

// Convenience for tests and simple callers: parses a complete response text (which must
// end with CRLF and contain only inline literals). Errors as Next().
absl::StatusOr<Response> ParseOne(absl::string_view text, const Limits& limits = Limits());

const char* StatusKindName(StatusKind kind);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_PARSER_H_
