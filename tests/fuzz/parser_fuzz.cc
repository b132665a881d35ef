// Fuzz target for the IMAP response parser (common/imap/parser.h).
//
// Each input is parsed under the default limits and under tiny ones (so that
// every limit is reached often), each time fed whole, one byte at a time and in
// pseudo-random pieces. Invariants, any violation aborts:
//  - the three feedings give the same transcript: events (literal chunks
//  merged),
//    responses, final error (code and message) and bytes left buffered;
//  - errors are kDataLoss or kOutOfRange with a short printable message, and a
//  failed
//    parser keeps returning the same error;
//  - literal events are well formed: Begin (size above max_inline_literal, at
//  most
//    max_literal_size), Data chunks of 1..literal_chunk bytes summing to the
//    size, End;
//  - after every drain at most max_line_length + 1 bytes stay buffered;
//  - a response respects max_values, max_nesting_depth and max_response_bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/imap/parser.h"
#include "common/imap/parser_debug.h"

namespace {

using imap::Event;
using imap::Limits;
using imap::Response;
using imap::Value;

void Check(bool ok, const char* what, absl::string_view detail = "") {
  if (ok) return;
  std::fprintf(stderr, "parser_fuzz: invariant violated: %s %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

Limits TinyLimits() {
  Limits l;
  l.max_line_length = 80;
  l.max_response_bytes = 600;
  l.max_nesting_depth = 5;
  l.max_values = 50;
  l.max_literal_size = 5000;
  l.max_inline_literal = 20;
  l.literal_chunk = 7;
  l.error_excerpt = 24;
  return l;
}

struct Size {
  size_t values = 0;
  size_t depth = 0;
  uint64_t bytes = 0;
};

void Measure(const std::vector<Value>& values, size_t depth, Size* size) {
  for (const Value& v : values) {
    ++size->values;
    if (v.type == Value::Type::kStreamedLiteral) continue;
    size->bytes += v.str.size();
    if (v.is_list()) {
      size->depth = std::max(size->depth, depth + 1);
      Measure(v.list, depth + 1, size);
    }
  }
}

void CheckResponse(const Response& r, const Limits& limits) {
  Size size;
  Measure(r.values, 0, &size);
  Check(size.values <= limits.max_values, "too many values");
  Check(size.depth <= limits.max_nesting_depth, "nested too deep");
  Check(size.bytes + r.text.size() + r.tag.size() <= limits.max_response_bytes,
        "response too large");
  if (r.code.has_value()) {
    Check(r.code->raw_args.size() <= limits.max_line_length, "code too large");
  }
}

struct Transcript {
  std::vector<std::string> events;
  std::string error;
  size_t final_buffered = 0;

  bool operator==(const Transcript& o) const {
    return events == o.events && error == o.error && final_buffered == o.final_buffered;
  }
};

// Tracks one parser's literal events.
struct LiteralState {
  bool open = false;
  uint64_t size = 0;
  uint64_t seen = 0;
};

void OnEvent(const Event& e, const Limits& limits, LiteralState* lit, Transcript* t) {
  switch (e.type) {
    case Event::Type::kLiteralBegin:
      Check(!lit->open, "begin inside a literal");
      Check(e.literal_size > limits.max_inline_literal, "streamed a small literal");
      Check(e.literal_size <= limits.max_literal_size, "literal above max");
      *lit = LiteralState{true, e.literal_size, 0};
      break;
    case Event::Type::kLiteralData:
      Check(lit->open, "data outside a literal");
      Check(!e.data.empty() && e.data.size() <= limits.literal_chunk, "bad chunk size");
      lit->seen += e.data.size();
      Check(lit->seen <= lit->size, "literal overrun");
      if (!t->events.empty() && t->events.back().rfind("data:", 0) == 0) {
        t->events.back().append(e.data.data(), e.data.size());
      } else {
        t->events.push_back(absl::StrCat("data:", e.data));
      }
      return;
    case Event::Type::kLiteralEnd:
      Check(lit->open && lit->seen == lit->size, "end before the literal's bytes");
      lit->open = false;
      break;
    case Event::Type::kResponse:
      Check(!lit->open, "response inside a literal");
      CheckResponse(e.response, limits);
      break;
    case Event::Type::kNeedMore:
      break;
  }
  t->events.push_back(imap::DebugString(e));
}

void CheckError(const absl::Status& status, const Limits& limits) {
  Check(status.code() == absl::StatusCode::kDataLoss ||
            status.code() == absl::StatusCode::kOutOfRange,
        "unexpected error code", status.ToString());
  Check(status.message().size() <= 4 * limits.error_excerpt + 120, "long message");
  for (char c : status.message()) {
    Check(c >= 0x20 && c < 0x7f, "non-printable error message", status.ToString());
  }
}

// Returns false once the parser has failed.
bool Drain(imap::Parser* parser, const Limits& limits, LiteralState* lit, Transcript* t) {
  for (;;) {
    absl::StatusOr<Event> e = parser->Next();
    if (!e.ok()) {
      CheckError(e.status(), limits);
      Check(parser->Next().status() == e.status(), "failed parser recovered");
      t->error = e.status().ToString();
      return false;
    }
    if (e->type == Event::Type::kNeedMore) break;
    OnEvent(*e, limits, lit, t);
  }
  Check(parser->buffered() <= limits.max_line_length + 1, "too much buffered");
  return true;
}

enum class Mode { kWhole, kBytes, kPieces };

Transcript Run(absl::string_view input, const Limits& limits, Mode mode) {
  imap::Parser parser(limits);
  Transcript t;
  LiteralState lit;
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ input.size();
  size_t pos = 0;
  bool alive = true;
  while (alive && pos < input.size()) {
    size_t n = input.size() - pos;
    if (mode == Mode::kBytes) n = 1;
    if (mode == Mode::kPieces) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      n = std::min<size_t>(n, 1 + (rng >> 33) % 23);
    }
    parser.Feed(input.substr(pos, n));
    pos += n;
    alive = Drain(&parser, limits, &lit, &t);
  }
  t.final_buffered = alive ? parser.buffered() : 0;
  return t;
}

void CheckInput(absl::string_view input, const Limits& limits) {
  Transcript whole = Run(input, limits, Mode::kWhole);
  Check(whole == Run(input, limits, Mode::kBytes), "byte-by-byte differs from whole", whole.error);
  Check(whole == Run(input, limits, Mode::kPieces), "pieces differ from whole", whole.error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;  // keeps byte-by-byte runs fast; nothing new beyond
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckInput(input, Limits());
  CheckInput(input, TinyLimits());
  return 0;
}
