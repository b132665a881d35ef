// The message repair of --fix-messages, byte by byte: each repair on its own, what it
// leaves alone, and the streaming repairer against the whole-message one.
#include "common/imap/message_repair.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

using namespace std::string_literals;  // "\0" inside literals

RepairedMessage Repair(const std::string& in, size_t max_line = 998) {
  return RepairMessage(in, RepairOptions{max_line});
}

std::vector<std::string> Lines(const std::string& s) { return absl::StrSplit(s, "\r\n"); }

const std::string kHeader = "From: a@example.com\r\nSubject: hi\r\n\r\n";

TEST(MessageRepairTest, AGoodMessageIsUnchanged) {
  const std::string in = kHeader + "line one\r\n\tline two\r\n" + std::string(998, 'x') + "\r\n";
  RepairedMessage r = Repair(in);
  EXPECT_EQ(r.bytes, in);
  EXPECT_FALSE(r.counts.changed());
  EXPECT_EQ(r.counts.Describe(), "");
  // No newline at the end: the last line stays as it is.
  EXPECT_EQ(Repair(kHeader + "no newline").bytes, kHeader + "no newline");
  EXPECT_EQ(Repair("").bytes, "");
}

TEST(MessageRepairTest, BareLfBecomesCrlf) {
  RepairedMessage r = Repair("From: a\nSubject: b\n\nbody\r\nmore\n");
  EXPECT_EQ(r.bytes, "From: a\r\nSubject: b\r\n\r\nbody\r\nmore\r\n");
  EXPECT_EQ(r.counts.bare_newlines, 4u);
  EXPECT_EQ(r.counts.nul_bytes, 0u);
  EXPECT_EQ(r.counts.long_lines, 0u);
  EXPECT_EQ(r.counts.Describe(), "4 bare newline(s) made CRLF");
}

TEST(MessageRepairTest, BareCrBecomesCrlfAndStrayCrsBeforeCrlfGo) {
  EXPECT_EQ(Repair("a\rb").bytes, "a\r\nb");
  EXPECT_EQ(Repair("a\r").bytes, "a\r\n");  // at the very end
  // Two old-Mac line ends: an empty line between, as the sender meant.
  EXPECT_EQ(Repair("a\r\rb").bytes, "a\r\n\r\nb");
  // A doubled conversion (CR CR LF) is one line end.
  RepairedMessage r = Repair("a\r\r\nb\r\r\r\n");
  EXPECT_EQ(r.bytes, "a\r\nb\r\n");
  EXPECT_EQ(r.counts.bare_newlines, 3u);
}

TEST(MessageRepairTest, NulBytesAreRemoved) {
  RepairedMessage r = Repair("Subject: x\0y\r\n\r\n\0body\0\r\n"s);
  EXPECT_EQ(r.bytes, "Subject: xy\r\n\r\nbody\r\n");
  EXPECT_EQ(r.counts.nul_bytes, 3u);
  EXPECT_EQ(r.counts.Describe(), "3 NUL byte(s) removed");
  // Between CR and LF: the line end stays one CRLF.
  RepairedMessage between = Repair("a\r\0\nb"s);
  EXPECT_EQ(between.bytes, "a\r\nb");
  EXPECT_EQ(between.counts.bare_newlines, 0u);
}

TEST(MessageRepairTest, LongBodyLineWithoutSpacesIsCutAtTheLimit) {
  const std::string line(12000, 'x');
  RepairedMessage r = Repair(kHeader + line + "\r\nend\r\n");
  EXPECT_EQ(r.counts.long_lines, 1u);
  EXPECT_EQ(r.counts.Describe(), "1 line(s) over 998 bytes folded");
  const std::string body = r.bytes.substr(kHeader.size());
  std::vector<std::string> lines = Lines(body);
  ASSERT_EQ(lines.size(), 12000 / 998 + 1 + 2u);  // 13 pieces, "end", "" after the last CRLF
  for (size_t i = 0; i + 3 < lines.size(); ++i) EXPECT_EQ(lines[i].size(), 998u) << i;
  EXPECT_EQ(lines[12].size(), 12000 - 12 * 998u);
  EXPECT_EQ(absl::StrReplaceAll(body, {{"\r\n", ""}}), line + "end");
  EXPECT_EQ(r.bytes.substr(0, kHeader.size()), kHeader);
}

TEST(MessageRepairTest, LongBodyLineBreaksAfterItsLastSpaceThatFits) {
  // Words of 9 letters and a space: 10 bytes each.
  std::string line;
  for (int i = 0; i < 50; ++i) absl::StrAppend(&line, "abcdefghi ");
  RepairedMessage r = Repair(kHeader + line + "\r\n", 95);
  std::vector<std::string> lines = Lines(r.bytes.substr(kHeader.size()));
  ASSERT_GE(lines.size(), 6u);
  EXPECT_EQ(lines[0], std::string(line, 0, 90));  // nine words, ending with their space
  for (const std::string& l : lines) EXPECT_LE(l.size(), 95u);
  EXPECT_EQ(absl::StrReplaceAll(r.bytes, {{"\r\n", ""}}),
            absl::StrReplaceAll(kHeader + line, {{"\r\n", ""}}));
  EXPECT_EQ(r.counts.long_lines, 1u);
}

TEST(MessageRepairTest, LongHeaderLineIsFoldedBeforeASpaceAndUnfoldsToItsValue) {
  std::string refs = "References:";
  for (int i = 0; i < 200; ++i) absl::StrAppend(&refs, " <id", i, "@example.com>");
  const std::string in = refs + "\r\nSubject: s\r\n\r\nbody\r\n";
  RepairedMessage r = Repair(in, 78);
  std::vector<std::string> lines = Lines(r.bytes);
  EXPECT_EQ(lines[0].rfind("References: <id0@example.com>", 0), 0u) << lines[0];
  size_t i = 1;
  for (; lines[i].rfind("Subject", 0) != 0; ++i) {
    EXPECT_TRUE(lines[i][0] == ' ') << i << ": " << lines[i];  // a continuation line
  }
  for (const std::string& l : lines) EXPECT_LE(l.size(), 78u);
  // RFC 5322 unfolding (CRLF before whitespace removed) gives the message back.
  EXPECT_EQ(absl::StrReplaceAll(r.bytes, {{"\r\n ", " "}}), in);
  EXPECT_EQ(r.counts.long_lines, 1u);
}

TEST(MessageRepairTest, LongHeaderLineWithoutSpaceGetsCrlfAndASpace) {
  const std::string in = "X-Long: " + std::string(250, 'y') + "\r\n\r\nb\r\n";
  RepairedMessage r = Repair(in, 100);
  std::vector<std::string> lines = Lines(r.bytes);
  EXPECT_EQ(lines[0], "X-Long:");  // before the only space that fits
  EXPECT_EQ(lines[1], " " + std::string(99, 'y'));
  EXPECT_EQ(lines[2], " " + std::string(99, 'y'));  // a continuation needs its space
  EXPECT_EQ(lines[3], " " + std::string(52, 'y'));
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[5], "b");
}

TEST(MessageRepairTest, TheBodyStartsAfterTheFirstEmptyLineEvenWithBareNewlines) {
  // The same long line of words is folded before a space in the header and after a space in
  // the body; the separator is a bare LF pair.
  const std::string words = "aaaa bbbb cccc dddd eeee";
  RepairedMessage r = Repair("X: " + words + "\n\n" + words + "\n", 12);
  EXPECT_EQ(r.bytes,
            "X: aaaa bbbb\r\n cccc dddd\r\n eeee\r\n\r\n"
            "aaaa bbbb \r\ncccc dddd \r\neeee\r\n");
}

TEST(MessageRepairTest, AHardBreakNeverSplitsAUtf8Character) {
  // "é" is 2 bytes, "€" 3: a cut at 10 bytes would fall inside one.
  const std::string body =
      "abcdefghi\xE2\x82\xAC"
      "abcdefgh\xC3\xA9"
      "xyz";
  RepairedMessage r = Repair("S: x\r\n\r\n" + body + "\r\n", 10);
  std::vector<std::string> lines = Lines(r.bytes.substr(8));
  EXPECT_EQ(lines[0], "abcdefghi");
  EXPECT_EQ(lines[1],
            "\xE2\x82\xAC"
            "abcdefg");
  EXPECT_EQ(lines[2],
            "h\xC3\xA9"
            "xyz");
}

TEST(MessageRepairTest, NoFoldingWhenTheLimitIsZero) {
  const std::string in = kHeader + std::string(20000, 'z') + "\r\n";
  RepairedMessage r = Repair(in, 0);
  EXPECT_EQ(r.bytes, in);
  EXPECT_FALSE(r.counts.changed());
  EXPECT_EQ(Repair("a\nb\0c"s, 0).bytes, "a\r\nbc");
}

TEST(MessageRepairTest, ALimitOfOneActsAsTwo) {
  const std::string in = "X: " + std::string(9, 'y') + "\r\n\r\n" + std::string(9, 'z');
  EXPECT_EQ(Repair(in, 1).bytes, Repair(in, 2).bytes);
  EXPECT_EQ(Repair(in, 1).counts.max_line_length, 2u);
}

TEST(MessageRepairTest, AllRepairsTogetherAreDescribed) {
  RepairedMessage r = Repair(kHeader + "a\0\n"s + std::string(30, 'q') + "\r\n", 20);
  EXPECT_EQ(r.counts.Describe(),
            "1 NUL byte(s) removed, 1 bare newline(s) made CRLF, 1 line(s) over 20 bytes folded");
}

TEST(MessageRepairTest, StreamingInAnyPiecesGivesTheSameBytes) {
  std::mt19937 rng(7);
  std::string in = "Subject: " + std::string(300, 's') + " tail\nX: \0y\r\r\n\r"s;
  for (int i = 0; i < 400; ++i) {
    const char pick[] = {'a', ' ', '\t', '\r', '\n', '\0', '\xC3', '\xA9', 'b'};
    in.push_back(pick[rng() % sizeof(pick)]);
  }
  in += std::string(3000, 'w');
  for (size_t limit : {0, 2, 7, 64, 998}) {
    const RepairedMessage whole = Repair(in, limit);
    for (int round = 0; round < 20; ++round) {
      MessageRepairer rep(RepairOptions{limit});
      std::string out;
      for (size_t at = 0; at < in.size();) {
        const size_t n = std::min<size_t>(in.size() - at, 1 + rng() % 37);
        rep.Feed(absl::string_view(in).substr(at, n), &out);
        at += n;
      }
      rep.Finish(&out);
      ASSERT_EQ(out, whole.bytes) << "limit " << limit << " round " << round;
      EXPECT_EQ(rep.counts().Describe(), whole.counts.Describe());
    }
    // What comes out needs no second repair: no NUL, no bare newline, no line over the limit.
    const RepairedMessage again = Repair(whole.bytes, limit);
    EXPECT_EQ(again.bytes, whole.bytes) << "limit " << limit;
    EXPECT_FALSE(again.counts.changed()) << again.counts.Describe();
  }
}

}  // namespace
}  // namespace imap
