// What a server's NO / BAD / BYE (or a slow-down OK) means for the client: the one place
// that knows the strings real providers send (Gmail, Microsoft 365 / Exchange, Dovecot,
// Cyrus, RFC 5530 and RFC 7889 response codes). I/O-free; Session::ResultToStatus maps a
// class to an absl::Status code and attaches the class to the status (ReplyOf reads it
// back), so callers above the session can tell a throttle from a connection cap, or a
// refused message from a full mailbox, without parsing messages.
//
//   class            absl code             what the caller does
//   kThrottle        kUnavailable          wait (suggested_wait when the server said), retry
//   kConnectionCap   kUnavailable          use fewer connections / retry later
//   kTemporary       kUnavailable          reconnect and retry the step
//   kMessageRefused  kFailedPrecondition   skip that one message, record it (import)
//   kTargetFull      kResourceExhausted    final for the account
//   kAuth            kUnauthenticated      final unless a token can be refreshed
//   kNotFound        kNotFound             [TRYCREATE], [NONEXISTENT]
//   kAlreadyExists   kAlreadyExists
//   kPermission      kPermissionDenied     [NOPERM]
//   kMailboxRefused  kFailedPrecondition   a reserved or invalid folder name
//   kBadCommand      kInvalidArgument      any other BAD (a client bug or a bad argument)
//   kOther           kFailedPrecondition   any other NO ([LIMIT] elsewhere: kResourceExhausted)
#ifndef MIGRATOR_COMMON_IMAP_REPLY_CLASS_H_
#define MIGRATOR_COMMON_IMAP_REPLY_CLASS_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/imap/parser.h"

namespace imap {

enum class ReplyClass {
  kOk,
  kThrottle,
  kConnectionCap,
  kTemporary,
  kMessageRefused,
  kTargetFull,
  kAuth,
  kNotFound,
  kAlreadyExists,
  kPermission,
  kMailboxRefused,
  kBadCommand,
  kOther,
};
const char* ReplyClassName(ReplyClass c);  // "throttle", "message refused", ...

// Why a message was refused (kMessageRefused only).
enum class Refusal {
  kNone,
  kTooBig,      // [TOOBIG], Dovecot's [LIMIT] on APPEND, Exchange's appendable size
  kContent,     // NUL bytes, bare newlines, 8-bit headers, no header/body separator, ...
  kZeroLength,  // an empty message
  kBadDate,     // an INTERNALDATE the server will not take
  kKeywords,    // too many keywords in the mailbox: send the message without them
};
const char* RefusalName(Refusal r);  // "too big", "content refused", ...

// The command a reply completes, where the same words mean different things ([LIMIT] at
// login is a connection cap, on APPEND a size limit).
enum class ReplyContext { kOther, kLogin, kAppend, kCreate };
// From a command name as the session knows it: "LOGIN", "AUTHENTICATE ..." → kLogin,
// "APPEND" → kAppend, "CREATE" → kCreate.
ReplyContext ContextOf(absl::string_view command);

struct ReplyInfo {
  ReplyClass cls = ReplyClass::kOk;
  Refusal refusal = Refusal::kNone;
  // kThrottle: the wait the server suggested (Exchange's "Suggested Backoff Time: N
  // milliseconds"); zero when it gave none.
  absl::Duration suggested_wait = absl::ZeroDuration();
  // An OK that asks the client to slow down (Gmail's "OK Success [THROTTLED]").
  bool slow_down = false;
};

// Classifies a tagged completion or an untagged BYE. `status` is kOk, kNo, kBad or kBye.
ReplyInfo ClassifyReply(StatusKind status, const absl::optional<ResponseCode>& code,
                        absl::string_view text, ReplyContext context);

// The absl::Status code for a class (see the table above); kOk for kOk.
absl::StatusCode StatusCodeFor(const ReplyInfo& info, const absl::optional<ResponseCode>& code);

// Attaches `info` to `status` (a payload that status::Annotate keeps) / reads it back.
absl::Status WithReply(absl::Status status, const ReplyInfo& info);
absl::optional<ReplyInfo> ReplyOf(const absl::Status& status);
// True when `status` says a server refused one message (ReplyOf(...)->cls is
// kMessageRefused).
bool IsMessageRefused(const absl::Status& status);

// APPENDLIMIT from a capability set (upper-cased atoms, "APPENDLIMIT=35651584"): the
// largest message the server takes, or nullopt when it does not say (a bare
// "APPENDLIMIT" means the limit is per mailbox: nullopt too).
absl::optional<uint64_t> AppendLimitOf(const std::set<std::string>& capabilities);
// True when the capabilities hold a bare "APPENDLIMIT": the limits are per mailbox, asked
// for with STATUS (APPENDLIMIT) (MailboxAppendLimit in commands.h).
bool HasMailboxAppendLimits(const std::set<std::string>& capabilities);

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_REPLY_CLASS_H_
