// Tokenizing of complete IMAP responses: values, first-line headers, status
// text and response codes, literal markers. See parser_internal.h.
#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/parser_internal.h"
#include "common/status/status_macros.h"

namespace imap {
namespace parser_internal {
namespace {

constexpr size_t kMaxDigits = 20;  // uint64 has at most 20 decimal digits

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Decimal digits to uint64; nullopt if empty, not all digits, or overflowing.
absl::optional<uint64_t> ParseNumber(absl::string_view digits) {
  if (digits.empty() || digits.size() > kMaxDigits) return absl::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return absl::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - d) / 10) return absl::nullopt;
    value = value * 10 + d;
  }
  return value;
}

StatusKind StatusFromWord(absl::string_view word) {
  if (absl::EqualsIgnoreCase(word, "OK")) return StatusKind::kOk;
  if (absl::EqualsIgnoreCase(word, "NO")) return StatusKind::kNo;
  if (absl::EqualsIgnoreCase(word, "BAD")) return StatusKind::kBad;
  if (absl::EqualsIgnoreCase(word, "BYE")) return StatusKind::kBye;
  if (absl::EqualsIgnoreCase(word, "PREAUTH")) return StatusKind::kPreauth;
  return StatusKind::kNone;
}

bool IsValidWord(absl::string_view word, bool allow_plus) {
  if (word.empty()) return false;
  for (char c : word) {
    if (!IsAtomChar(static_cast<unsigned char>(c))) return false;
    if (!allow_plus && c == '+') return false;
  }
  return true;
}

// Splits off the next space-separated word of `line` at `*pos`; advances past
// one SP.
absl::string_view NextWord(absl::string_view line, size_t* pos) {
  size_t start = std::min(*pos, line.size());
  size_t end = line.find(' ', start);
  if (end == absl::string_view::npos) end = line.size();
  *pos = std::min(end + 1, line.size());
  return line.substr(start, end - start);
}

}  // namespace

std::string Excerpt(absl::string_view bytes, size_t max_len) {
  std::string out;
  size_t n = std::min(bytes.size(), max_len);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > n) out += "...";
  return out;
}

absl::Status ErrorAt(absl::StatusCode code, absl::string_view what, absl::string_view text,
                     size_t pos, size_t excerpt_len) {
  pos = std::min(pos, text.size());
  size_t before = std::min(pos, excerpt_len / 3);
  absl::string_view shown = text.substr(pos - before);
  return absl::Status(
      code, absl::StrCat("IMAP response: ", what, " near \"", Excerpt(shown, excerpt_len), "\""));
}

bool IsAtomChar(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return false;
  return c != '(' && c != ')' && c != '{' && c != '"';
}

Tokenizer::Tokenizer(absl::string_view text, const Limits& limits,
                     const std::vector<LiteralRecord>* literals, absl::string_view literal_data)
    : text_(text), limits_(limits), literals_(literals), literal_data_(literal_data) {}

absl::Status Tokenizer::Error(absl::StatusCode code, absl::string_view what) const {
  return ErrorAt(code, what, text_, pos_, limits_.error_excerpt);
}

size_t Tokenizer::Bound() const {
  if (literals_ != nullptr && next_literal_ < literals_->size()) {
    return std::min((*literals_)[next_literal_].end_pos, text_.size());
  }
  return text_.size();
}

absl::Status Tokenizer::CountValue() {
  if (++values_ > limits_.max_values) {
    return Error(absl::StatusCode::kOutOfRange, "too many values");
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::OpenList(std::vector<Value>* open) {
  if (open->size() + 1 > limits_.max_nesting_depth) {
    return Error(absl::StatusCode::kOutOfRange, "lists nested too deeply");
  }
  RETURN_IF_ERROR(CountValue());
  open->emplace_back();
  open->back().type = Value::Type::kList;
  ++pos_;
  return absl::OkStatus();
}

absl::Status Tokenizer::ExpectSeparator() const {
  if (pos_ >= text_.size() || text_[pos_] == ' ' || text_[pos_] == ')') {
    return absl::OkStatus();
  }
  return Error(absl::StatusCode::kDataLoss, "unexpected bytes after a value");
}

absl::Status Tokenizer::Parse(size_t start, std::vector<Value>* out) {
  pos_ = start;
  std::vector<Value> open;  // lists not yet closed, outermost first
  for (;;) {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (pos_ >= text_.size()) break;
    if (text_[pos_] == '(') {
      RETURN_IF_ERROR(OpenList(&open));
      continue;
    }
    Value value;
    if (text_[pos_] == ')') {
      if (open.empty()) {
        return Error(absl::StatusCode::kDataLoss, "unbalanced ')'");
      }
      value = std::move(open.back());
      open.pop_back();
      ++pos_;
    } else {
      RETURN_IF_ERROR(CountValue());
      ASSIGN_OR_RETURN(value, ParseScalar());
    }
    RETURN_IF_ERROR(ExpectSeparator());
    (open.empty() ? *out : open.back().list).push_back(std::move(value));
  }
  if (!open.empty()) {
    return Error(absl::StatusCode::kDataLoss, "unbalanced '(': list not closed");
  }
  if (literals_ != nullptr && next_literal_ != literals_->size()) {
    pos_ = (*literals_)[next_literal_].end_pos;
    return Error(absl::StatusCode::kDataLoss, "literal inside a token");
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Tokenizer::ParseScalar() {
  char c = text_[pos_];
  if (c == '"') return ParseQuoted();
  if (c == '{' || (c == '~' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{')) {
    return ParseLiteral();
  }
  return ParseAtom();
}

absl::StatusOr<Value> Tokenizer::ParseQuoted() {
  const size_t start = pos_;
  const size_t bound = Bound();
  Value value;
  value.type = Value::Type::kString;
  ++pos_;
  while (pos_ < bound) {
    char c = text_[pos_];
    if (c == '"') {
      ++pos_;
      return value;
    }
    if (c == '\r' || c == '\n') {
      return Error(absl::StatusCode::kDataLoss, "CR or LF in a quoted string");
    }
    if (c == '\\' && pos_ + 1 < bound && (text_[pos_ + 1] == '"' || text_[pos_ + 1] == '\\')) {
      ++pos_;  // a quoted-special escape; any other backslash is kept as is
      c = text_[pos_];
    }
    value.str += c;
    ++pos_;
  }
  pos_ = start;
  return Error(absl::StatusCode::kDataLoss, "unterminated quoted string");
}

absl::StatusOr<Value> Tokenizer::ParseLiteral() {
  const size_t start = pos_;
  if (text_[pos_] == '~') ++pos_;
  ++pos_;  // '{'
  size_t digits_start = pos_;
  while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
  absl::optional<uint64_t> size = ParseNumber(text_.substr(digits_start, pos_ - digits_start));
  if (pos_ < text_.size() && text_[pos_] == '+') ++pos_;
  if (!size.has_value() || pos_ >= text_.size() || text_[pos_] != '}') {
    pos_ = start;
    return Error(absl::StatusCode::kDataLoss, "malformed literal");
  }
  ++pos_;
  if (literals_ == nullptr || next_literal_ >= literals_->size() ||
      (*literals_)[next_literal_].end_pos != pos_) {
    pos_ = start;
    return Error(absl::StatusCode::kDataLoss, "literal not at the end of a line");
  }
  const LiteralRecord& record = (*literals_)[next_literal_++];
  Value value;
  if (record.streamed) {
    value.type = Value::Type::kStreamedLiteral;
    value.literal_size = record.size;
  } else {
    value.type = Value::Type::kString;
    value.str = std::string(literal_data_.substr(record.data_offset, record.size));
  }
  return value;
}

absl::StatusOr<Value> Tokenizer::ParseAtom() {
  const size_t start = pos_;
  const size_t bound = Bound();
  while (pos_ < bound) {
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '[') {
      RETURN_IF_ERROR(SkipBracket(bound));
      continue;
    }
    if (!IsAtomChar(c)) break;
    ++pos_;
  }
  if (pos_ == start) {
    return Error(absl::StatusCode::kDataLoss, "unexpected character");
  }
  Value value;
  absl::string_view atom = text_.substr(start, pos_ - start);
  if (absl::EqualsIgnoreCase(atom, "NIL")) {
    value.type = Value::Type::kNil;
  } else {
    value.type = Value::Type::kAtom;
    value.str = std::string(atom);
  }
  return value;
}

// A section spec inside an atom: "[" up to the first "]" outside quoted
// strings; it may hold spaces, parens and quotes (BODY[HEADER.FIELDS
// ("Message-ID")]).
absl::Status Tokenizer::SkipBracket(size_t bound) {
  const size_t start = pos_;
  bool quoted = false;
  for (++pos_; pos_ < bound; ++pos_) {
    char c = text_[pos_];
    if (quoted) {
      if (c == '\\' && pos_ + 1 < bound) {
        ++pos_;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ']') {
      ++pos_;
      return absl::OkStatus();
    }
  }
  pos_ = start;
  return Error(absl::StatusCode::kDataLoss, "unterminated '[' in an atom");
}

absl::StatusOr<Header> ParseHeader(absl::string_view line, const Limits& limits) {
  Header header;
  if (!line.empty() && line[0] == '+') {
    header.type = ResponseType::kContinuation;
    header.rest = (line.size() > 1 && line[1] == ' ') ? 2 : 1;
    return header;
  }
  auto bad = [&](absl::string_view what) {
    return ErrorAt(absl::StatusCode::kDataLoss, what, line, 0, limits.error_excerpt);
  };
  size_t pos = 0;
  absl::string_view tag = NextWord(line, &pos);
  if (tag != "*" && !IsValidWord(tag, /*allow_plus=*/false)) return bad("bad tag");
  if (tag.size() == line.size()) return bad("response without status or name");
  absl::string_view word = NextWord(line, &pos);
  header.rest = pos;
  header.status = StatusFromWord(word);
  if (tag != "*") {
    header.type = ResponseType::kTagged;
    header.tag = std::string(tag);
    if (header.status != StatusKind::kOk && header.status != StatusKind::kNo &&
        header.status != StatusKind::kBad) {
      return bad("tagged response without OK, NO or BAD");
    }
    return header;
  }
  header.type = ResponseType::kUntagged;
  if (header.status != StatusKind::kNone) return header;
  if (!word.empty() && IsDigit(word[0])) {
    header.number = ParseNumber(word);
    if (!header.number.has_value()) return bad("bad message number");
    word = NextWord(line, &pos);
    header.rest = pos;
  }
  if (!IsValidWord(word, /*allow_plus=*/true)) return bad("bad response name");
  header.name = absl::AsciiStrToUpper(word);
  return header;
}

void ParseStatusText(absl::string_view rest, const Limits& limits, Response* response) {
  size_t text_start = 0;
  size_t close = rest.find(']');
  if (!rest.empty() && rest[0] == '[' && close != absl::string_view::npos) {
    absl::string_view inner = rest.substr(1, close - 1);
    size_t space = inner.find(' ');
    ResponseCode code;
    code.name = absl::AsciiStrToUpper(inner.substr(0, space));
    if (space != absl::string_view::npos) {
      code.raw_args = std::string(inner.substr(space + 1));
      std::vector<Value> args;
      Tokenizer tokenizer(code.raw_args, limits, nullptr, absl::string_view());
      if (tokenizer.Parse(0, &args).ok()) code.args = std::move(args);
    }
    response->code = std::move(code);
    text_start = close + 1;
    if (text_start < rest.size() && rest[text_start] == ' ') ++text_start;
  }
  response->text = std::string(rest.substr(text_start));
}

absl::StatusOr<LiteralMarker> FindLiteralMarker(absl::string_view line, const Limits& limits) {
  LiteralMarker marker;
  if (line.empty() || line.back() != '}') return marker;
  size_t i = line.size() - 1;
  if (i > 0 && line[i - 1] == '+') --i;
  const size_t digits_end = i;
  while (i > 0 && IsDigit(line[i - 1])) --i;
  if (i == 0 || i == digits_end || line[i - 1] != '{') return marker;
  const size_t brace = i - 1;
  marker.begin = (brace > 0 && line[brace - 1] == '~') ? brace - 1 : brace;
  absl::optional<uint64_t> size = ParseNumber(line.substr(i, digits_end - i));
  if (!size.has_value() || *size > limits.max_literal_size) {
    return ErrorAt(absl::StatusCode::kOutOfRange, "literal larger than allowed", line, marker.begin,
                   limits.error_excerpt);
  }
  marker.present = true;
  marker.size = *size;
  return marker;
}

std::string LiteralKey(absl::string_view line, size_t marker_begin) {
  size_t end = std::min(marker_begin, line.size());
  while (end > 0 && line[end - 1] == ' ') --end;
  size_t i = end;
  while (i > 0) {
    unsigned char c = static_cast<unsigned char>(line[i - 1]);
    if (c == ']') {
      size_t open = line.rfind('[', i - 1);
      if (open == absl::string_view::npos) break;
      i = open;
      continue;
    }
    if (!IsAtomChar(c)) break;
    --i;
  }
  return std::string(line.substr(i, end - i));
}

}  // namespace parser_internal
}  // namespace imap
