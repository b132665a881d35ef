// Streamed literals, limits, malformed input and DiscardBuffered().
#include <string>

#include "absl/strings/match.h"
#include "common/imap/parser.h"
#include "common/imap/parser_debug.h"
#include "common/imap/parser_test_util.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

using namespace std::string_literals;  // NOLINT: "..."s keeps embedded NULs
using testing_util::RunAll;
using testing_util::Transcript;

Limits SmallInline() {
  Limits limits;
  limits.max_inline_literal = 8;
  limits.literal_chunk = 5;
  return limits;
}

TEST(ParserStreamTest, LargeLiteralIsStreamedInChunks) {
  std::string body = "0123456789abcdefghijklmnopqrstuvwxyz";  // 36 > 8
  std::string input =
      "* 7 FETCH (UID 9 BODY[]<0> {36}\r\n" + body + " FLAGS (\\Seen))\r\nA1 OK done\r\n";
  Transcript t = RunAll(input, SmallInline());
  ASSERT_TRUE(t.status.ok()) << t.status;
  ASSERT_EQ(t.events.size(), 5u);
  EXPECT_EQ(t.events[0], "literal-begin size=36 number=7 name=\"FETCH\" key=\"BODY[]<0>\"");
  EXPECT_EQ(t.events[1], "data:" + body);
  EXPECT_EQ(t.events[2], "literal-end");
  EXPECT_LE(t.max_chunk, 5u);
  ASSERT_EQ(t.responses.size(), 2u);
  const Value& items = t.responses[0].values.at(0);
  ASSERT_EQ(items.list.size(), 6u);
  EXPECT_EQ(items.list[3].type, Value::Type::kStreamedLiteral);
  EXPECT_EQ(items.list[3].literal_size, 36u);
  EXPECT_EQ(DebugString(items.list[5]), "(\\\\Seen)");
  EXPECT_EQ(t.responses[1].tag, "A1");
}

TEST(ParserStreamTest, StreamedLiteralKeysAndMixedInline) {
  std::string big(20, 'x');
  std::string input = "* LIST () \"/\" {20}\r\n" + big +
                      "\r\n"
                      "* 8 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] "
                      "{3}\r\nabc BINARY[1] ~{20}\r\n" +
                      big + ")\r\n";
  Transcript t = RunAll(input, SmallInline());
  ASSERT_TRUE(t.status.ok()) << t.status;
  ASSERT_EQ(t.events.size(), 8u);
  EXPECT_EQ(t.events[0], "literal-begin size=20 number=none name=\"LIST\" key=\"\"");
  EXPECT_EQ(t.events[4], "literal-begin size=20 number=8 name=\"FETCH\" key=\"BINARY[1]\"");
  EXPECT_EQ(DebugString(t.responses[1].values[0]),
            "(BODY[HEADER.FIELDS (SUBJECT FROM)] \"abc\" BINARY[1] {20}~streamed)");
}

TEST(ParserStreamTest, ZeroLengthLiterals) {
  Limits limits = SmallInline();
  Transcript t = RunAll("* 1 FETCH (BODY[] {0}\r\n)\r\n", limits);
  ASSERT_TRUE(t.status.ok());
  EXPECT_EQ(DebugString(t.responses.at(0).values[0]), "(BODY[] \"\")");
  limits.max_inline_literal = 0;  // now every non-empty literal streams
  t = RunAll("* 1 FETCH (BODY[] {0}\r\n BODY[1] {1}\r\nz)\r\n", limits);
  ASSERT_TRUE(t.status.ok());
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[1], "data:z");
  EXPECT_EQ(DebugString(t.responses.at(0).values[0]), "(BODY[] \"\" BODY[1] {1}~streamed)");
}

TEST(ParserStreamTest, GibibyteLiteralStreamsWithBoundedBuffer) {
  Parser parser;  // default limits: 64 KiB inline, 256 KiB chunks
  parser.Feed("* 1 FETCH (UID 5 BODY[] {1073741824}\r\n");
  absl::StatusOr<Event> e = parser.Next();
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->type, Event::Type::kLiteralBegin);
  EXPECT_EQ(e->literal_size, 1073741824u);
  const std::string piece(64 * 1024, 'm');
  uint64_t received = 0;
  size_t max_buffered = 0;
  for (int i = 0; i < 800; ++i) {  // 50 MiB
    parser.Feed(piece);
    max_buffered = std::max(max_buffered, parser.buffered());
    for (;;) {
      e = parser.Next();
      ASSERT_TRUE(e.ok()) << e.status();
      if (e->type == Event::Type::kNeedMore) break;
      ASSERT_EQ(e->type, Event::Type::kLiteralData);
      ASSERT_LE(e->data.size(), Limits().literal_chunk);
      received += e->data.size();
    }
    ASSERT_EQ(parser.buffered(), 0u);
  }
  EXPECT_EQ(received, 800u * piece.size());
  EXPECT_LE(max_buffered, piece.size());
}

TEST(ParserStreamTest, DiscardBuffered) {
  Parser parser;
  parser.Feed("A1 OK Begin TLS now\r\n* OK injected before TLS\r\n* 1 FETCH (BODY");
  absl::StatusOr<Event> e = parser.Next();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->response.tag, "A1");
  EXPECT_TRUE(parser.DiscardBuffered());
  EXPECT_EQ(parser.buffered(), 0u);
  e = parser.Next();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, Event::Type::kNeedMore);
  parser.Feed("* CAPABILITY IMAP4rev1\r\n");
  e = parser.Next();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->response.name, "CAPABILITY");

  Parser streaming(SmallInline());
  streaming.Feed("* 1 FETCH (BODY[] {30}\r\nabc");
  ASSERT_EQ(streaming.Next()->type, Event::Type::kLiteralBegin);
  EXPECT_FALSE(streaming.DiscardBuffered());  // inside a literal
  Parser waiting;
  waiting.Feed("* 1 FETCH (BODY[] {3}\r\na");
  ASSERT_EQ(waiting.Next()->type, Event::Type::kNeedMore);
  EXPECT_FALSE(waiting.DiscardBuffered());
}

// Expects `input` to fail with `code` and a message containing `what`, the same
// way for every split, and the parser to stay failed.
void ExpectError(absl::string_view input, absl::StatusCode code, absl::string_view what,
                 const Limits& limits = Limits()) {
  Transcript t = RunAll(input, limits);
  EXPECT_EQ(t.status.code(), code) << input << " -> " << t.status;
  EXPECT_TRUE(absl::StrContains(t.status.message(), what)) << t.status;
  EXPECT_TRUE(absl::StrContains(t.status.message(), "near \"")) << t.status;
  EXPECT_LE(t.status.message().size(), 200u);
}

TEST(ParserLimitsTest, EveryLimitIsOutOfRange) {
  Limits l;
  l.max_line_length = 20;
  ExpectError("* 1 FETCH (UID 1234567890)\r\n", absl::StatusCode::kOutOfRange,
              "line longer than 20", l);
  ExpectError(std::string(5000, 'a'), absl::StatusCode::kOutOfRange, "line longer", l);
  ExpectError("* SEARCH 1 2 3 4 5 6 7 8 9 10\r\n", absl::StatusCode::kOutOfRange, "line longer", l);
  EXPECT_TRUE(RunAll("* SEARCH 1 2 3 4 567\r\n", l).status.ok());  // exactly 20
  EXPECT_TRUE(RunAll("* SEARCH 1 2 3 4 567\n", l).status.ok());

  l = Limits();
  l.max_nesting_depth = 3;
  EXPECT_TRUE(RunAll("* X (((a)))\r\n", l).status.ok());
  ExpectError("* X ((((a))))\r\n", absl::StatusCode::kOutOfRange, "nested too deeply", l);
  ExpectError("* X " + std::string(100000, '(') + "\r\n", absl::StatusCode::kOutOfRange, "nested",
              Limits());

  l = Limits();
  l.max_values = 5;
  EXPECT_TRUE(RunAll("* X (a b) c d\r\n", l).status.ok());
  ExpectError("* X (a b) c d e\r\n", absl::StatusCode::kOutOfRange, "too many values", l);

  l = Limits();
  l.max_literal_size = 100;
  ExpectError("* 1 FETCH (BODY[] {101}\r\n", absl::StatusCode::kOutOfRange, "literal larger", l);
  ExpectError("* 1 FETCH (BODY[] {99999999999999999999999}\r\n", absl::StatusCode::kOutOfRange,
              "literal larger");
  // Announced far beyond the limit: rejected before a byte of it is read or
  // allocated.
  ExpectError("* 1 FETCH (BODY[] {18446744073709551615}\r\nabc", absl::StatusCode::kOutOfRange,
              "literal larger");

  l = Limits();
  l.max_response_bytes = 40;
  l.max_inline_literal = 30;
  ExpectError("* 1 FETCH (BODY[] {25}\r\n", absl::StatusCode::kOutOfRange,
              "response larger than 40", l);
  l.max_response_bytes = 36;
  ExpectError("* 1 FETCH (A {1}\r\nB C {1}\r\nD E {1}\r\nF G {1}\r\nH)\r\n",
              absl::StatusCode::kOutOfRange, "response larger", l);
  l.max_inline_literal = 10;  // streamed literals do not count
  Transcript t = RunAll("* 1 FETCH (BODY[] {25}\r\n" + std::string(25, 'q') + ")\r\n", l);
  EXPECT_TRUE(t.status.ok()) << t.status;
}

TEST(ParserMalformedTest, CleanErrors) {
  const auto kDataLoss = absl::StatusCode::kDataLoss;
  ExpectError("* 1 FETCH (UID 1\r\n", kDataLoss, "unbalanced '('");
  ExpectError("* 1 FETCH UID 1)\r\n", kDataLoss, "unbalanced ')'");
  ExpectError("* 1 FETCH (BODY[] {abc}\r\nxyz)\r\n", kDataLoss, "malformed literal");
  ExpectError("* 1 FETCH (BODY[] {5} x)\r\n", kDataLoss, "literal not at the end");
  ExpectError("* LIST () \"/\" \"abc\"def\r\n", kDataLoss, "unexpected bytes after");
  ExpectError("* LIST () \"/\" \"abc\r\n", kDataLoss, "unterminated quoted");
  ExpectError("* LIST () \"/\" \"abc {3}\r\nxyz\"\r\n", kDataLoss, "unterminated quoted");
  ExpectError("* LIST () \"/\" a\0b\r\n"s, kDataLoss, "NUL byte");
  ExpectError("A1 OK \0\r\n"s, kDataLoss, "NUL byte");
  ExpectError("* 1 FETCH (BODY[HEADER x)\r\n", kDataLoss, "unterminated '['");
  ExpectError("* X a\x01z\r\n", kDataLoss, "unexpected bytes");
  ExpectError("*\r\n", kDataLoss, "without status or name");
  ExpectError("A1\r\n", kDataLoss, "without status or name");
  ExpectError("A1 FETCH (x)\r\n", kDataLoss, "without OK, NO or BAD");
  ExpectError("A1 BYE x\r\n", kDataLoss, "without OK, NO or BAD");
  ExpectError("(A1 OK\r\n", kDataLoss, "bad tag");
  ExpectError(" OK\r\n", kDataLoss, "bad tag");
  ExpectError("* 99999999999999999999999 EXISTS\r\n", kDataLoss, "bad message number");
  ExpectError("* 5\r\n", kDataLoss, "bad response name");
  ExpectError("* 5 FE(TCH\r\n", kDataLoss, "bad response name");
  ExpectError("* 1 FETCH (BODY[HEADER.FIELDS ({7}\r\nSubject)] x)\r\n", kDataLoss,
              "unterminated '['");  // literals inside a section spec: not supported
}

TEST(ParserMalformedTest, ExcerptIsPrintableAndShort) {
  Transcript t = RunAll("* X (\x01\xff\x7f" + std::string(500, 'y') + "\r\n");
  ASSERT_EQ(t.status.code(), absl::StatusCode::kDataLoss);
  std::string msg(t.status.message());
  EXPECT_TRUE(absl::StrContains(msg, "\\x01\\xff\\x7f")) << msg;
  for (char c : msg) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << msg;
  }
  EXPECT_LT(msg.size(), 150u);
}

TEST(ParserMalformedTest, LongLineWithoutLfFailsEarly) {
  Limits l;
  l.max_line_length = 1000;
  Parser parser(l);
  parser.Feed(std::string(1001, 'a'));
  EXPECT_EQ(parser.Next()->type,
            Event::Type::kNeedMore);  // could still be "...a\r\n"
  parser.Feed("b");
  absl::StatusOr<Event> e = parser.Next();
  EXPECT_EQ(e.status().code(), absl::StatusCode::kOutOfRange);
  parser.Feed("\r\n");  // failed stays failed, nothing buffered
  EXPECT_EQ(parser.Next().status(), e.status());
  EXPECT_EQ(parser.buffered(), 0u);
}

// Many short lines, each with a tiny literal: time stays linear (a quadratic
// scan of the buffer or the response text would take minutes here).
TEST(ParserStreamTest, ManySegmentsAreLinear) {
  std::string input = "* 1 FETCH (";
  for (int i = 0; i < 200000; ++i) input += "X {1}\r\nx ";
  input += ")\r\n";
  Parser parser;
  for (size_t pos = 0; pos < input.size(); pos += 7) {
    parser.Feed(absl::string_view(input).substr(pos, 7));
    absl::StatusOr<Event> e = parser.Next();
    ASSERT_TRUE(e.ok()) << e.status();
    if (e->type == Event::Type::kResponse) {
      EXPECT_EQ(e->response.values.at(0).list.size(), 400000u);
    }
  }
}

}  // namespace
}  // namespace imap
