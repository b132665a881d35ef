// Repair of what some IMAP servers refuse in a message (import --fix-messages, README
// "Repairing messages"): NUL bytes removed, bare newlines made CRLF, lines over a limit
// folded. I/O-free and streaming: the repairer holds at most one line (bounded by the
// limit), so a message of any size is repaired in bounded memory. A message that needs no
// repair comes out byte for byte as it went in.
//
//   - NUL: removed (RFC 3501 literals may not hold NUL; Cyrus: "Message contains NUL
//     characters").
//   - Bare newlines (Cyrus: "Message contains bare newlines"): a LF without CR becomes CRLF;
//     a run of CRs before a LF becomes one CRLF (the stray CRs of a doubled conversion); any
//     other CR becomes CRLF (old Mac line ends).
//   - Lines longer than `max_line_length` bytes (without their CRLF; Microsoft 365 refuses
//     about 10,000: "BAD Command Argument Error. 11"; RFC 5322 allows 998) are folded into
//     lines of at most that length. In the header section (up to the first empty line) a
//     line is folded before its last space or tab that fits (RFC 5322 folding: the field's
//     value unfolds to what it was); with none, CRLF and a space are inserted. In the body a
//     line is broken after its last space or tab that fits, else at the limit, never inside
//     a UTF-8 sequence. A body break is a real line break for text/plain without
//     format=flowed (harmless in base64, HTML and format=flowed text).
#ifndef MIGRATOR_COMMON_IMAP_MESSAGE_REPAIR_H_
#define MIGRATOR_COMMON_IMAP_MESSAGE_REPAIR_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace imap {

struct RepairOptions {
  // The longest line left as it is, in bytes without its CRLF; 0: lines are never folded
  // (1 acts as 2: a folded header line is at least a space and one byte).
  size_t max_line_length = 998;
};

// What a repair changed.
struct RepairCounts {
  uint64_t nul_bytes = 0;      // NUL bytes removed
  uint64_t bare_newlines = 0;  // bare LF / CR made CRLF, stray CRs before a CRLF dropped
  uint64_t long_lines = 0;     // lines over the limit, folded (each counted once)
  size_t max_line_length = 0;  // the limit they were folded to
  bool changed() const { return nul_bytes + bare_newlines + long_lines > 0; }
  // "2 NUL byte(s) removed, 3 bare newline(s) made CRLF, 1 line(s) over 998 bytes folded";
  // "" when nothing changed.
  std::string Describe() const;
};

class MessageRepairer {
 public:
  explicit MessageRepairer(RepairOptions options = {});
  // Appends the repaired form of the message's next bytes `in` to *out (some may be held
  // back until more input or Finish).
  void Feed(absl::string_view in, std::string* out);
  // The message ended: appends what was held back (a last line without a newline stays
  // without one).
  void Finish(std::string* out);
  const RepairCounts& counts() const { return counts_; }

 private:
  void Byte(char c, std::string* out);
  void EndLine(std::string* out);
  void Fold(std::string* out);

  RepairOptions options_;
  RepairCounts counts_;
  uint64_t pending_cr_ = 0;   // CRs not followed by anything yet
  std::string line_;          // the current line's bytes not written yet (when folding)
  bool in_header_ = true;     // before the first empty line
  bool line_empty_ = true;    // the current line has no byte yet
  bool line_folded_ = false;  // the current line was counted in long_lines
};

struct RepairedMessage {
  std::string bytes;
  RepairCounts counts;
};
// The whole message at once (MessageRepairer over `message`).
RepairedMessage RepairMessage(absl::string_view message, RepairOptions options = {});

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_MESSAGE_REPAIR_H_
