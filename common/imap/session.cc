#include "common/imap/session.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/imap/reply_class.h"
#include "common/log/log.h"
#include "common/net/deflate.h"
#include "common/net/progress.h"
#include "common/status/status_macros.h"

namespace imap {
namespace {

std::string Truncate(absl::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return absl::StrCat(s.substr(0, max), "...");
}

}  // namespace

Session::Session(std::unique_ptr<net::ByteStream> stream, net::Connection* connection,
                 const SessionOptions& options)
    : options_(options),
      owned_stream_(std::move(stream)),
      connection_(connection),
      parser_(options.parser_limits),
      read_buf_(options.limits.read_chunk) {
  watch_ = owned_stream_->progress();
  peer_ = options.connect.host.empty()
              ? owned_stream_->Describe()
              : absl::StrCat(options.connect.host, ":", options.connect.port);
}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Connect(const SessionOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<net::Connection> conn, net::Connect(options.connect));
  net::Connection* raw = conn.get();
  std::unique_ptr<Session> session(new Session(std::move(conn), raw, options));
  RETURN_IF_ERROR(session->ReadGreeting());
  if (options.connect.tls == net::TlsMode::kStartTls) {
    RETURN_IF_ERROR(session->StartTls());
  }
  return session;
}

absl::StatusOr<std::unique_ptr<Session>> Session::Open(std::unique_ptr<net::ByteStream> stream,
                                                       const SessionOptions& options) {
  std::unique_ptr<Session> session(new Session(std::move(stream), nullptr, options));
  RETURN_IF_ERROR(session->ReadGreeting());
  return session;
}

net::ByteStream* Session::stream() const { return deflate_ ? deflate_.get() : owned_stream_.get(); }

absl::Status Session::ReadGreeting() {
  if (watch_ != nullptr) watch_->BeginCommand();  // the greeting is the first answer
  while (!greeting_seen_) RETURN_IF_ERROR(Pump());
  HeadChanged();
  if (capabilities_.empty()) RETURN_IF_ERROR(RefreshCapabilities());
  return absl::OkStatus();
}

bool Session::HasCapability(absl::string_view cap) const {
  return capabilities_.count(absl::AsciiStrToUpper(cap)) > 0;
}

void Session::SetCapabilities(const std::vector<Value>& atoms) {
  capabilities_.clear();
  for (const Value& v : atoms) {
    if (v.is_atom()) capabilities_.insert(absl::AsciiStrToUpper(v.str));
  }
}

absl::Status Session::RefreshCapabilities() { return Execute(Command("CAPABILITY")); }

absl::Status Session::Fail(absl::Status status) {
  if (fatal_.ok()) {
    fatal_ = status::Annotate(status, absl::StrCat("IMAP ", peer_));
    closed_ = true;
    if (owned_stream_) owned_stream_->Close();
  }
  return fatal_;
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  if (fatal_.ok())
    fatal_ = absl::FailedPreconditionError(absl::StrCat("IMAP ", peer_, ": session closed"));
  owned_stream_->Close();
}

// --- Writing ------------------------------------------------------------------------------

bool Session::UseNonSyncLiteral(uint64_t size) const {
  if (!options_.literal_plus) return false;
  if (HasCapability("LITERAL+")) return true;
  return HasCapability("LITERAL-") && size <= 4096;
}

absl::Status Session::WriteLiteral(const LiteralSource& source) {
  const uint64_t size = source.size();
  uint64_t sent = 0;
  std::vector<char> buf(std::min<uint64_t>(size, 256 * 1024));
  if (watch_ != nullptr) watch_->SetOwed(size);  // the command's deadline grows at once
  const std::string what = source.Describe();
  const std::string literal =
      absl::StrCat(what.empty() ? "a" : what, what.empty() ? " " : ", a ", size, "-byte literal");
  while (sent < size) {
    absl::StatusOr<size_t> n =
        source.ReadAt(sent, buf.data(), std::min<uint64_t>(buf.size(), size - sent));
    if (!n.ok() || *n == 0) {
      // The server waits for the rest of the literal and no command can follow: the
      // connection is closed (a MULTIAPPEND is then discarded whole by the server).
      absl::Status why = n.ok() ? absl::DataLossError("its source ended early") : n.status();
      return Fail(
          status::Annotate(why, absl::StrCat("reading ", literal, " after ", sent, " bytes sent")));
    }
    absl::Status st = stream()->Write(absl::string_view(buf.data(), *n));
    if (!st.ok()) {
      return Fail(status::Detail(
          st, absl::StrCat("while sending ", literal, ": ", sent, " bytes written")));
    }
    sent += *n;
  }
  return absl::OkStatus();
}

absl::Status Session::WriteCommand(const Command& cmd, const std::string& tag) {
  LOG(DEBUG) << "C: " << tag << " " << cmd.DebugString();
  std::string line = absl::StrCat(tag, " ");
  for (const Command::Part& part : cmd.parts()) {
    absl::StrAppend(&line, part.text);
    if (!part.literal) continue;
    const uint64_t size = part.literal->size();
    const bool non_sync = UseNonSyncLiteral(size);
    absl::StrAppend(&line, "{", size, non_sync ? "+}\r\n" : "}\r\n");
    absl::Status st = stream()->Write(line);
    line.clear();
    if (!st.ok()) return Fail(st);
    if (!non_sync) {
      if (absl::Status fl = stream()->Flush(); !fl.ok()) return Fail(fl);
      auto cont = WaitContinuation(tag);
      if (!cont.ok()) {
        // Completed (NO/BAD) instead of "+": Wait() returns that result.
        return finished_.count(tag) ? absl::OkStatus() : cont.status();
      }
    }
    RETURN_IF_ERROR(WriteLiteral(*part.literal));
  }
  absl::StrAppend(&line, "\r\n");
  absl::Status st = stream()->Write(line);
  if (st.ok()) st = stream()->Flush();
  if (!st.ok()) return Fail(st);
  return absl::OkStatus();
}

namespace {

// Commands a read-only session refuses (see Session::set_read_only).
bool ChangesServer(absl::string_view name) {
  absl::ConsumePrefix(&name, "UID ");
  for (absl::string_view w : {"APPEND", "CREATE", "DELETE", "RENAME", "STORE", "COPY", "MOVE",
                              "EXPUNGE", "SELECT", "SUBSCRIBE", "UNSUBSCRIBE"}) {
    if (absl::EqualsIgnoreCase(name, w)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> Session::Send(const Command& cmd, ResponseHandler* handler) {
  if (!fatal_.ok()) return fatal_;
  if (read_only_ && ChangesServer(cmd.name())) {
    return absl::FailedPreconditionError(
        absl::StrCat("IMAP ", peer_, ": ", cmd.name(), " refused: the session is read-only"));
  }
  while (in_flight_.size() >= std::max<size_t>(1, options_.limits.max_pipelined_commands)) {
    RETURN_IF_ERROR(Pump());
  }
  std::string tag = absl::StrCat("A", next_tag_++);
  Pending pending;
  pending.tag = tag;
  pending.handler = handler;
  pending.what = Truncate(cmd.DebugString(), 100);
  in_flight_.push_back(std::move(pending));
  if (in_flight_.size() == 1) HeadChanged();
  RETURN_IF_ERROR(WriteCommand(cmd, tag));
  return tag;
}

absl::Status Session::SendContinuationLine(absl::string_view line) {
  if (!fatal_.ok()) return fatal_;
  absl::Status st = stream()->Write(absl::StrCat(line, "\r\n"));
  if (st.ok()) st = stream()->Flush();
  return st.ok() ? st : Fail(st);
}

// --- Reading ------------------------------------------------------------------------------

absl::StatusOr<CommandResult> Session::Wait(const std::string& tag) {
  for (;;) {
    auto it = finished_.find(tag);
    if (it != finished_.end()) {
      CommandResult r = std::move(it->second);
      finished_.erase(it);
      return r;
    }
    if (!fatal_.ok()) return fatal_;
    RETURN_IF_ERROR(Pump());
  }
}

const CommandResult* Session::Peek(const std::string& tag) const {
  auto it = finished_.find(tag);
  return it == finished_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> Session::WaitContinuation(const std::string& tag) {
  for (;;) {
    if (continuation_) {
      continuation_ = false;
      return std::move(continuation_text_);
    }
    if (finished_.count(tag)) {
      return absl::FailedPreconditionError("command completed without a continuation request");
    }
    if (!fatal_.ok()) return fatal_;
    RETURN_IF_ERROR(Pump());
  }
}

absl::Status Session::Execute(const Command& cmd, ResponseHandler* handler, CommandResult* result) {
  ASSIGN_OR_RETURN(std::string tag, Send(cmd, handler));
  ASSIGN_OR_RETURN(CommandResult r, Wait(tag));
  absl::Status st = ResultToStatus(r, cmd.name());
  if (result != nullptr) *result = std::move(r);
  return st;
}

absl::Status Session::Pump() {
  if (!fatal_.ok()) return fatal_;
  if (watch_ != nullptr) {
    watch_->SetMidResponse(parser_.InResponse());
    watch_->SetOwed(parser_.literal_missing());
  }
  auto n = stream()->Read(read_buf_.data(), read_buf_.size());
  if (!n.ok()) return Fail(status::Detail(n.status(), ReadContext()));
  if (*n == 0) {
    absl::Status closed = absl::UnavailableError(
        bye_ ? absl::StrCat("server closed the connection (BYE ", Truncate(bye_text_, 200), ")")
             : "connection closed by the server");
    ReplyInfo info;
    info.cls = ReplyClass::kTemporary;
    if (bye_) info = ClassifyReply(StatusKind::kBye, bye_code_, bye_text_, ReplyContext::kOther);
    // A BYE that names a cap or a throttle keeps that class; anything else is temporary.
    if (StatusCodeFor(info, bye_code_) != absl::StatusCode::kUnavailable) {
      info.cls = ReplyClass::kTemporary;
    }
    if (bye_ && options_.on_reply) options_.on_reply(info);
    return Fail(WithReply(closed, info));
  }
  parser_.Feed(absl::string_view(read_buf_.data(), *n));
  while (!barrier_hit_) {
    auto ev = parser_.Next();
    if (!ev.ok()) return Fail(ev.status());
    if (ev->type == Event::Type::kNeedMore) break;
    absl::Status st = HandleEvent(*ev);
    if (!st.ok()) return Fail(st);
  }
  return absl::OkStatus();
}

ResponseHandler* Session::CurrentHandler() const {
  return in_flight_.empty() ? nullptr : in_flight_.front().handler;
}

void Session::HeadChanged() {
  if (watch_ == nullptr) return;
  if (in_flight_.empty()) {
    watch_->EndCommands();
  } else {
    watch_->BeginCommand();
  }
}

std::string Session::ReadContext() const {
  if (parser_.InResponse()) return parser_.DescribePartial();
  if (!greeting_seen_) return "waiting for the greeting";
  if (in_flight_.empty()) return "";
  return absl::StrCat("waiting for the answer to ", in_flight_.front().what);
}

absl::Status Session::HandleEvent(Event& event) {
  switch (event.type) {
    case Event::Type::kResponse:
      if (event.response.type == ResponseType::kTagged) return HandleTagged(event.response);
      if (event.response.type == ResponseType::kContinuation) {
        continuation_ = true;
        continuation_text_ = std::move(event.response.text);
        return absl::OkStatus();
      }
      return HandleUntagged(event.response);
    case Event::Type::kLiteralBegin:
    case Event::Type::kLiteralData:
    case Event::Type::kLiteralEnd: {
      ResponseHandler* h = CurrentHandler();
      if (h == nullptr) {
        return absl::DataLossError(absl::StrCat("unexpected ", event.literal_size,
                                                "-byte literal with no command in flight"));
      }
      if (event.type == Event::Type::kLiteralBegin) return h->OnLiteralBegin(event);
      if (event.type == Event::Type::kLiteralData) return h->OnLiteralData(event.data);
      return h->OnLiteralEnd();
    }
    case Event::Type::kNeedMore:
      break;
  }
  return absl::OkStatus();
}

absl::Status Session::HandleTagged(Response& response) {
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [&](const Pending& p) { return p.tag == response.tag; });
  if (it == in_flight_.end()) {
    return absl::DataLossError(
        absl::StrCat("server answered unknown tag '", Truncate(response.tag, 40), "'"));
  }
  if (response.code && response.code->name == "CAPABILITY") {
    SetCapabilities(response.code->args);
  }
  CommandResult result{response.status, std::move(response.code), std::move(response.text)};
  if (result.status == StatusKind::kOk) {
    const ReplyInfo info =
        ClassifyReply(result.status, result.code, result.text, ReplyContext::kOther);
    if (info.slow_down) {
      ++slow_downs_;
      if (options_.on_reply) options_.on_reply(info);
    }
  }
  LOG(DEBUG) << "S: " << response.tag << " " << StatusKindName(result.status);
  finished_[it->tag] = std::move(result);
  if (it->tag == barrier_tag_) barrier_hit_ = true;
  const bool head = it == in_flight_.begin();
  in_flight_.erase(it);
  if (head) HeadChanged();
  return absl::OkStatus();
}

absl::Status Session::HandleUntagged(const Response& response) {
  if (!greeting_seen_) {
    greeting_seen_ = true;
    if (response.status == StatusKind::kBye) {
      ReplyInfo info =
          ClassifyReply(response.status, response.code, response.text, ReplyContext::kLogin);
      if (StatusCodeFor(info, response.code) != absl::StatusCode::kUnavailable) {
        info.cls = ReplyClass::kTemporary;
      }
      return WithReply(absl::UnavailableError(absl::StrCat("server refused the connection: ",
                                                           Truncate(response.text, 200))),
                       info);
    }
    if (response.status != StatusKind::kOk && response.status != StatusKind::kPreauth) {
      return absl::DataLossError("server greeting is not OK, PREAUTH or BYE");
    }
    preauth_ = response.status == StatusKind::kPreauth;
  }
  if (response.status == StatusKind::kBye) {
    bye_ = true;
    bye_text_ = response.text;
    bye_code_ = response.code;
  }
  if (response.code && response.code->name == "CAPABILITY") {
    SetCapabilities(response.code->args);
  }
  if (response.code && response.code->name == "ALERT") {
    LOG(WARNING) << "IMAP " << peer_ << " alert: " << Truncate(response.text, 300);
  }
  if (response.status == StatusKind::kNone && response.name == "CAPABILITY") {
    SetCapabilities(response.values);
  }
  ResponseHandler* h = CurrentHandler();
  return h ? h->OnUntagged(response) : absl::OkStatus();
}

// --- Transport changes ----------------------------------------------------------------

absl::Status Session::ExecuteBarrier(const Command& cmd) {
  ASSIGN_OR_RETURN(std::string tag, Send(cmd));
  barrier_tag_ = tag;
  auto result = Wait(tag);
  barrier_tag_.clear();
  barrier_hit_ = false;
  if (!result.ok()) return result.status();
  return ResultToStatus(*result, cmd.name());
}

absl::Status Session::StartTls() {
  if (connection_ == nullptr || connection_->IsTls()) {
    return absl::FailedPreconditionError(
        absl::StrCat("IMAP ", peer_, ": STARTTLS is not possible here"));
  }
  if (!HasCapability("STARTTLS")) {
    return Fail(absl::FailedPreconditionError(
        "server does not offer STARTTLS; refusing to continue without TLS"));
  }
  RETURN_IF_ERROR(ExecuteBarrier(Command("STARTTLS")));
  // Anything that arrived after the OK was sent before the handshake: never trust it.
  if (!parser_.DiscardBuffered()) return Fail(absl::DataLossError("STARTTLS inside a literal"));
  net::TlsOptions tls = options_.connect.tls_options;
  if (tls.server_name.empty()) tls.server_name = options_.connect.host;
  absl::Status st = connection_->StartTls(tls);
  if (!st.ok()) return Fail(st);
  capabilities_.clear();
  return RefreshCapabilities();
}

absl::StatusOr<bool> Session::StartCompression() {
  if (deflate_ || !HasCapability("COMPRESS=DEFLATE")) return false;
  RETURN_IF_ERROR(ExecuteBarrier(Command("COMPRESS").Atom("DEFLATE")));
  if (parser_.buffered() != 0) {
    return Fail(absl::DataLossError("uncompressed data after COMPRESS DEFLATE was accepted"));
  }
  deflate_ = net::WrapDeflate(owned_stream_.get());
  return true;
}

absl::Status Session::ResultToStatus(const CommandResult& result, absl::string_view what) const {
  if (result.status == StatusKind::kOk) return absl::OkStatus();
  std::string detail = result.code ? absl::StrCat("[", result.code->name, "] ") : "";
  absl::StrAppend(&detail, Truncate(result.text, 300));
  std::string msg = absl::StrCat("IMAP ", peer_, ": ", what,
                                 " failed: ", StatusKindName(result.status), " ", detail);
  const ReplyInfo info = ClassifyReply(result.status, result.code, result.text, ContextOf(what));
  if (options_.on_reply) options_.on_reply(info);
  if (info.cls == ReplyClass::kThrottle && info.suggested_wait > absl::ZeroDuration()) {
    absl::StrAppend(&msg, " (server suggests waiting ", absl::FormatDuration(info.suggested_wait),
                    ")");
  }
  return WithReply(absl::Status(StatusCodeFor(info, result.code), msg), info);
}

}  // namespace imap
