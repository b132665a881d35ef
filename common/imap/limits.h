// Every size limit of the IMAP client lives here. A server cannot make us allocate more than
// these bounds allow; exceeding one is a clean error (kOutOfRange) with a short excerpt.
#ifndef MIGRATOR_COMMON_IMAP_LIMITS_H_
#define MIGRATOR_COMMON_IMAP_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace imap {

struct Limits {
  // Longest line segment (bytes up to CRLF, not counting literal contents).
  size_t max_line_length = 256 * 1024;
  // Largest total of a response's text and inline literals (streamed literals not counted).
  size_t max_response_bytes = 32 * 1024 * 1024;
  // Deepest nesting of parenthesized lists.
  size_t max_nesting_depth = 64;
  // Most values (atoms, strings, lists) in one response, counted over all nesting levels.
  size_t max_values = 1000000;
  // Largest literal accepted at all (a message body). 4 GiB: providers cap far below this.
  uint64_t max_literal_size = 4ull * 1024 * 1024 * 1024;
  // Literals larger than this are not buffered: they are handed out as literal events in
  // chunks (see Parser). Smaller ones are inline strings in the parsed Value.
  size_t max_inline_literal = 64 * 1024;
  // Largest chunk handed out in one kLiteralData event.
  size_t literal_chunk = 256 * 1024;
  // Bytes of offending input quoted in an error message.
  size_t error_excerpt = 60;
};

// Client-side limits (Session).
struct SessionLimits {
  // Commands in flight at once when pipelining.
  size_t max_pipelined_commands = 64;
  // Largest string sent inline as a quoted string; longer ones become literals.
  size_t max_quoted_length = 1024;
  // Read buffer size for socket reads.
  size_t read_chunk = 64 * 1024;
};

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_LIMITS_H_
