// Building IMAP commands: quoting, literals, mailbox names. No I/O.
//
// A Command is a sequence of parts: text (already serialized) and literals. The session
// writes the text, and for each literal either waits for the server's "+" (synchronizing)
// or sends it at once (LITERAL+ / LITERAL- when advertised and allowed for its size).
#ifndef MIGRATOR_COMMON_IMAP_COMMAND_H_
#define MIGRATOR_COMMON_IMAP_COMMAND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imap {

// A literal's bytes, either held in memory or read on demand (e.g. from a file), so a
// message of any size can be appended without holding it whole. Reads are positional, so
// one source can be sent again (a retry after TRYCREATE, a new connection).
class LiteralSource {
 public:
  virtual ~LiteralSource() = default;
  virtual uint64_t size() const = 0;
  // Reads up to `max` bytes at `offset` into `buf`; returns the count (0 only at the end).
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const = 0;
  // What the bytes are, for error messages ("source UID 17"); empty: nothing to say.
  virtual std::string Describe() const { return ""; }
};

// A LiteralSource over bytes it owns.
class StringLiteralSource : public LiteralSource {
 public:
  explicit StringLiteralSource(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override;

 private:
  std::string data_;
};

class Command {
 public:
  struct Part {
    std::string text;                        // text to send before the literal
    std::shared_ptr<LiteralSource> literal;  // null for the trailing text part
  };

  // `name` is the command as sent after the tag ("UID FETCH", "LOGIN").
  explicit Command(absl::string_view name);

  // Appends " " + `atom` verbatim (the caller guarantees it is a valid atom or list text).
  Command& Atom(absl::string_view atom);
  Command& Number(uint64_t n);
  // Appends an astring: an atom when every byte is an atom char, a quoted string when
  // short and free of CR/LF/NUL/8-bit bytes, else a literal.
  Command& AString(absl::string_view s);
  // Always a quoted string or literal (never an atom), e.g. for LIST patterns "" .
  Command& String(absl::string_view s);
  // A literal with the bytes of `source`.
  Command& Literal(std::shared_ptr<LiteralSource> source);
  // Appends raw text with no leading space (e.g. ")" or "(").
  Command& Raw(absl::string_view text);
  // The arguments contain a secret: the command is never logged with its arguments.
  Command& MarkSensitive();

  const std::string& name() const { return name_; }
  bool sensitive() const { return sensitive_; }
  // Parts in order; the last part has no literal.
  const std::vector<Part>& parts() const { return parts_; }
  // A loggable rendering: "UID FETCH 1:5 (UID ...)"; "LOGIN <redacted>" when sensitive;
  // literals as {size}.
  std::string DebugString() const;

 private:
  void AppendSpace();
  std::string name_;
  bool sensitive_ = false;
  std::vector<Part> parts_;
};

// Quotes `s` as an IMAP quoted string (escaping \ and "). Precondition: no CR, LF or NUL.
std::string Quote(absl::string_view s);

// True when `s` can be sent as an atom (non-empty; no specials, controls, 8-bit bytes).
bool IsAtomSafe(absl::string_view s);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_COMMAND_H_
