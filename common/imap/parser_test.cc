// The response kinds real servers send. Every input is fed whole, byte by byte
// and in random pieces (RunAll), which must agree.
#include "common/imap/parser.h"

#include <string>

#include "common/imap/parser_debug.h"
#include "common/imap/parser_test_util.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

using namespace std::string_literals;  // NOLINT: "..."s keeps embedded NULs
using testing_util::RunAll;
using testing_util::Transcript;

// Parses `input`, which must hold exactly one complete response.
Response One(absl::string_view input, const Limits& limits = Limits()) {
  Transcript t = RunAll(input, limits);
  EXPECT_TRUE(t.status.ok()) << t.status;
  EXPECT_EQ(t.responses.size(), 1u) << input;
  EXPECT_EQ(t.final_buffered, 0u);
  if (t.responses.size() != 1) return Response();
  return t.responses[0];
}

std::string Values(const Response& r) {
  std::string out;
  for (const Value& v : r.values) {
    if (!out.empty()) out += ' ';
    out += DebugString(v);
  }
  return out;
}

TEST(ParserTest, FetchWithLiteralAndMoreItems) {
  std::string body = "Subject: hi\r\n\r\nbody (with parens) {5}\r\n";
  std::string input =
      "* 5 FETCH (UID 10 FLAGS (\\Seen) INTERNALDATE "
      "\"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE " +
      std::to_string(body.size()) + " BODY[] {" + std::to_string(body.size()) + "}\r\n" + body +
      ")\r\n";
  Response r = One(input);
  EXPECT_EQ(r.type, ResponseType::kUntagged);
  EXPECT_EQ(r.status, StatusKind::kNone);
  EXPECT_EQ(r.number, 5u);
  EXPECT_EQ(r.name, "FETCH");
  ASSERT_EQ(r.values.size(), 1u);
  const Value& items = r.values[0];
  ASSERT_TRUE(items.is_list());
  ASSERT_EQ(items.list.size(), 10u);
  EXPECT_TRUE(items.list[0].IsAtom("uid"));
  EXPECT_EQ(items.list[1].AsNumber(), 10u);
  EXPECT_EQ(DebugString(items.list[3]), "(\\\\Seen)");
  EXPECT_EQ(items.list[3].list[0].text(), "\\Seen");
  EXPECT_EQ(items.list[5].text(), "17-Jul-1996 02:44:25 -0700");
  EXPECT_TRUE(items.list[5].is_string());
  EXPECT_EQ(items.list[8].text(), "BODY[]");
  EXPECT_TRUE(items.list[9].is_string());
  EXPECT_EQ(items.list[9].str, body);
}

TEST(ParserTest, LiteralFollowedByMoreItemsAndSeveralLiterals) {
  Response r = One("* 1 FETCH (BODY[HEADER] {5}\r\nhello BODY[TEXT] ~{3}\r\na\0b UID 7)\r\n"s);
  EXPECT_EQ(Values(r), "(BODY[HEADER] \"hello\" BODY[TEXT] \"a\\x00b\" UID 7)");
}

TEST(ParserTest, LiteralPlusAndZeroLengthLiteral) {
  Response r = One("* 2 FETCH (BODY[] {0}\r\n RFC822.SIZE 0 X {2+}\r\nab)\r\n");
  ASSERT_EQ(r.values.size(), 1u);
  EXPECT_EQ(Values(r), "(BODY[] \"\" RFC822.SIZE 0 X \"ab\")");
}

TEST(ParserTest, SectionSpecsAreOneAtom) {
  Response r =
      One("* 3 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {2}\r\nab "
          "BODY[HEADER.FIELDS (\"Message-ID\")] NIL BODY[]<0> \"x\" BINARY[1] "
          "\"y\" "
          "BODY[1.2.MIME] \"z\")\r\n");
  ASSERT_EQ(r.values.size(), 1u);
  const auto& l = r.values[0].list;
  ASSERT_EQ(l.size(), 10u);
  EXPECT_EQ(l[0].text(), "BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)]");
  EXPECT_EQ(l[2].text(), "BODY[HEADER.FIELDS (\"Message-ID\")]");
  EXPECT_TRUE(l[3].is_nil());
  EXPECT_EQ(l[4].text(), "BODY[]<0>");
  EXPECT_EQ(l[6].text(), "BINARY[1]");
  EXPECT_EQ(l[8].text(), "BODY[1.2.MIME]");
}

TEST(ParserTest, ListResponses) {
  Response r = One("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n");
  EXPECT_EQ(r.name, "LIST");
  EXPECT_EQ(Values(r), "(\\\\HasNoChildren \\\\Sent) \"/\" \"Sent\"");
  r = One("* LIST () NIL INBOX\r\n");
  ASSERT_EQ(r.values.size(), 3u);
  EXPECT_TRUE(r.values[0].is_list());
  EXPECT_TRUE(r.values[0].list.empty());
  EXPECT_TRUE(r.values[1].is_nil());
  EXPECT_EQ(r.values[1].text(), "");
  EXPECT_TRUE(r.values[2].IsAtom("INBOX"));
  r = One("* LIST (\\Noselect) \".\" {11}\r\nfoo \"bar\"\\x\r\n");
  ASSERT_EQ(r.values.size(), 3u);
  EXPECT_EQ(r.values[2].str, "foo \"bar\"\\x");
  r = One("* LSUB () \"/\" \"[Gmail]/Sent Mail\"\r\n");
  EXPECT_EQ(r.values[2].text(), "[Gmail]/Sent Mail");
  r = One("* LIST () \"/\" [Gmail]/All\r\n");
  EXPECT_EQ(r.values[2].text(), "[Gmail]/All");
}

TEST(ParserTest, StatusNamespaceEsearchAndFriends) {
  Response r = One("* STATUS \"a b\" (MESSAGES 2 UIDNEXT 3)\r\n");
  EXPECT_EQ(r.name, "STATUS");
  EXPECT_EQ(Values(r), "\"a b\" (MESSAGES 2 UIDNEXT 3)");
  r = One("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  EXPECT_EQ(Values(r), "((\"\" \"/\")) NIL NIL");
  r = One("* ESEARCH (TAG \"A1\") UID ALL 1:3\r\n");
  EXPECT_EQ(Values(r), "(TAG \"A1\") UID ALL 1:3");
  r = One("* SEARCH\r\n");
  EXPECT_EQ(r.name, "SEARCH");
  EXPECT_TRUE(r.values.empty());
  r = One("* SEARCH 2 84 882\r\n");
  EXPECT_EQ(r.values.size(), 3u);
  r = One("* 3 EXISTS\r\n");
  EXPECT_EQ(r.number, 3u);
  EXPECT_EQ(r.name, "EXISTS");
  EXPECT_TRUE(r.values.empty());
  r = One("* 0 recent\r\n");
  EXPECT_EQ(r.name, "RECENT");
  r = One("* ID (\"name\" \"Dovecot\")\r\n");
  EXPECT_EQ(Values(r), "(\"name\" \"Dovecot\")");
  r = One("* ID NIL\r\n");
  EXPECT_TRUE(r.values[0].is_nil());
  r = One("* ENABLED CONDSTORE\r\n");
  EXPECT_EQ(Values(r), "CONDSTORE");
  r = One("* VANISHED (EARLIER) 1:3\r\n");
  EXPECT_EQ(Values(r), "(EARLIER) 1:3");
  r = One("* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN UTF8=ACCEPT\r\n");
  EXPECT_EQ(Values(r), "IMAP4rev1 LITERAL+ AUTH=PLAIN UTF8=ACCEPT");
  r = One("* FLAGS (\\Answered \\Flagged $Forwarded Junk \\*)\r\n");
  EXPECT_EQ(Values(r), "(\\\\Answered \\\\Flagged $Forwarded Junk \\\\*)");
}

TEST(ParserTest, TaggedStatusCaseInsensitive) {
  Response r = One("a1 ok done\r\n");
  EXPECT_EQ(r.type, ResponseType::kTagged);
  EXPECT_EQ(r.tag, "a1");
  EXPECT_EQ(r.status, StatusKind::kOk);
  EXPECT_FALSE(r.code.has_value());
  EXPECT_EQ(r.text, "done");
  r = One("A1 OK\r\n");
  EXPECT_EQ(r.status, StatusKind::kOk);
  EXPECT_EQ(r.text, "");
  r = One("A2 NO [TRYCREATE] Mailbox \"x\" (doesn't) exist [really] {5}\r\n");
  EXPECT_EQ(r.status, StatusKind::kNo);
  ASSERT_TRUE(r.code.has_value());
  EXPECT_EQ(r.code->name, "TRYCREATE");
  EXPECT_EQ(r.code->raw_args, "");
  EXPECT_EQ(r.text, "Mailbox \"x\" (doesn't) exist [really] {5}");
  r = One("A3 BAD Command line too long (( \"\r\n");
  EXPECT_EQ(r.status, StatusKind::kBad);
  EXPECT_EQ(r.text, "Command line too long (( \"");
}

TEST(ParserTest, UntaggedStatus) {
  Response r = One("* OK [READ-WRITE]\r\n");
  EXPECT_EQ(r.type, ResponseType::kUntagged);
  EXPECT_EQ(r.status, StatusKind::kOk);
  EXPECT_EQ(r.code->name, "READ-WRITE");
  EXPECT_EQ(r.text, "");
  r = One("* BYE Logging out\r\n");
  EXPECT_EQ(r.status, StatusKind::kBye);
  EXPECT_EQ(r.text, "Logging out");
  r = One("* PREAUTH [CAPABILITY IMAP4rev1 AUTH=PLAIN] Logged in as x\r\n");
  EXPECT_EQ(r.status, StatusKind::kPreauth);
  EXPECT_EQ(r.code->name, "CAPABILITY");
  EXPECT_EQ(r.code->raw_args, "IMAP4rev1 AUTH=PLAIN");
  ASSERT_EQ(r.code->args.size(), 2u);
  EXPECT_TRUE(r.code->args[1].IsAtom("auth=plain"));
  EXPECT_EQ(r.text, "Logged in as x");
  r = One("* ok Dovecot ready.\r\n");
  EXPECT_EQ(r.status, StatusKind::kOk);
  EXPECT_FALSE(r.code.has_value());
  r = One("* NO [ALERT] Disk [almost] full\r\n");
  EXPECT_EQ(r.status, StatusKind::kNo);
  EXPECT_EQ(r.code->name, "ALERT");
  EXPECT_EQ(r.text, "Disk [almost] full");
  r = One("* OK [unterminated code\r\n");
  EXPECT_FALSE(r.code.has_value());
  EXPECT_EQ(r.text, "[unterminated code");
}

TEST(ParserTest, ResponseCodes) {
  Response r = One("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  EXPECT_EQ(r.code->args.at(0).AsNumber(), 3857529045u);
  r = One("* OK [UIDNEXT 4392] Predicted next UID\r\n");
  EXPECT_EQ(r.code->args.at(0).AsNumber(), 4392u);
  r = One("A3 OK [APPENDUID 38505 3955] APPEND completed\r\n");
  EXPECT_EQ(r.code->name, "APPENDUID");
  ASSERT_EQ(r.code->args.size(), 2u);
  EXPECT_EQ(r.code->args[1].AsNumber(), 3955u);
  r = One("A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
  ASSERT_EQ(r.code->args.size(), 3u);
  EXPECT_EQ(r.code->args[1].text(), "304,319:320");
  EXPECT_EQ(r.code->args[2].text(), "3956:3958");
  r = One("* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n");
  ASSERT_EQ(r.code->args.size(), 1u);
  EXPECT_EQ(DebugString(r.code->args[0]), "(\\\\Seen \\\\*)");
  for (const char* name :
       {"LIMIT", "OVERQUOTA", "UNAVAILABLE", "THROTTLED", "ALERT", "TRYCREATE"}) {
    r = One(std::string("A5 NO [") + name + "] Try later\r\n");
    EXPECT_EQ(r.code->name, name);
    EXPECT_EQ(r.text, "Try later");
  }
  r = One("A6 NO [x-unknown-thing a \"b] Oops\r\n");
  EXPECT_EQ(r.code->name, "X-UNKNOWN-THING");
  EXPECT_EQ(r.code->raw_args, "a \"b");
  EXPECT_TRUE(r.code->args.empty());  // did not parse: raw_args only
  EXPECT_EQ(r.text, "Oops");
  r = One("A7 OK [BADCHARSET (UTF-8 US-ASCII)]\r\n");
  EXPECT_EQ(r.code->args.at(0).list.size(), 2u);
}

TEST(ParserTest, Continuation) {
  Response r = One("+ Ready for literal data\r\n");
  EXPECT_EQ(r.type, ResponseType::kContinuation);
  EXPECT_EQ(r.status, StatusKind::kNone);
  EXPECT_EQ(r.text, "Ready for literal data");
  r = One("+\r\n");
  EXPECT_EQ(r.type, ResponseType::kContinuation);
  EXPECT_EQ(r.text, "");
  r = One("+ \r\n");
  EXPECT_EQ(r.text, "");
  r =
      One("+ "
          "YGgGCSqGSIb3EgECAgIBAAD/////"
          "6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n");
  EXPECT_EQ(r.text,
            "YGgGCSqGSIb3EgECAgIBAAD/////"
            "6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=");
  r = One("+ {5}\r\n");  // a continuation never announces a literal
  EXPECT_EQ(r.text, "{5}");
}

TEST(ParserTest, QuotedStringEscapesAnd8Bit) {
  Response r = One("* LIST () \"/\" \"a\\\"b\\\\c\"\r\n");
  EXPECT_EQ(r.values[2].str, "a\"b\\c");
  r = One("* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n");
  EXPECT_EQ(r.values[2].str, "Entw\xc3\xbcrfe");
  r = One("* LIST () \"/\" Entw\xc3\xbcrfe\r\n");
  EXPECT_EQ(r.values[2].text(), "Entw\xc3\xbcrfe");
  r = One("* LIST () \"/\" \"C:\\dir\"\r\n");  // a stray backslash is kept
  EXPECT_EQ(r.values[2].str, "C:\\dir");
}

TEST(ParserTest, LfOnlyLineEnds) {
  Transcript t = RunAll("* 1 EXISTS\nA1 OK done\n* 1 FETCH (BODY[] {3}\nabc)\n");
  ASSERT_TRUE(t.status.ok()) << t.status;
  ASSERT_EQ(t.responses.size(), 3u);
  EXPECT_EQ(t.responses[1].text, "done");
  EXPECT_EQ(t.responses[2].values[0].list[1].str, "abc");
}

TEST(ParserTest, PipelinedResponsesInOneFeed) {
  Transcript t = RunAll(
      "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS ())\r\n+ go\r\n"
      "* 3 EXPUNGE\r\nA2 OK [READ-ONLY] Selected\r\nA3 OK\r\n* 4 EXI");
  ASSERT_TRUE(t.status.ok());
  ASSERT_EQ(t.responses.size(), 6u);
  EXPECT_EQ(t.responses[2].type, ResponseType::kContinuation);
  EXPECT_EQ(t.responses[4].tag, "A2");
  EXPECT_EQ(t.final_buffered, 7u);  // "* 4 EXI" waits for its line end
}

TEST(ParserTest, DebugStringOfAResponse) {
  Response r = One("A1 OK [COPYUID 1 2 3] done\r\n");
  EXPECT_EQ(DebugString(r),
            "tagged tag=\"A1\" status=OK code=[\"COPYUID\" raw=\"1 2 3\" "
            "args=(1 2 3)] "
            "text=\"done\"");
}

// Drains every event the buffered bytes complete.
void Drain(Parser& p) {
  for (;;) {
    auto e = p.Next();
    ASSERT_TRUE(e.ok()) << e.status();
    if (e->type == Event::Type::kNeedMore) return;
  }
}

TEST(PartialResponseTest, SaysWhereAResponseStoppedAndWhatIsMissing) {
  Limits limits;
  limits.max_inline_literal = 16;  // the 100-byte body is streamed
  Parser p(limits);
  EXPECT_FALSE(p.InResponse());
  EXPECT_EQ(p.DescribePartial(), "");
  p.Feed("* 3 FETCH (FLAGS (\\Seen) UID 17 RFC822.SIZE 100 BODY[] {100}\r\n");
  Drain(p);
  EXPECT_TRUE(p.InResponse());
  EXPECT_EQ(p.literal_missing(), 100u);
  p.Feed(std::string(40, 'x'));
  Drain(p);
  EXPECT_EQ(p.literal_missing(), 60u);
  EXPECT_EQ(p.DescribePartial(),
            "inside the FETCH response for message 3 (UID 17): 40 of its 100-byte literal "
            "received");
  p.Feed(std::string(60, 'x') + ")\r\n");
  Drain(p);
  EXPECT_FALSE(p.InResponse());
  EXPECT_EQ(p.literal_missing(), 0u);
  // An inline literal, and a UID only inside a quoted string or a nested list: not named.
  p.Feed("* 4 FETCH (INTERNALDATE \"UID 9\" FLAGS (UID 8) BODY[] {10}\r\nabc");
  Drain(p);
  EXPECT_EQ(p.literal_missing(), 7u);
  EXPECT_EQ(p.DescribePartial(),
            "inside the FETCH response for message 4: 3 of its 10-byte literal received");
  p.Feed("defghij)\r\n* 5 FET");
  Drain(p);
  EXPECT_TRUE(p.InResponse());
  EXPECT_EQ(p.DescribePartial(), "inside a response: 7 bytes of its first line received");
}

TEST(ValueTest, Helpers) {
  Value v;
  v.type = Value::Type::kAtom;
  v.str = "18446744073709551615";
  EXPECT_EQ(v.AsNumber(), UINT64_MAX);
  v.str = "18446744073709551616";
  EXPECT_FALSE(v.AsNumber().has_value());
  v.str = "12a";
  EXPECT_FALSE(v.AsNumber().has_value());
  v.str = "";
  EXPECT_FALSE(v.AsNumber().has_value());
  v.str = "Fetch";
  EXPECT_TRUE(v.IsAtom("FETCH"));
  v.type = Value::Type::kString;
  EXPECT_FALSE(v.IsAtom("FETCH"));
  EXPECT_EQ(v.text(), "Fetch");
  v.str = "7";
  EXPECT_FALSE(v.AsNumber().has_value());  // a quoted number is not an atom
  v.type = Value::Type::kList;
  EXPECT_EQ(v.text(), "");
  EXPECT_STREQ(StatusKindName(StatusKind::kPreauth), "PREAUTH");
}

TEST(ParseOneTest, CompleteIncompleteAndTrailing) {
  absl::StatusOr<Response> r = ParseOne("* 1 FETCH (BODY[] {2}\r\nab)\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->values[0].list[1].str, "ab");
  EXPECT_EQ(ParseOne("* 1 FETCH (BODY[] {2}\r\na").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseOne("A1 OK\r\nA2 OK\r\n").status().code(), absl::StatusCode::kInvalidArgument);
  Limits small;
  small.max_inline_literal = 1;
  EXPECT_EQ(ParseOne("* 1 FETCH (BODY[] {2}\r\nab)\r\n", small).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOne("* 1 FETCH (\r\n").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace imap
