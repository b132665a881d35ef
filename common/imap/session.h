// An IMAP client session over a ByteStream: tags, pipelining with a cap on commands in
// flight, synchronizing and non-synchronizing literals, continuation requests, capability
// tracking, STARTTLS and COMPRESS=DEFLATE, and the mapping of NO/BAD/BYE/disconnects to
// absl::Status codes (README "Architecture", error codes).
//
// Typed commands (LOGIN, LIST, SELECT, UID FETCH, APPEND, ...) are in commands.h; they are
// built on Send()/Wait() here.
//
// Thread-safety: none. One thread drives a session. The session owns its connection.
#ifndef MIGRATOR_COMMON_IMAP_SESSION_H_
#define MIGRATOR_COMMON_IMAP_SESSION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/imap/command.h"
#include "common/imap/limits.h"
#include "common/imap/parser.h"
#include "common/imap/reply_class.h"
#include "common/net/stream.h"
#include "common/net/transport.h"

namespace imap {

// Receives the untagged responses (and streamed literals) that arrive while the command it
// was given to is the oldest one in flight. Returning an error aborts the session's wait
// with that error (the connection stays usable only if the caller drains it).
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  virtual absl::Status OnUntagged(const Response& response) = 0;
  // A literal too large to buffer is being streamed (see Parser).
  virtual absl::Status OnLiteralBegin(const Event& event) {
    return absl::UnimplementedError("unexpected streamed literal");
  }
  virtual absl::Status OnLiteralData(absl::string_view chunk) { return absl::OkStatus(); }
  virtual absl::Status OnLiteralEnd() { return absl::OkStatus(); }
};

// How a tagged command completed.
struct CommandResult {
  StatusKind status = StatusKind::kNone;  // kOk, kNo or kBad
  absl::optional<ResponseCode> code;
  std::string text;
};

struct SessionOptions {
  net::ConnectOptions connect;
  Limits parser_limits;
  SessionLimits limits;
  // Use COMPRESS=DEFLATE after login when the server advertises it.
  bool compress = false;
  // Use LITERAL+ / LITERAL- when advertised.
  bool literal_plus = true;
  // Called on the session's thread with what the server answered, for every OK that asks
  // to slow down ("OK Success [THROTTLED]": info.slow_down; before the next response is
  // read, so a caller that sleeps here slows the session down), every NO or BAD that
  // completes a command (classified with that command's context), and a BYE that ends the
  // session while commands were still to come.
  std::function<void(const ReplyInfo&)> on_reply;
};

class Session {
 public:
  // Connects (TLS as options say), reads the greeting, runs STARTTLS when asked (failing
  // with kFailedPrecondition when the server does not offer it: we never fall back to
  // plain text), and learns the capabilities. Errors name host and port.
  static absl::StatusOr<std::unique_ptr<Session>> Connect(const SessionOptions& options);

  // Over an already-open stream (tests drive a scripted peer this way). `connection` may
  // be null when `stream` is not upgradable. Reads the greeting and capabilities.
  static absl::StatusOr<std::unique_ptr<Session>> Open(std::unique_ptr<net::ByteStream> stream,
                                                       const SessionOptions& options);

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // --- Capabilities -------------------------------------------------------------------
  bool HasCapability(absl::string_view cap) const;  // case-insensitive, e.g. "LITERAL+"
  const std::set<std::string>& capabilities() const { return capabilities_; }
  // Replaces the capability set (from a CAPABILITY response or response code).
  void SetCapabilities(const std::vector<Value>& atoms);
  // Issues CAPABILITY and replaces the set.
  absl::Status RefreshCapabilities();
  bool preauthenticated() const { return preauth_; }

  // --- Commands -----------------------------------------------------------------------
  // Sends `cmd` with a new tag and returns the tag without waiting for completion, so
  // several commands can be in flight. Untagged responses that arrive while this is the
  // oldest command in flight go to `handler` (or are dropped after updating session state
  // when null). Blocks while max_pipelined_commands are in flight, and while waiting for
  // "+" before a synchronizing literal (a NO/BAD instead of "+" completes the command).
  absl::StatusOr<std::string> Send(const Command& cmd, ResponseHandler* handler = nullptr);
  // Reads responses until the command with `tag` completes.
  absl::StatusOr<CommandResult> Wait(const std::string& tag);
  // Send + Wait; a NO or BAD becomes an error (see ResultToStatus).
  absl::Status Execute(const Command& cmd, ResponseHandler* handler = nullptr,
                       CommandResult* result = nullptr);
  size_t in_flight() const { return in_flight_.size(); }
  // The result of `tag` when it has completed and Wait has not collected it
  // yet; else null. Lets a handler of a later pipelined command check an
  // earlier one (responses arrive in order, so a command sent before has
  // completed once the next one's data arrives).
  const CommandResult* Peek(const std::string& tag) const;

  // Waits for a continuation request ("+ ...") and returns its text; used by AUTHENTICATE.
  // Fails if `tag` completes first (its result is then returned by Wait).
  absl::StatusOr<std::string> WaitContinuation(const std::string& tag);
  // Writes a raw line (CRLF appended) and flushes: an AUTHENTICATE response. Never logged.
  absl::Status SendContinuationLine(absl::string_view line);

  // --- Transport changes --------------------------------------------------------------
  // STARTTLS: discards every byte received before the handshake, then refreshes the
  // capabilities.
  absl::Status StartTls();
  // COMPRESS DEFLATE (RFC 4978) when advertised; a no-op returning false when not.
  absl::StatusOr<bool> StartCompression();
  bool compressed() const { return deflate_ != nullptr; }

  // Marks the session closed after LOGOUT or a fatal error; later calls fail.
  void Close();
  bool closed() const { return closed_; }

  // "host:port" for messages.
  const std::string& peer() const { return peer_; }
  const SessionOptions& options() const { return options_; }

  // Maps a completion to a status through ClassifyReply (reply_class.h: the one table of
  // provider strings): throttle, connection cap and temporary → kUnavailable; message
  // refused → kFailedPrecondition; target full → kResourceExhausted; auth →
  // kUnauthenticated; [TRYCREATE] → kNotFound; other BAD → kInvalidArgument; other NO →
  // kFailedPrecondition. The class rides along (imap::ReplyOf(status)). The message names
  // `what` (the command: it sets the context, e.g. [LIMIT] on APPEND vs at login), the
  // peer, the server's code and text, and a throttle's suggested wait.
  absl::Status ResultToStatus(const CommandResult& result, absl::string_view what) const;
  // OKs that asked us to slow down (Gmail's "OK Success [THROTTLED]") on this session.
  uint64_t slow_downs() const { return slow_downs_; }

  // A read-only session (dry runs, test mode) refuses, before sending anything, every
  // command that could change the server's mail or folders: APPEND, CREATE, DELETE,
  // RENAME, (UID) STORE / COPY / MOVE / EXPUNGE, SELECT (EXAMINE is fine),
  // (UN)SUBSCRIBE (kFailedPrecondition naming the command; the session stays usable).
  void set_read_only(bool read_only) { read_only_ = read_only; }
  bool read_only() const { return read_only_; }

 private:
  struct Pending {
    std::string tag;
    ResponseHandler* handler = nullptr;
    std::string what;  // the command, for error messages (never a secret)
  };

  Session(std::unique_ptr<net::ByteStream> stream, net::Connection* connection,
          const SessionOptions& options);
  absl::Status ReadGreeting();
  // Runs `cmd` and stops reading right after its completion: the transport changes next
  // (STARTTLS, COMPRESS), so bytes after it must not be parsed as before.
  absl::Status ExecuteBarrier(const Command& cmd);
  absl::Status WriteCommand(const Command& cmd, const std::string& tag);
  absl::Status WriteLiteral(const LiteralSource& source);
  bool UseNonSyncLiteral(uint64_t size) const;
  // Reads once from the stream and processes every complete event.
  absl::Status Pump();
  absl::Status HandleEvent(Event& event);
  absl::Status HandleTagged(Response& response);
  absl::Status HandleUntagged(const Response& response);
  ResponseHandler* CurrentHandler() const;
  // The oldest command in flight changed: its progress deadline starts (progress.h).
  void HeadChanged();
  // Where a read failed: inside which response, or waiting for which command.
  std::string ReadContext() const;
  absl::Status Fail(absl::Status status);
  net::ByteStream* stream() const;

  SessionOptions options_;
  std::string peer_;
  std::unique_ptr<net::ByteStream> owned_stream_;
  net::Connection* connection_ = nullptr;  // == owned_stream_ when upgradable
  net::ProgressWatch* watch_ = nullptr;    // owned_stream_'s, when it has one
  std::unique_ptr<net::ByteStream> deflate_;
  Parser parser_;
  std::vector<char> read_buf_;
  std::set<std::string> capabilities_;
  uint64_t next_tag_ = 1;
  std::deque<Pending> in_flight_;                  // commands sent, oldest first
  std::map<std::string, CommandResult> finished_;  // completed, not yet collected by Wait
  bool continuation_ = false;                      // a "+" arrived and was not consumed
  std::string continuation_text_;
  bool greeting_seen_ = false;
  bool preauth_ = false;
  std::string barrier_tag_;  // stop processing input after this tag completes
  bool barrier_hit_ = false;
  bool bye_ = false;
  std::string bye_text_;
  absl::optional<ResponseCode> bye_code_;
  uint64_t slow_downs_ = 0;
  bool read_only_ = false;
  bool closed_ = false;
  absl::Status fatal_;  // once set, every call fails with it
};

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_SESSION_H_
