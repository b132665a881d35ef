#include "common/imap/message_repair.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace imap {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
// A UTF-8 continuation byte (10xxxxxx): a break before it would split a character.
bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string RepairCounts::Describe() const {
  std::vector<std::string> parts;
  if (nul_bytes > 0) parts.push_back(absl::StrCat(nul_bytes, " NUL byte(s) removed"));
  if (bare_newlines > 0) {
    parts.push_back(absl::StrCat(bare_newlines, " bare newline(s) made CRLF"));
  }
  if (long_lines > 0) {
    parts.push_back(absl::StrCat(long_lines, " line(s) over ", max_line_length, " bytes folded"));
  }
  return absl::StrJoin(parts, ", ");
}

MessageRepairer::MessageRepairer(RepairOptions options) : options_(options) {
  // A folded header line is at least a space and one byte.
  if (options_.max_line_length == 1) options_.max_line_length = 2;
  counts_.max_line_length = options_.max_line_length;
}

void MessageRepairer::Feed(absl::string_view in, std::string* out) {
  for (char c : in) Byte(c, out);
}

void MessageRepairer::Finish(std::string* out) {
  counts_.bare_newlines += pending_cr_;
  for (; pending_cr_ > 0; --pending_cr_) EndLine(out);
  out->append(line_);
  line_.clear();
}

void MessageRepairer::Byte(char c, std::string* out) {
  if (c == '\0') {
    counts_.nul_bytes += 1;
    return;
  }
  if (c == '\r') {
    pending_cr_ += 1;
    return;
  }
  if (c == '\n') {
    // LF: bare without a CR; CRs beyond the one of CRLF are stray.
    counts_.bare_newlines += pending_cr_ == 0 ? 1 : pending_cr_ - 1;
    pending_cr_ = 0;
    EndLine(out);
    return;
  }
  // Bare CRs before other content: each ends a line.
  counts_.bare_newlines += pending_cr_;
  for (; pending_cr_ > 0; --pending_cr_) EndLine(out);
  line_empty_ = false;
  if (options_.max_line_length == 0) {
    out->push_back(c);
    return;
  }
  line_.push_back(c);
  if (line_.size() > options_.max_line_length) Fold(out);
}

void MessageRepairer::EndLine(std::string* out) {
  out->append(line_);
  out->append("\r\n");
  line_.clear();
  if (line_empty_) in_header_ = false;  // the empty line after the header section
  line_empty_ = true;
  line_folded_ = false;
}

// line_ holds max_line_length + 1 bytes: writes a piece of at most max_line_length bytes
// and a CRLF, and keeps the rest as the start of the next line.
void MessageRepairer::Fold(std::string* out) {
  const size_t limit = options_.max_line_length;
  if (!line_folded_) {
    counts_.long_lines += 1;
    line_folded_ = true;
  }
  auto write = [&](size_t n, absl::string_view continuation) {
    out->append(line_, 0, n);
    out->append("\r\n");
    line_.erase(0, n);
    line_.insert(0, continuation.data(), continuation.size());
  };
  if (in_header_) {
    // Before a space or tab that has something other than whitespace before it, so the
    // piece written is not blank and the rest starts with whitespace (a continuation).
    size_t first = 0;
    while (first < line_.size() && IsWsp(line_[first])) ++first;
    for (size_t p = limit; p > first; --p) {
      if (IsWsp(line_[p])) return write(p, "");
    }
    return write(limit, " ");
  }
  for (size_t p = limit; p >= 1; --p) {
    if (IsWsp(line_[p - 1])) return write(p, "");
  }
  size_t p = limit;
  while (p > 1 && p + 3 > limit && IsContinuation(line_[p])) --p;
  write(p, "");
}

RepairedMessage RepairMessage(absl::string_view message, RepairOptions options) {
  MessageRepairer repairer(options);
  RepairedMessage out;
  out.bytes.reserve(message.size() + message.size() / 64 + 16);
  repairer.Feed(message, &out.bytes);
  repairer.Finish(&out.bytes);
  out.counts = repairer.counts();
  return out;
}

}  // namespace imap
