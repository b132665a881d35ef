// The classifier against every provider string it knows (reply_class.h), each parsed from
// the line the server sends, so the response code is what the parser makes of it.
#include "common/imap/reply_class.h"

#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/imap/parser.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

// Parses one server line ("A1 NO [LIMIT] ..." or "* BYE ...").
Response Parse(const std::string& line) {
  Parser parser;
  parser.Feed(line + "\r\n");
  absl::StatusOr<Event> ev = parser.Next();
  EXPECT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->type, Event::Type::kResponse) << line;
  return ev->response;
}

ReplyInfo Classify(const std::string& line, ReplyContext context = ReplyContext::kOther) {
  Response r = Parse(line);
  return ClassifyReply(r.status, r.code, r.text, context);
}

absl::StatusCode CodeOf(const std::string& line, ReplyContext context = ReplyContext::kOther) {
  Response r = Parse(line);
  return StatusCodeFor(ClassifyReply(r.status, r.code, r.text, context), r.code);
}

// --- Gmail ------------------------------------------------------------------------------

TEST(ReplyClassTest, GmailTooManySimultaneousConnections) {
  const std::string line = "A1 NO [ALERT] Too many simultaneous connections. (Failure)";
  EXPECT_EQ(Classify(line, ReplyContext::kLogin).cls, ReplyClass::kConnectionCap);
  EXPECT_EQ(CodeOf(line, ReplyContext::kLogin), absl::StatusCode::kUnavailable);
}

TEST(ReplyClassTest, GmailOkThrottledIsSuccessThatAsksToSlowDown) {
  ReplyInfo info = Classify("A1 OK Success [THROTTLED]");
  EXPECT_EQ(info.cls, ReplyClass::kOk);
  EXPECT_TRUE(info.slow_down);
  EXPECT_FALSE(Classify("A1 OK Success").slow_down);
}

TEST(ReplyClassTest, GmailOverquotaBandwidthIsThrottleNotFull) {
  const std::string line = "A1 NO [OVERQUOTA] Account exceeded command or bandwidth limits.";
  EXPECT_EQ(Classify(line, ReplyContext::kAppend).cls, ReplyClass::kThrottle);
  EXPECT_EQ(CodeOf(line, ReplyContext::kAppend), absl::StatusCode::kUnavailable);
}

TEST(ReplyClassTest, GmailByeSessionExpiredIsTemporary) {
  EXPECT_EQ(Classify("* BYE Session expired, please login again").cls, ReplyClass::kTemporary);
}

TEST(ReplyClassTest, GmailAppendLimitCapability) {
  EXPECT_EQ(AppendLimitOf({"IMAP4REV1", "APPENDLIMIT=35651584", "UIDPLUS"}), 35651584u);
  EXPECT_EQ(AppendLimitOf({"IMAP4REV1", "APPENDLIMIT"}), absl::nullopt);  // per mailbox
  EXPECT_EQ(AppendLimitOf({"IMAP4REV1"}), absl::nullopt);
  EXPECT_FALSE(HasMailboxAppendLimits({"IMAP4REV1", "APPENDLIMIT=35651584"}));
  EXPECT_TRUE(HasMailboxAppendLimits({"IMAP4REV1", "APPENDLIMIT"}));  // RFC 7889 per mailbox
  EXPECT_FALSE(HasMailboxAppendLimits({"IMAP4REV1"}));
}

// --- Microsoft 365 / Exchange -----------------------------------------------------------

TEST(ReplyClassTest, ExchangeThrottledWithSuggestedBackoff) {
  ReplyInfo info =
      Classify("A1 NO Request is throttled. Suggested Backoff Time: 299609 milliseconds");
  EXPECT_EQ(info.cls, ReplyClass::kThrottle);
  EXPECT_EQ(info.suggested_wait, absl::Milliseconds(299609));
}

TEST(ReplyClassTest, ExchangeThrottledAsBad) {
  const std::string line = "A1 BAD Request is throttled. Suggested Backoff Time: 1500 milliseconds";
  ReplyInfo info = Classify(line, ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kThrottle);
  EXPECT_EQ(info.suggested_wait, absl::Milliseconds(1500));
  EXPECT_EQ(CodeOf(line, ReplyContext::kAppend), absl::StatusCode::kUnavailable);
}

TEST(ReplyClassTest, ExchangeByeConnectionClosed) {
  EXPECT_EQ(Classify("* BYE Connection closed").cls, ReplyClass::kTemporary);
}

TEST(ReplyClassTest, ExchangeServerUnavailable) {
  const std::string line = "A1 NO Server Unavailable. 15";
  EXPECT_EQ(Classify(line).cls, ReplyClass::kTemporary);
  EXPECT_EQ(CodeOf(line), absl::StatusCode::kUnavailable);
}

TEST(ReplyClassTest, ExchangeAppendTooBig) {
  ReplyInfo info =
      Classify("A1 NO Maximum size of appendable message has been exceeded", ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kTooBig);
}

TEST(ReplyClassTest, ExchangeCommandArgumentError) {
  // On APPEND the message (a line over ~10,000 characters) is refused; elsewhere it is a BAD.
  const std::string line = "A1 BAD Command Argument Error. 11";
  ReplyInfo append = Classify(line, ReplyContext::kAppend);
  EXPECT_EQ(append.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(append.refusal, Refusal::kContent);
  EXPECT_EQ(Classify(line).cls, ReplyClass::kBadCommand);
  EXPECT_EQ(CodeOf(line), absl::StatusCode::kInvalidArgument);
}

TEST(ReplyClassTest, ExchangeFolderNameReserved) {
  const std::string line = "A1 NO Folder name is reserved";
  EXPECT_EQ(Classify(line, ReplyContext::kCreate).cls, ReplyClass::kMailboxRefused);
  EXPECT_EQ(CodeOf(line, ReplyContext::kCreate), absl::StatusCode::kFailedPrecondition);
}

// --- Dovecot 2.3 ------------------------------------------------------------------------

TEST(ReplyClassTest, DovecotMaxUserIpConnections) {
  const std::string line =
      "A1 NO [LIMIT] Maximum number of connections from user+IP exceeded "
      "(mail_max_userip_connections=10)";
  EXPECT_EQ(Classify(line, ReplyContext::kLogin).cls, ReplyClass::kConnectionCap);
  EXPECT_EQ(CodeOf(line, ReplyContext::kLogin), absl::StatusCode::kUnavailable);
}

TEST(ReplyClassTest, DovecotQuotaFullIsFinal) {
  const std::string line = "A1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)";
  EXPECT_EQ(Classify(line, ReplyContext::kAppend).cls, ReplyClass::kTargetFull);
  EXPECT_EQ(CodeOf(line, ReplyContext::kAppend), absl::StatusCode::kResourceExhausted);
}

TEST(ReplyClassTest, DovecotMailSizeLimit) {
  const std::string line =
      "A1 NO [LIMIT] Mail size is larger than the maximum size allowed by server configuration";
  ReplyInfo info = Classify(line, ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kTooBig);
  EXPECT_EQ(CodeOf(line, ReplyContext::kAppend), absl::StatusCode::kFailedPrecondition);
}

TEST(ReplyClassTest, DovecotZeroByteMessage) {
  ReplyInfo info = Classify("A1 NO Can't save a zero byte message.", ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kZeroLength);
}

// --- Cyrus ------------------------------------------------------------------------------

TEST(ReplyClassTest, CyrusNulBytes) {
  ReplyInfo info = Classify("A1 NO Message contains NUL characters", ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kContent);
}

TEST(ReplyClassTest, CyrusBareNewlines) {
  EXPECT_EQ(Classify("A1 NO Message contains bare newlines", ReplyContext::kAppend).refusal,
            Refusal::kContent);
}

TEST(ReplyClassTest, CyrusEightBitHeaders) {
  EXPECT_EQ(
      Classify("A1 NO Message contains non-ASCII characters in headers", ReplyContext::kAppend)
          .refusal,
      Refusal::kContent);
}

TEST(ReplyClassTest, CyrusNoHeaderBodySeparator) {
  EXPECT_EQ(Classify("A1 NO Message has no header/body separator", ReplyContext::kAppend).refusal,
            Refusal::kContent);
}

TEST(ReplyClassTest, CyrusTooManyUserFlags) {
  ReplyInfo info = Classify("A1 NO Too many user flags in mailbox", ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kKeywords);
}

// --- RFC 7889 / RFC 5530 ----------------------------------------------------------------

TEST(ReplyClassTest, Rfc7889TooBig) {
  ReplyInfo info = Classify("A1 NO [TOOBIG] Message too large", ReplyContext::kAppend);
  EXPECT_EQ(info.cls, ReplyClass::kMessageRefused);
  EXPECT_EQ(info.refusal, Refusal::kTooBig);
}

TEST(ReplyClassTest, Rfc5530Codes) {
  EXPECT_EQ(Classify("A1 NO [UNAVAILABLE] try later").cls, ReplyClass::kTemporary);
  EXPECT_EQ(Classify("A1 NO [TEMPFAIL] try later").cls, ReplyClass::kTemporary);
  EXPECT_EQ(Classify("A1 NO [THROTTLED] slow down").cls, ReplyClass::kThrottle);
  EXPECT_EQ(Classify("A1 NO [AUTHENTICATIONFAILED] no").cls, ReplyClass::kAuth);
  EXPECT_EQ(CodeOf("A1 NO [AUTHENTICATIONFAILED] no"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeOf("A1 NO [TRYCREATE] no such mailbox"), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeOf("A1 NO [ALREADYEXISTS] exists"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeOf("A1 NO [NOPERM] no"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf("A1 NO [LIMIT] too many flags on a message"),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeOf("A1 NO something else"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Classify("A1 NO Login failed", ReplyContext::kLogin).cls, ReplyClass::kAuth);
  // An unknown NO on APPEND is not taken for a refused message: it fails the folder.
  EXPECT_EQ(Classify("A1 NO Mailbox is locked somehow", ReplyContext::kAppend).cls,
            ReplyClass::kOther);
}

TEST(ReplyClassTest, ContextFromCommandName) {
  EXPECT_EQ(ContextOf("LOGIN"), ReplyContext::kLogin);
  EXPECT_EQ(ContextOf("AUTHENTICATE XOAUTH2"), ReplyContext::kLogin);
  EXPECT_EQ(ContextOf("APPEND"), ReplyContext::kAppend);
  EXPECT_EQ(ContextOf("CREATE"), ReplyContext::kCreate);
  EXPECT_EQ(ContextOf("SELECT"), ReplyContext::kOther);
}

TEST(ReplyClassTest, PayloadSurvivesAnnotate) {
  ReplyInfo info;
  info.cls = ReplyClass::kThrottle;
  info.suggested_wait = absl::Milliseconds(299609);
  absl::Status st = WithReply(absl::UnavailableError("throttled"), info);
  st = status::Annotate(st, "account a@x");
  auto back = ReplyOf(st);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->cls, ReplyClass::kThrottle);
  EXPECT_EQ(back->suggested_wait, absl::Milliseconds(299609));
  EXPECT_FALSE(IsMessageRefused(st));
  info.cls = ReplyClass::kMessageRefused;
  info.refusal = Refusal::kTooBig;
  EXPECT_TRUE(IsMessageRefused(WithReply(absl::FailedPreconditionError("x"), info)));
  EXPECT_FALSE(ReplyOf(absl::UnavailableError("plain")).has_value());
}

}  // namespace
}  // namespace imap
