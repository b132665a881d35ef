// Typed IMAP commands over a Session: what the export/import/validate/test modes need.
// Every command checks the capability it relies on before use and falls back to plain
// RFC 3501 where one is missing. Errors name the peer, the command and the mailbox; no
// secret ever appears in a status or a log line.
//
// Mailbox arguments are the server's raw (modified UTF-7) names as listed; use
// EncodeMailboxName() to turn a UTF-8 name into one.
#ifndef MIGRATOR_COMMON_IMAP_COMMANDS_H_
#define MIGRATOR_COMMON_IMAP_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "common/imap/session.h"

namespace imap {

// --- Authentication -----------------------------------------------------------------------
enum class AuthMethod {
  kAuto,         // AUTHENTICATE PLAIN when advertised, else LOGIN
  kLogin,        // LOGIN user password
  kPlain,        // AUTHENTICATE PLAIN (SASL-IR when advertised), optional authzid
  kXoauth2,      // AUTHENTICATE XOAUTH2 (Gmail, Microsoft 365)
  kOauthBearer,  // AUTHENTICATE OAUTHBEARER (RFC 7628)
};

struct Credentials {
  AuthMethod method = AuthMethod::kAuto;
  std::string user;
  std::string secret;   // password or OAuth2 access token; never logged
  std::string authzid;  // kPlain: the identity to act as (admin / proxy logins)
};

// Logs in; on failure kUnauthenticated with a message naming the user (never the secret).
// Refreshes the capabilities afterwards (servers often add some after login).
absl::Status Authenticate(Session& session, const Credentials& credentials);

// ID (RFC 2971) when advertised: sends our name and version; returns the server's fields.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Id(Session& session);

// ENABLE the advertised subset of `extensions`; returns those the server enabled.
absl::StatusOr<std::vector<std::string>> Enable(Session& session,
                                                const std::vector<std::string>& extensions);

// --- Mailboxes ----------------------------------------------------------------------------
struct NamespaceEntry {
  std::string prefix;  // raw, e.g. "" or "INBOX."
  char delimiter = 0;  // 0: flat (NIL)
};
struct Namespaces {
  std::vector<NamespaceEntry> personal, other, shared;
};
// NAMESPACE when advertised; else one personal namespace "" with the delimiter from LIST.
absl::StatusOr<Namespaces> GetNamespaces(Session& session);

struct MailboxInfo {
  std::string name;      // UTF-8 (decoded from modified UTF-7), or raw_name if undecodable
  std::string raw_name;  // exactly as the server sent it
  bool name_decoded = true;
  char delimiter = 0;                   // 0: NIL (flat)
  std::vector<std::string> attributes;  // as sent: "\HasNoChildren", "\Sent", ...
  // From LIST-STATUS (RFC 5819), when ListAll asked for it and the server
  // offers it; `size` (RFC 8438 STATUS=SIZE: the mailbox's total RFC822.SIZE) only when
  // asked for too and STATUS=SIZE is advertised.
  absl::optional<uint64_t> messages, uidvalidity, size;
  bool selectable() const;          // not \Noselect / \NonExistent
  std::string special_use() const;  // "\Sent", "\Drafts", ... or "" (RFC 6154)
};
// LIST reference pattern (with RETURN (SPECIAL-USE) when advertised).
absl::StatusOr<std::vector<MailboxInfo>> List(Session& session, absl::string_view pattern = "*");

// NAMESPACE (when advertised) and LIST "" "*" pipelined: one round trip for
// both. With `with_status` and LIST-STATUS advertised, each mailbox also
// carries its MESSAGES and UIDVALIDITY (no EXAMINE or STATUS per folder needed
// to know its size), and with `with_size` and STATUS=SIZE advertised its SIZE in
// bytes too (LIST ... RETURN (STATUS (MESSAGES UIDVALIDITY SIZE))).
struct MailboxList {
  Namespaces namespaces;
  std::vector<MailboxInfo> mailboxes;
};
absl::StatusOr<MailboxList> ListAll(Session& session, bool with_status, bool with_size = false);

struct MailboxStatus {
  absl::optional<uint64_t> messages, uidnext, uidvalidity, unseen, highestmodseq;
  absl::optional<uint64_t> size;  // RFC 8438: when asked for and STATUS=SIZE is advertised
};
absl::StatusOr<MailboxStatus> Status(Session& session, absl::string_view mailbox);
// STATUS mailbox (APPENDLIMIT) (RFC 7889, for a server advertising a bare APPENDLIMIT): the
// largest message `mailbox` takes; nullopt when the server answers NIL (no limit).
absl::StatusOr<absl::optional<uint64_t>> MailboxAppendLimit(Session& session,
                                                            absl::string_view mailbox);
// STATUS (MESSAGES UIDVALIDITY [SIZE]) of each of `mailboxes`, the commands pipelined (one
// round trip for all); SIZE when `with_size` and STATUS=SIZE is advertised. One result per
// mailbox (a NO fails only its own); an error return means the session broke.
absl::StatusOr<std::vector<absl::StatusOr<MailboxStatus>>> StatusEach(
    Session& session, const std::vector<std::string>& mailboxes, bool with_size);

struct SelectedMailbox {
  uint64_t exists = 0;
  uint64_t uidvalidity = 0;
  uint64_t uidnext = 0;  // 0 when the server did not say
  absl::optional<uint64_t> highestmodseq;
  std::vector<std::string> flags;
  std::vector<std::string> permanent_flags;  // may include "\*" (new keywords allowed)
  bool read_only = false;
};
// SELECT, or EXAMINE when `read_only` (nothing on the server changes).
absl::StatusOr<SelectedMailbox> Select(Session& session, absl::string_view mailbox, bool read_only);

absl::Status Create(Session& session, absl::string_view mailbox);

// UID SEARCH `criteria` (e.g. "ALL", "UID 100:*"): the matching UIDs, ascending.
absl::StatusOr<std::vector<uint32_t>> UidSearch(Session& session,
                                                absl::string_view criteria = "ALL");

absl::Status Noop(Session& session);
absl::Status Logout(Session& session);

// UTF-8 → the name to send (modified UTF-7). kInvalidArgument on invalid UTF-8.
absl::StatusOr<std::string> EncodeMailboxName(absl::string_view utf8);

// --- Fetch --------------------------------------------------------------------------------
struct FetchedMessage {
  uint64_t seq = 0;
  uint32_t uid = 0;
  std::vector<std::string> flags;  // without \Recent (session state, not a flag)
  std::string internaldate;        // as sent: "17-Jul-1996 02:44:25 -0700" (not checked)
  uint64_t size = 0;               // RFC822.SIZE
  // RFC822.SIZE as sent when it is not a number (negative, NIL, ...): the caller decides
  // (a broken size is not a broken message). Unset when the item was a number or absent.
  absl::optional<std::string> size_raw;
  bool has_size = false;  // RFC822.SIZE was sent (a number or not)
  bool has_body = false;  // the body was delivered through BodyBegin/Data/End
  uint64_t body_size = 0;
  std::string message_id;     // from the Message-ID header field, when asked for
  std::string header_fields;  // the BODY[HEADER.FIELDS (...)] block as sent, when asked for
  // Gmail (X-GM-EXT-1), when asked for (FetchOptions::gmail): the message's X-GM-MSGID and
  // X-GM-LABELS as sent (system labels "\\Inbox", user labels in modified UTF-7).
  absl::optional<uint64_t> gmail_msgid;
  bool has_gmail_labels = false;
  std::vector<std::string> gmail_labels;
};

// Receives fetched messages. For each message with a body: BodyBegin, BodyData*, BodyEnd,
// then OnMessage; the body arrives before the UID may be known (servers choose the order of
// FETCH items), so a sink keys the body by `seq` until OnMessage. Unsolicited FETCH
// responses (flag changes) arrive as OnMessage without a body.
class FetchSink {
 public:
  virtual ~FetchSink() = default;
  virtual absl::Status BodyBegin(uint64_t seq, uint64_t size) = 0;
  virtual absl::Status BodyData(absl::string_view chunk) = 0;
  virtual absl::Status BodyEnd() = 0;
  virtual absl::Status OnMessage(const FetchedMessage& message) = 0;
};

struct FetchOptions {
  bool body = true;         // BODY.PEEK[] (never sets \Seen)
  bool attributes = true;   // FLAGS INTERNALDATE (false: UID and RFC822.SIZE only)
  bool message_id = false;  // BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]
  // More header fields (a HEADER.FIELDS list: "DATE FROM"), in the same BODY.PEEK item;
  // the block comes in FetchedMessage::header_fields.
  std::string header_fields;
  bool gmail = false;  // X-GM-MSGID X-GM-LABELS (only for a server offering X-GM-EXT-1)
  size_t uids_per_command = 64;
  // Commands in flight at once (capped by the session's max_pipelined_commands). 1 = wait
  // for each command before sending the next.
  size_t max_in_flight = 16;
};

// UID FETCH of `uids` (ascending), split into commands of uids_per_command and pipelined.
absl::Status UidFetch(Session& session, const std::vector<uint32_t>& uids,
                      const FetchOptions& options, FetchSink* sink);
// SELECT (or EXAMINE when `read_only`) and UID FETCH `uid_set` sent back to
// back: the data starts one round trip after the request instead of two.
// `on_selected` runs with the mailbox's state before the sink sees its first
// message (and also when no message comes); an error from it or from the sink
// ends the session. A failed SELECT fails the call with its own error (the
// FETCH behind it fails too and delivers nothing). A FETCH refused on an empty
// mailbox (some servers reject "1:*" there) counts as an empty result.
using SelectedCallback = std::function<absl::Status(const SelectedMailbox&)>;
absl::StatusOr<SelectedMailbox> SelectAndFetch(Session& session, absl::string_view mailbox,
                                               bool read_only, absl::string_view uid_set,
                                               const FetchOptions& options, FetchSink* sink,
                                               const SelectedCallback& on_selected);

// Several SELECT + UID FETCH pairs sent back to back on one session: the data of every
// mailbox arrives after one round trip. Each request's `result` is set as for
// SelectAndFetch (a failed SELECT fails only its own request). Returns an error when the
// session broke; requests with `ran` false then have no result.
struct MailboxFetch {
  std::string mailbox;
  bool read_only = true;
  std::string uid_set = "1:*";
  FetchOptions options;
  FetchSink* sink = nullptr;
  SelectedCallback on_selected;  // may be empty
  bool ran = false;
  absl::StatusOr<SelectedMailbox> result = absl::UnknownError("not run");
};
absl::Status SelectAndFetchMany(Session& session, std::vector<MailboxFetch>& requests);

// --- Append -------------------------------------------------------------------------------
struct AppendMessage {
  std::vector<std::string> flags;  // system flags and keywords; \Recent is dropped
  std::string internaldate;        // IMAP date-time, or empty for "now"
  std::shared_ptr<LiteralSource> body;
};
struct AppendResult {
  uint64_t uidvalidity = 0;  // from APPENDUID (UIDPLUS), else 0
  uint32_t uid = 0;
};
// True when `flag` can be sent in a flag list (a system flag "\\Seen" or a keyword atom).
bool IsFlagSafe(absl::string_view flag);

absl::StatusOr<AppendResult> Append(Session& session, absl::string_view mailbox,
                                    const AppendMessage& message);
// Several messages in one MULTIAPPEND command when advertised (all or none are added);
// else pipelined single APPENDs. One result per message.
absl::StatusOr<std::vector<AppendResult>> AppendMany(Session& session, absl::string_view mailbox,
                                                     const std::vector<AppendMessage>& messages);
// One APPEND per message, pipelined: one status per message, so a message the server
// refuses (imap::IsMessageRefused) does not hide which others went in. An error return
// means the session broke (what was appended before is then unknown).
absl::StatusOr<std::vector<absl::Status>> AppendEach(Session& session, absl::string_view mailbox,
                                                     const std::vector<AppendMessage>& messages);

// --- Gmail (X-GM-EXT-1) ---------------------------------------------------------------------
// UID STORE uid +X-GM-LABELS (labels) for each entry, pipelined: adds labels to messages of
// the selected mailbox (system labels "\\Inbox" as atoms, the others quoted; pass them as
// the server spells them: modified UTF-7). One status per entry; an error return means the
// session broke.
absl::StatusOr<std::vector<absl::Status>> AddGmailLabels(
    Session& session, const std::vector<std::pair<uint32_t, std::vector<std::string>>>& labels);

}  // namespace imap

namespace imap {
// The unfolded value of the first header field `name` (case-insensitive) in an RFC 5322
// header block, trimmed; empty when absent. Stops at the end of the header (blank line).
std::string HeaderValue(absl::string_view header_block, absl::string_view name);
}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_COMMANDS_H_
