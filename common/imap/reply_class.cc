#include "common/imap/reply_class.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace imap {
namespace {

// Any context / any status in a rule.
constexpr ReplyContext kAnyContext = static_cast<ReplyContext>(-1);

// One provider string. A rule matches when the response code is `code` (empty: any code,
// or none), the lower-cased text contains `needle` (empty: any text) and the command's
// context is `context`. BYE replies are matched by the same rules as NO and BAD. The first
// matching rule wins, so the more specific come first.
struct Rule {
  const char* code;
  const char* needle;
  ReplyContext context;
  ReplyClass cls;
  Refusal refusal;
  const char* source;  // who sends it (documentation only)
};

// clang-format off
const Rule kRules[] = {
    // --- throttling: the command failed, retry it later ---
    {"", "suggested backoff time", kAnyContext, ReplyClass::kThrottle, Refusal::kNone,
     "Exchange: Request is throttled. Suggested Backoff Time: N milliseconds (NO or BAD)"},
    {"", "request is throttled", kAnyContext, ReplyClass::kThrottle, Refusal::kNone, "Exchange"},
    {"OVERQUOTA", "command or bandwidth limits", kAnyContext, ReplyClass::kThrottle,
     Refusal::kNone, "Gmail: Account exceeded command or bandwidth limits (a budget)"},
    {"THROTTLED", "", kAnyContext, ReplyClass::kThrottle, Refusal::kNone, "RFC 5530-style"},
    // --- connection caps ---
    {"", "too many simultaneous connections", kAnyContext, ReplyClass::kConnectionCap,
     Refusal::kNone, "Gmail: over 15 connections"},
    {"", "maximum number of connections", kAnyContext, ReplyClass::kConnectionCap,
     Refusal::kNone, "Dovecot: mail_max_userip_connections"},
    {"", "too many connections", kAnyContext, ReplyClass::kConnectionCap, Refusal::kNone, ""},
    {"LIMIT", "", ReplyContext::kLogin, ReplyClass::kConnectionCap, Refusal::kNone,
     "Dovecot [LIMIT] at login"},
    // --- a message the target will not take ---
    {"TOOBIG", "", kAnyContext, ReplyClass::kMessageRefused, Refusal::kTooBig, "RFC 7889"},
    {"", "maximum size of appendable message", kAnyContext, ReplyClass::kMessageRefused,
     Refusal::kTooBig, "Exchange: 35 MB default, no APPENDLIMIT advertised"},
    {"", "too many user flags", kAnyContext, ReplyClass::kMessageRefused, Refusal::kKeywords,
     "Cyrus: more than 128 keywords in a mailbox"},
    {"LIMIT", "flag", ReplyContext::kAppend, ReplyClass::kMessageRefused, Refusal::kKeywords,
     "RFC 5530 [LIMIT] on flags"},
    {"LIMIT", "keyword", ReplyContext::kAppend, ReplyClass::kMessageRefused, Refusal::kKeywords,
     ""},
    {"LIMIT", "", ReplyContext::kAppend, ReplyClass::kMessageRefused, Refusal::kTooBig,
     "Dovecot quota_max_mail_size: Mail size is larger than the maximum size allowed"},
    {"", "message size exceeds", kAnyContext, ReplyClass::kMessageRefused, Refusal::kTooBig,
     "Cyrus: Message size exceeds fixed limit"},
    {"", "zero byte message", kAnyContext, ReplyClass::kMessageRefused, Refusal::kZeroLength,
     "Dovecot: Can't save a zero byte message."},
    {"", "message contains nul", kAnyContext, ReplyClass::kMessageRefused, Refusal::kContent,
     "Cyrus"},
    {"", "message contains bare newlines", kAnyContext, ReplyClass::kMessageRefused,
     Refusal::kContent, "Cyrus"},
    {"", "non-ascii characters in headers", kAnyContext, ReplyClass::kMessageRefused,
     Refusal::kContent, "Cyrus: 8-bit header bytes"},
    {"", "message contains invalid header", kAnyContext, ReplyClass::kMessageRefused,
     Refusal::kContent, "Cyrus"},
    {"", "no header/body separator", kAnyContext, ReplyClass::kMessageRefused,
     Refusal::kContent, "Cyrus"},
    {"", "command argument error", ReplyContext::kAppend, ReplyClass::kMessageRefused,
     Refusal::kContent, "Exchange: a line over ~10,000 characters"},
    {"", "internal date", ReplyContext::kAppend, ReplyClass::kMessageRefused, Refusal::kBadDate,
     ""},
    {"", "invalid date", ReplyContext::kAppend, ReplyClass::kMessageRefused, Refusal::kBadDate,
     ""},
    // --- the target is full: final for the account ---
    {"OVERQUOTA", "", kAnyContext, ReplyClass::kTargetFull, Refusal::kNone,
     "Dovecot: Quota exceeded (mailbox for user is full)"},
    {"", "quota exceeded", ReplyContext::kAppend, ReplyClass::kTargetFull, Refusal::kNone, ""},
    {"", "over quota", ReplyContext::kAppend, ReplyClass::kTargetFull, Refusal::kNone, "Cyrus"},
    // --- temporary: reconnect and retry ---
    {"UNAVAILABLE", "", kAnyContext, ReplyClass::kTemporary, Refusal::kNone, "RFC 5530"},
    {"INUSE", "", kAnyContext, ReplyClass::kTemporary, Refusal::kNone, "RFC 5530"},
    {"SERVERBUG", "", kAnyContext, ReplyClass::kTemporary, Refusal::kNone, "RFC 5530"},
    {"TEMPFAIL", "", kAnyContext, ReplyClass::kTemporary, Refusal::kNone, ""},
    {"", "server unavailable", kAnyContext, ReplyClass::kTemporary, Refusal::kNone,
     "Exchange: Server Unavailable. 15"},
    {"", "temporary failure", kAnyContext, ReplyClass::kTemporary, Refusal::kNone, ""},
    // --- authentication ---
    {"AUTHENTICATIONFAILED", "", kAnyContext, ReplyClass::kAuth, Refusal::kNone, "RFC 5530"},
    {"AUTHORIZATIONFAILED", "", kAnyContext, ReplyClass::kAuth, Refusal::kNone, "RFC 5530"},
    {"EXPIRED", "", kAnyContext, ReplyClass::kAuth, Refusal::kNone, "RFC 5530"},
    {"PRIVACYREQUIRED", "", kAnyContext, ReplyClass::kAuth, Refusal::kNone, "RFC 5530"},
    // --- mailboxes ---
    {"TRYCREATE", "", kAnyContext, ReplyClass::kNotFound, Refusal::kNone, "RFC 3501"},
    {"NONEXISTENT", "", kAnyContext, ReplyClass::kNotFound, Refusal::kNone, "RFC 5530"},
    {"ALREADYEXISTS", "", kAnyContext, ReplyClass::kAlreadyExists, Refusal::kNone, "RFC 5530"},
    {"NOPERM", "", kAnyContext, ReplyClass::kPermission, Refusal::kNone, "RFC 5530"},
    {"", "folder name is reserved", kAnyContext, ReplyClass::kMailboxRefused, Refusal::kNone,
     "Exchange: Files"},
    {"CANNOT", "", ReplyContext::kCreate, ReplyClass::kMailboxRefused, Refusal::kNone,
     "RFC 5530"},
};
// clang-format on

bool Matches(const Rule& rule, absl::string_view code, absl::string_view lower_text,
             ReplyContext context) {
  if (rule.code[0] != '\0' && code != rule.code) return false;
  if (rule.needle[0] != '\0' && !absl::StrContains(lower_text, rule.needle)) return false;
  return rule.context == kAnyContext || rule.context == context;
}

// "Suggested Backoff Time: 299609 milliseconds" → 299609 ms (seconds when it says so).
absl::Duration SuggestedWait(absl::string_view lower_text) {
  constexpr absl::string_view kKey = "suggested backoff time:";
  const size_t at = lower_text.find(kKey);
  if (at == absl::string_view::npos) return absl::ZeroDuration();
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(lower_text.substr(at + kKey.size()));
  size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
  uint64_t n = 0;
  if (digits == 0 || digits > 12 || !absl::SimpleAtoi(rest.substr(0, digits), &n)) {
    return absl::ZeroDuration();
  }
  rest = absl::StripLeadingAsciiWhitespace(rest.substr(digits));
  if (absl::StartsWith(rest, "s") || absl::StartsWith(rest, "sec")) return absl::Seconds(n);
  return absl::Milliseconds(n);
}

constexpr absl::string_view kPayloadUrl = "type.migrator/imap.ReplyInfo";

}  // namespace

const char* ReplyClassName(ReplyClass c) {
  switch (c) {
    case ReplyClass::kOk:
      return "ok";
    case ReplyClass::kThrottle:
      return "throttle";
    case ReplyClass::kConnectionCap:
      return "connection cap";
    case ReplyClass::kTemporary:
      return "temporary";
    case ReplyClass::kMessageRefused:
      return "message refused";
    case ReplyClass::kTargetFull:
      return "target full";
    case ReplyClass::kAuth:
      return "auth";
    case ReplyClass::kNotFound:
      return "not found";
    case ReplyClass::kAlreadyExists:
      return "already exists";
    case ReplyClass::kPermission:
      return "permission";
    case ReplyClass::kMailboxRefused:
      return "mailbox refused";
    case ReplyClass::kBadCommand:
      return "bad command";
    case ReplyClass::kOther:
      return "other";
  }
  return "?";
}

const char* RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kTooBig:
      return "too big";
    case Refusal::kContent:
      return "content refused";
    case Refusal::kZeroLength:
      return "zero length";
    case Refusal::kBadDate:
      return "bad date";
    case Refusal::kKeywords:
      return "too many keywords";
  }
  return "?";
}

ReplyContext ContextOf(absl::string_view command) {
  if (absl::StartsWithIgnoreCase(command, "LOGIN") ||
      absl::StartsWithIgnoreCase(command, "AUTHENTICATE")) {
    return ReplyContext::kLogin;
  }
  if (absl::StartsWithIgnoreCase(command, "APPEND")) return ReplyContext::kAppend;
  if (absl::StartsWithIgnoreCase(command, "CREATE")) return ReplyContext::kCreate;
  return ReplyContext::kOther;
}

ReplyInfo ClassifyReply(StatusKind status, const absl::optional<ResponseCode>& code,
                        absl::string_view text, ReplyContext context) {
  ReplyInfo info;
  const std::string lower = absl::AsciiStrToLower(text);
  const std::string code_name = code ? code->name : "";
  if (status == StatusKind::kOk || status == StatusKind::kPreauth || status == StatusKind::kNone) {
    // Gmail puts its code at the end: "OK Success [THROTTLED]".
    info.slow_down = code_name == "THROTTLED" || absl::StrContains(lower, "[throttled]");
    return info;
  }
  for (const Rule& rule : kRules) {
    if (!Matches(rule, code_name, lower, context)) continue;
    info.cls = rule.cls;
    info.refusal = rule.refusal;
    if (info.cls == ReplyClass::kThrottle) info.suggested_wait = SuggestedWait(lower);
    return info;
  }
  if (status == StatusKind::kBye) {
    info.cls = ReplyClass::kTemporary;  // BYE mid-session: "Session expired", "Connection closed"
  } else if (status == StatusKind::kBad) {
    info.cls = ReplyClass::kBadCommand;
  } else if (context == ReplyContext::kLogin) {
    info.cls = ReplyClass::kAuth;
  } else {
    info.cls = ReplyClass::kOther;
  }
  return info;
}

absl::StatusCode StatusCodeFor(const ReplyInfo& info, const absl::optional<ResponseCode>& code) {
  switch (info.cls) {
    case ReplyClass::kOk:
      return absl::StatusCode::kOk;
    case ReplyClass::kThrottle:
    case ReplyClass::kConnectionCap:
    case ReplyClass::kTemporary:
      return absl::StatusCode::kUnavailable;
    case ReplyClass::kTargetFull:
      return absl::StatusCode::kResourceExhausted;
    case ReplyClass::kAuth:
      return absl::StatusCode::kUnauthenticated;
    case ReplyClass::kNotFound:
      return absl::StatusCode::kNotFound;
    case ReplyClass::kAlreadyExists:
      return absl::StatusCode::kAlreadyExists;
    case ReplyClass::kPermission:
      return absl::StatusCode::kPermissionDenied;
    case ReplyClass::kBadCommand:
      return absl::StatusCode::kInvalidArgument;
    case ReplyClass::kMessageRefused:
    case ReplyClass::kMailboxRefused:
      return absl::StatusCode::kFailedPrecondition;
    case ReplyClass::kOther:
      // An implementation limit elsewhere (RFC 5530 [LIMIT]) stays "resource exhausted".
      return code && code->name == "LIMIT" ? absl::StatusCode::kResourceExhausted
                                           : absl::StatusCode::kFailedPrecondition;
  }
  return absl::StatusCode::kFailedPrecondition;
}

absl::Status WithReply(absl::Status status, const ReplyInfo& info) {
  if (status.ok()) return status;
  status.SetPayload(
      kPayloadUrl,
      absl::Cord(absl::StrCat(static_cast<int>(info.cls), ",", static_cast<int>(info.refusal), ",",
                              absl::ToInt64Milliseconds(info.suggested_wait))));
  return status;
}

absl::optional<ReplyInfo> ReplyOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload) return absl::nullopt;
  std::vector<std::string> parts = absl::StrSplit(std::string(*payload), ',');
  int cls = 0, refusal = 0;
  int64_t wait_ms = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &cls) ||
      !absl::SimpleAtoi(parts[1], &refusal) || !absl::SimpleAtoi(parts[2], &wait_ms) || cls < 0 ||
      cls > static_cast<int>(ReplyClass::kOther) || refusal < 0 ||
      refusal > static_cast<int>(Refusal::kKeywords)) {
    return absl::nullopt;
  }
  ReplyInfo info;
  info.cls = static_cast<ReplyClass>(cls);
  info.refusal = static_cast<Refusal>(refusal);
  info.suggested_wait = absl::Milliseconds(wait_ms);
  return info;
}

bool IsMessageRefused(const absl::Status& status) {
  auto info = ReplyOf(status);
  return info && info->cls == ReplyClass::kMessageRefused;
}

absl::optional<uint64_t> AppendLimitOf(const std::set<std::string>& capabilities) {
  for (const std::string& cap : capabilities) {
    absl::string_view v = cap;
    if (!absl::ConsumePrefix(&v, "APPENDLIMIT=")) continue;
    uint64_t n = 0;
    if (absl::SimpleAtoi(v, &n)) return n;
  }
  return absl::nullopt;
}

bool HasMailboxAppendLimits(const std::set<std::string>& capabilities) {
  return capabilities.count("APPENDLIMIT") > 0 && !AppendLimitOf(capabilities);
}

}  // namespace imap
