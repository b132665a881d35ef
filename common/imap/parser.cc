// Framing of IMAP responses: line ends found incrementally, literals collected
// inline or streamed out, the complete response handed to the tokenizer once.
// See parser.h.
#include "common/imap/parser.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/parser_internal.h"
#include "common/status/status_macros.h"

namespace imap {

using parser_internal::ErrorAt;
using parser_internal::Header;
using parser_internal::LiteralMarker;
using parser_internal::LiteralRecord;

namespace {

// Above this, a buffer emptied after use gives its memory back.
constexpr size_t kKeepCapacity = 1 << 20;

void Release(std::string* s) {
  if (s->capacity() > kKeepCapacity) {
    std::string().swap(*s);
  } else {
    s->clear();
  }
}

}  // namespace

// All of the parser's state and the framing steps. Methods use `s` for `*this`
// so that field accesses read the same everywhere.
struct Parser::State {
  enum class Mode { kLine, kInlineLiteral, kStreaming, kFailed };

  explicit State(const Limits& limits) : limits_(limits) {
    if (limits_.literal_chunk == 0) limits_.literal_chunk = 1;
  }

  // One event, or an error (the caller then fails the parser).
  absl::StatusOr<Event> Step();
  // The next complete line segment (CRLF or LF removed), consumed; false if
  // none yet.
  absl::StatusOr<bool> NextLine(absl::string_view* line);
  absl::Status LineTooLong(size_t seen) const;
  // Adds a line segment to the response; an event when one is ready.
  absl::StatusOr<absl::optional<Event>> OnLine(absl::string_view line);
  absl::Status ResponseTooLarge(absl::string_view line) const;
  bool TakeInlineLiteral();
  Event StreamLiteral();
  Event FinishStatus();
  absl::StatusOr<Event> FinishData();

  Limits limits_;

  // Received bytes; [pos, buf.size()) not yet consumed. [pos, scan) holds no
  // LF.
  std::string buf;
  size_t pos = 0;
  size_t scan = 0;

  Mode mode = Mode::kLine;
  absl::Status error;  // kFailed

  // The response being assembled.
  bool in_response = false;
  Header header;
  std::string text;          // its line segments, CRLF removed
  std::string literal_data;  // bytes of its inline literals
  std::vector<LiteralRecord> literals;
  uint64_t literal_remaining = 0;  // kInlineLiteral, kStreaming

  size_t available() const { return buf.size() - pos; }

  void ResetResponse() {
    in_response = false;
    header = Header();
    Release(&text);
    Release(&literal_data);
    literals.clear();
    literal_remaining = 0;
  }

  // Drops consumed bytes when that costs no more than what was consumed
  // (amortized linear), so views handed out stay valid until the next Feed().
  void Compact() {
    if (pos == 0 || pos * 2 < buf.size()) return;
    buf.erase(0, pos);
    scan -= pos;
    pos = 0;
    if (buf.capacity() > kKeepCapacity && buf.size() * 4 < buf.capacity()) {
      buf.shrink_to_fit();
    }
  }
};

Parser::Parser(const Limits& limits) : limits_(limits), state_(std::make_unique<State>(limits)) {}

Parser::~Parser() = default;

void Parser::Feed(absl::string_view bytes) {
  State& s = *state_;
  if (s.mode == State::Mode::kFailed) return;  // nothing more will be parsed
  s.Compact();
  s.buf.append(bytes.data(), bytes.size());
}

size_t Parser::buffered() const { return state_->available(); }

bool Parser::InResponse() const {
  const State& s = *state_;
  return s.in_response || s.available() > 0 || s.mode == State::Mode::kInlineLiteral ||
         s.mode == State::Mode::kStreaming;
}

uint64_t Parser::literal_missing() const {
  const State& s = *state_;
  if (s.mode != State::Mode::kInlineLiteral && s.mode != State::Mode::kStreaming) return 0;
  return s.literal_remaining - std::min<uint64_t>(s.literal_remaining, s.available());
}

namespace {

// The value of a "UID n" item at the top level of a FETCH response's text so far.
absl::optional<uint64_t> FetchUid(absl::string_view text) {
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth != 1 || i == 0 || (text[i - 1] != '(' && text[i - 1] != ' ') ||
        !absl::StartsWithIgnoreCase(text.substr(i), "UID ")) {
      continue;
    }
    uint64_t uid = 0;
    size_t j = i + 4;
    for (; j < text.size() && j < i + 14 && text[j] >= '0' && text[j] <= '9'; ++j) {
      uid = uid * 10 + static_cast<uint64_t>(text[j] - '0');
    }
    if (j > i + 4 && (j == text.size() || text[j] == ' ' || text[j] == ')')) return uid;
  }
  return absl::nullopt;
}

}  // namespace

std::string Parser::DescribePartial() const {
  const State& s = *state_;
  if (!InResponse()) return "";
  if (!s.in_response) {
    return absl::StrCat("inside a response: ", s.available(), " bytes of its first line received");
  }
  std::string out =
      absl::StrCat("inside the ", s.header.name.empty() ? "" : s.header.name + " ", "response");
  if (s.header.number) absl::StrAppend(&out, " for message ", *s.header.number);
  if (s.header.name == "FETCH") {
    const absl::optional<uint64_t> uid =
        FetchUid(absl::string_view(s.text).substr(std::min(s.header.rest, s.text.size())));
    if (uid) absl::StrAppend(&out, " (UID ", *uid, ")");
  }
  if (s.mode == State::Mode::kInlineLiteral || s.mode == State::Mode::kStreaming) {
    const uint64_t size = s.literals.back().size;
    absl::StrAppend(&out, ": ", size - literal_missing(), " of its ", size,
                    "-byte literal received");
  }
  return out;
}

bool Parser::DiscardBuffered() {
  State& s = *state_;
  if (s.mode == State::Mode::kInlineLiteral || s.mode == State::Mode::kStreaming) {
    return false;
  }
  Release(&s.buf);
  s.pos = 0;
  s.scan = 0;
  s.ResetResponse();
  return true;
}

absl::StatusOr<Event> Parser::Next() {
  State& s = *state_;
  if (s.mode == State::Mode::kFailed) return s.error;
  absl::StatusOr<Event> event = s.Step();
  if (!event.ok()) {
    s.mode = State::Mode::kFailed;
    s.error = event.status();
    s.ResetResponse();
    Release(&s.buf);
    s.pos = s.scan = 0;
  }
  return event;
}

absl::StatusOr<Event> Parser::State::Step() {
  State& s = *this;
  for (;;) {
    switch (s.mode) {
      case State::Mode::kLine: {
        absl::string_view line;
        ASSIGN_OR_RETURN(bool found, NextLine(&line));
        if (!found) return Event();
        ASSIGN_OR_RETURN(absl::optional<Event> event, OnLine(line));
        if (event.has_value()) return std::move(*event);
        break;
      }
      case State::Mode::kInlineLiteral:
        if (!TakeInlineLiteral()) return Event();
        break;
      case State::Mode::kStreaming:
        return StreamLiteral();
      case State::Mode::kFailed:
        return s.error;
    }
  }
}

// Finds the next LF from where the last search stopped. Every byte is looked at
// once, in order, so the outcome (and error) does not depend on how the input
// was split.
absl::StatusOr<bool> Parser::State::NextLine(absl::string_view* line) {
  State& s = *this;
  const size_t max = limits_.max_line_length;
  for (size_t i = std::max(s.scan, s.pos); i < s.buf.size(); ++i) {
    const char c = s.buf[i];
    const size_t k = i - s.pos;  // offset in the segment
    if (c == '\n') {
      size_t len = (k > 0 && s.buf[i - 1] == '\r') ? k - 1 : k;
      if (len > max) return LineTooLong(k);
      *line = absl::string_view(s.buf.data() + s.pos, len);
      s.pos = s.scan = i + 1;
      return true;
    }
    if (c == '\0') {
      size_t from = std::max(
          s.pos, i + 1 > limits_.error_excerpt ? i + 1 - limits_.error_excerpt : size_t{0});
      absl::string_view seg(s.buf.data() + from, i + 1 - from);
      return ErrorAt(absl::StatusCode::kDataLoss, "NUL byte in a line", seg, seg.size(),
                     limits_.error_excerpt);
    }
    if (k > max) return LineTooLong(k);  // already max + 1 bytes before any CR
  }
  s.scan = s.buf.size();
  return false;
}

absl::Status Parser::State::LineTooLong(size_t seen) const {
  const State& s = *this;
  absl::string_view seg(s.buf.data() + s.pos, std::min(seen, limits_.error_excerpt));
  return ErrorAt(absl::StatusCode::kOutOfRange,
                 absl::StrCat("line longer than ", limits_.max_line_length, " bytes"), seg, 0,
                 limits_.error_excerpt);
}

absl::StatusOr<absl::optional<Event>> Parser::State::OnLine(absl::string_view line) {
  State& s = *this;
  if (!s.in_response) {
    ASSIGN_OR_RETURN(s.header, parser_internal::ParseHeader(line, limits_));
    s.in_response = true;
  }
  if (s.text.size() + s.literal_data.size() + line.size() > limits_.max_response_bytes) {
    return ResponseTooLarge(line);
  }
  s.text.append(line.data(), line.size());
  if (s.header.type != ResponseType::kUntagged || s.header.status != StatusKind::kNone) {
    return absl::optional<Event>(FinishStatus());  // status text holds no literals
  }
  ASSIGN_OR_RETURN(LiteralMarker marker, parser_internal::FindLiteralMarker(line, limits_));
  if (!marker.present) {
    ASSIGN_OR_RETURN(Event event, FinishData());
    return absl::optional<Event>(std::move(event));
  }
  LiteralRecord record;
  record.end_pos = s.text.size();
  record.size = marker.size;
  s.literal_remaining = marker.size;
  if (marker.size <= limits_.max_inline_literal) {
    if (s.text.size() + s.literal_data.size() + marker.size > limits_.max_response_bytes) {
      return ResponseTooLarge(line);
    }
    record.data_offset = s.literal_data.size();
    s.literals.push_back(record);
    s.mode = State::Mode::kInlineLiteral;
    return absl::optional<Event>();
  }
  record.streamed = true;
  s.literals.push_back(record);
  s.mode = State::Mode::kStreaming;
  Event event;
  event.type = Event::Type::kLiteralBegin;
  event.literal_size = marker.size;
  event.literal_number = s.header.number;
  event.literal_response_name = s.header.name;
  event.literal_key = parser_internal::LiteralKey(line, marker.begin);
  return absl::optional<Event>(std::move(event));
}

absl::Status Parser::State::ResponseTooLarge(absl::string_view line) const {
  return ErrorAt(absl::StatusCode::kOutOfRange,
                 absl::StrCat("response larger than ", limits_.max_response_bytes, " bytes"), line,
                 0, limits_.error_excerpt);
}

// Copies what has arrived of an inline literal; true when it is complete.
bool Parser::State::TakeInlineLiteral() {
  State& s = *this;
  size_t n = static_cast<size_t>(std::min<uint64_t>(s.available(), s.literal_remaining));
  s.literal_data.append(s.buf.data() + s.pos, n);
  s.pos += n;
  s.scan = s.pos;
  s.literal_remaining -= n;
  if (s.literal_remaining > 0) return false;
  s.mode = State::Mode::kLine;
  return true;
}

Event Parser::State::StreamLiteral() {
  State& s = *this;
  Event event;
  if (s.literal_remaining == 0) {
    s.mode = State::Mode::kLine;
    event.type = Event::Type::kLiteralEnd;
    return event;
  }
  if (s.available() == 0) return event;  // kNeedMore
  size_t n = static_cast<size_t>(
      std::min<uint64_t>(std::min(s.available(), limits_.literal_chunk), s.literal_remaining));
  event.type = Event::Type::kLiteralData;
  event.data = absl::string_view(s.buf.data() + s.pos, n);
  s.pos += n;
  s.scan = s.pos;
  s.literal_remaining -= n;
  return event;
}

Event Parser::State::FinishStatus() {
  State& s = *this;
  Event event;
  event.type = Event::Type::kResponse;
  Response& r = event.response;
  r.type = s.header.type;
  r.tag = std::move(s.header.tag);
  r.status = s.header.status;
  absl::string_view rest(s.text);
  parser_internal::ParseStatusText(rest.substr(std::min(s.header.rest, rest.size())), limits_, &r);
  s.ResetResponse();
  return event;
}

absl::StatusOr<Event> Parser::State::FinishData() {
  State& s = *this;
  Event event;
  event.type = Event::Type::kResponse;
  Response& r = event.response;
  r.type = ResponseType::kUntagged;
  r.number = s.header.number;
  r.name = std::move(s.header.name);
  parser_internal::Tokenizer tokenizer(s.text, limits_, &s.literals, s.literal_data);
  RETURN_IF_ERROR(tokenizer.Parse(std::min(s.header.rest, s.text.size()), &r.values));
  s.ResetResponse();
  return event;
}

bool Value::IsAtom(absl::string_view s) const {
  return type == Type::kAtom && absl::EqualsIgnoreCase(str, s);
}

absl::string_view Value::text() const {
  if (type == Type::kAtom || type == Type::kString) return str;
  return absl::string_view();
}

absl::optional<uint64_t> Value::AsNumber() const {
  if (type != Type::kAtom || str.empty() || str.size() > 20) return absl::nullopt;
  uint64_t value = 0;
  for (char c : str) {
    if (c < '0' || c > '9') return absl::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - d) / 10) return absl::nullopt;
    value = value * 10 + d;
  }
  return value;
}

absl::StatusOr<Response> ParseOne(absl::string_view text, const Limits& limits) {
  Parser parser(limits);
  parser.Feed(text);
  ASSIGN_OR_RETURN(Event event, parser.Next());
  if (event.type == Event::Type::kNeedMore) {
    return ErrorAt(absl::StatusCode::kDataLoss, "incomplete response", text, 0,
                   limits.error_excerpt);
  }
  if (event.type != Event::Type::kResponse) {
    return ErrorAt(absl::StatusCode::kInvalidArgument, "ParseOne cannot return a streamed literal",
                   text, 0, limits.error_excerpt);
  }
  if (parser.buffered() != 0) {
    return ErrorAt(absl::StatusCode::kInvalidArgument, "bytes after the response", text,
                   text.size() - parser.buffered(), limits.error_excerpt);
  }
  return std::move(event.response);
}

const char* StatusKindName(StatusKind kind) {
  switch (kind) {
    case StatusKind::kNone:
      return "NONE";
    case StatusKind::kOk:
      return "OK";
    case StatusKind::kNo:
      return "NO";
    case StatusKind::kBad:
      return "BAD";
    case StatusKind::kBye:
      return "BYE";
    case StatusKind::kPreauth:
      return "PREAUTH";
  }
  return "?";
}

}  // namespace imap
