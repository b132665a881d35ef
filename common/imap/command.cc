#include "common/imap/command.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace imap {
namespace {

bool IsAtomChar(unsigned char c) {
  if (c <= 0x1f || c >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

bool IsQuotable(absl::string_view s) {
  if (s.size() > 1024) return false;
  for (unsigned char c : s) {
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<size_t> StringLiteralSource::ReadAt(uint64_t offset, char* buf, size_t max) const {
  if (offset >= data_.size()) return 0;
  size_t n = std::min<uint64_t>(max, data_.size() - offset);
  std::memcpy(buf, data_.data() + offset, n);
  return n;
}

bool IsAtomSafe(absl::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAtomChar(c); });
}

std::string Quote(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Command::Command(absl::string_view name) : name_(name) {
  parts_.push_back(Part{std::string(name), nullptr});
}

void Command::AppendSpace() { parts_.back().text.push_back(' '); }

Command& Command::Atom(absl::string_view atom) {
  AppendSpace();
  absl::StrAppend(&parts_.back().text, atom);
  return *this;
}

Command& Command::Number(uint64_t n) { return Atom(absl::StrCat(n)); }

Command& Command::AString(absl::string_view s) {
  if (IsAtomSafe(s) && !absl::EqualsIgnoreCase(s, "NIL")) return Atom(s);
  return String(s);
}

Command& Command::String(absl::string_view s) {
  if (IsQuotable(s)) return Atom(Quote(s));
  return Literal(std::make_shared<StringLiteralSource>(std::string(s)));
}

Command& Command::Literal(std::shared_ptr<LiteralSource> source) {
  AppendSpace();
  parts_.back().literal = std::move(source);
  parts_.push_back(Part{"", nullptr});
  return *this;
}

Command& Command::Raw(absl::string_view text) {
  absl::StrAppend(&parts_.back().text, text);
  return *this;
}

Command& Command::MarkSensitive() {
  sensitive_ = true;
  return *this;
}

std::string Command::DebugString() const {
  if (sensitive_) return absl::StrCat(name_, " <redacted>");
  std::string out;
  for (const Part& p : parts_) {
    absl::StrAppend(&out, p.text);
    if (p.literal) absl::StrAppend(&out, "{", p.literal->size(), "}");
  }
  if (out.size() > 200) out = absl::StrCat(out.substr(0, 200), "...");
  return out;
}

}  // namespace imap
