// Test helpers for the IMAP parser: run an input through a Parser fed whole,
// one byte at a time and in random pieces, and check that all give the same
// transcript. Test-only.
#ifndef MIGRATOR_COMMON_IMAP_PARSER_TEST_UTIL_H_
#define MIGRATOR_COMMON_IMAP_PARSER_TEST_UTIL_H_

#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/imap/parser.h"
#include "common/imap/parser_debug.h"
#include "gtest/gtest.h"

namespace imap {
namespace testing_util {

// Everything a parser said about an input. Consecutive literal chunks are
// merged, so the transcript does not depend on how the input was split.
struct Transcript {
  std::vector<std::string> events;  // DebugString of each event (kNeedMore omitted)
  std::vector<Response> responses;
  absl::Status status;  // the error that ended parsing, or OK
  size_t max_chunk = 0;
  size_t max_buffered = 0;  // buffered() after each drain
  size_t final_buffered = 0;

  bool operator==(const Transcript& o) const {
    return events == o.events && status == o.status && final_buffered == o.final_buffered;
  }
};

inline void Drain(Parser* parser, Transcript* t) {
  for (;;) {
    absl::StatusOr<Event> e = parser->Next();
    if (!e.ok()) {
      t->status = e.status();
      return;
    }
    if (e->type == Event::Type::kNeedMore) break;
    if (e->type == Event::Type::kLiteralData) {
      t->max_chunk = std::max(t->max_chunk, e->data.size());
      std::string piece(e->data);
      if (!t->events.empty() && t->events.back().rfind("data:", 0) == 0) {
        t->events.back() += piece;
      } else {
        t->events.push_back("data:" + piece);
      }
      continue;
    }
    t->events.push_back(DebugString(*e));
    if (e->type == Event::Type::kResponse) t->responses.push_back(e->response);
  }
  t->max_buffered = std::max(t->max_buffered, parser->buffered());
}

enum class Split { kWhole, kBytes, kRandom };

inline Transcript Run(absl::string_view input, const Limits& limits, Split split,
                      uint32_t seed = 1) {
  Parser parser(limits);
  Transcript t;
  std::mt19937 rng(seed);
  size_t pos = 0;
  while (pos < input.size() && t.status.ok()) {
    size_t n = input.size() - pos;
    if (split == Split::kBytes) n = 1;
    if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 17);
    parser.Feed(input.substr(pos, n));
    pos += n;
    Drain(&parser, &t);
  }
  if (input.empty()) Drain(&parser, &t);
  if (!t.status.ok()) {
    // A failed parser stays failed.
    absl::StatusOr<Event> again = parser.Next();
    EXPECT_EQ(again.status(), t.status);
  }
  t.final_buffered = t.status.ok() ? parser.buffered() : 0;
  return t;
}

// Runs `input` whole, byte by byte and in random pieces; expects identical
// transcripts and returns the whole-input one.
inline Transcript RunAll(absl::string_view input, const Limits& limits = Limits()) {
  Transcript whole = Run(input, limits, Split::kWhole);
  Transcript bytes = Run(input, limits, Split::kBytes);
  EXPECT_TRUE(whole == bytes) << "input: " << input << "\nwhole status: " << whole.status
                              << "\nbytes status: " << bytes.status;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    Transcript random = Run(input, limits, Split::kRandom, seed);
    EXPECT_TRUE(whole == random) << "seed " << seed << " input: " << input;
  }
  return whole;
}

}  // namespace testing_util
}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_PARSER_TEST_UTIL_H_
