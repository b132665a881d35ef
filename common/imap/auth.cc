// Authentication and session setup commands: LOGIN, AUTHENTICATE, ID, ENABLE.
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/imap/collect_handler.h"
#include "common/imap/commands.h"
#include "common/imap/reply_class.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace imap {
namespace {

// Turns a failed login into kUnauthenticated naming the user; keeps what is not about the
// credentials (a throttle, a connection cap, a temporary failure: kUnavailable; a full
// target: kResourceExhausted) with its reply class.
absl::Status LoginFailure(const Session& session, const CommandResult& r, const Credentials& c,
                          absl::string_view method) {
  absl::Status st = session.ResultToStatus(r, method);
  if (absl::IsUnavailable(st) || absl::IsResourceExhausted(st)) return st;
  ReplyInfo auth;
  auth.cls = ReplyClass::kAuth;
  return WithReply(
      absl::UnauthenticatedError(absl::StrCat("IMAP ", session.peer(), ": login as '", c.user,
                                              "' failed (", st.message(), ")")),
      auth);
}

// Sends AUTHENTICATE `mechanism` with an initial response: inline with SASL-IR, else after
// the first "+". A "+" after the response carries an error (XOAUTH2): answer it with an
// empty line so the server sends its NO.
absl::StatusOr<CommandResult> SaslExchange(Session& session, absl::string_view mechanism,
                                           const std::string& initial_response) {
  const std::string encoded = absl::Base64Escape(initial_response);
  const bool sasl_ir = session.HasCapability("SASL-IR");
  Command cmd("AUTHENTICATE");
  cmd.Atom(mechanism);
  if (sasl_ir) cmd.Atom(encoded.empty() ? "=" : encoded);
  cmd.MarkSensitive();
  ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
  if (!sasl_ir) {
    auto cont = session.WaitContinuation(tag);
    if (cont.ok()) RETURN_IF_ERROR(session.SendContinuationLine(encoded));
  }
  auto more = session.WaitContinuation(tag);
  if (more.ok()) {
    std::string decoded;
    if (absl::Base64Unescape(*more, &decoded)) {
      LOG(DEBUG) << "SASL error detail from " << session.peer() << ": " << decoded.substr(0, 300);
    }
    RETURN_IF_ERROR(session.SendContinuationLine(""));
  }
  return session.Wait(tag);
}

absl::StatusOr<CommandResult> RunAuth(Session& session, const Credentials& c, AuthMethod method,
                                      std::string* name) {
  switch (method) {
    case AuthMethod::kPlain:
      *name = "AUTHENTICATE PLAIN";
      return SaslExchange(
          session, "PLAIN",
          absl::StrCat(c.authzid, std::string(1, '\0'), c.user, std::string(1, '\0'), c.secret));
    case AuthMethod::kXoauth2:
      *name = "AUTHENTICATE XOAUTH2";
      return SaslExchange(
          session, "XOAUTH2",
          absl::StrCat("user=", c.user, "\x01", "auth=Bearer ", c.secret, "\x01\x01"));
    case AuthMethod::kOauthBearer: {
      *name = "AUTHENTICATE OAUTHBEARER";
      const auto& o = session.options().connect;
      return SaslExchange(session, "OAUTHBEARER",
                          absl::StrCat("n,a=", c.user, ",\x01", "host=", o.host, "\x01", "port=",
                                       o.port, "\x01", "auth=Bearer ", c.secret, "\x01\x01"));
    }
    default: {
      *name = "LOGIN";
      Command cmd("LOGIN");
      cmd.AString(c.user).AString(c.secret).MarkSensitive();
      ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
      return session.Wait(tag);
    }
  }
}

}  // namespace

absl::Status Authenticate(Session& session, const Credentials& c) {
  if (session.preauthenticated()) return absl::OkStatus();
  AuthMethod method = c.method;
  if (method == AuthMethod::kAuto) {
    method = session.HasCapability("AUTH=PLAIN") ? AuthMethod::kPlain : AuthMethod::kLogin;
  }
  if (method == AuthMethod::kLogin && session.HasCapability("LOGINDISABLED")) {
    return absl::FailedPreconditionError(
        absl::StrCat("IMAP ", session.peer(), ": server disabled LOGIN (LOGINDISABLED); use TLS"));
  }
  if (!c.authzid.empty() && method != AuthMethod::kPlain) {
    return absl::InvalidArgumentError("an authorization identity needs AUTHENTICATE PLAIN");
  }
  const char* mech = method == AuthMethod::kPlain         ? "AUTH=PLAIN"
                     : method == AuthMethod::kXoauth2     ? "AUTH=XOAUTH2"
                     : method == AuthMethod::kOauthBearer ? "AUTH=OAUTHBEARER"
                                                          : nullptr;
  if (mech != nullptr && !session.HasCapability(mech)) {
    return absl::FailedPreconditionError(
        absl::StrCat("IMAP ", session.peer(), ": server does not offer ", mech));
  }
  std::string name;
  ASSIGN_OR_RETURN(CommandResult r, RunAuth(session, c, method, &name));
  if (r.status != StatusKind::kOk) return LoginFailure(session, r, c, name);
  if (!(r.code && r.code->name == "CAPABILITY")) RETURN_IF_ERROR(session.RefreshCapabilities());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Id(Session& session) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!session.HasCapability("ID")) return out;
  CollectHandler h("ID");
  Command cmd("ID");
  cmd.Raw(" (\"name\" \"imapsync-bulk-migrator\" \"version\" \"0.1\")");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  for (const Response& r : h.responses) {
    if (r.values.empty() || !r.values[0].is_list()) continue;
    const auto& l = r.values[0].list;
    for (size_t i = 0; i + 1 < l.size(); i += 2) {
      out.emplace_back(std::string(l[i].text()), std::string(l[i + 1].text()));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Enable(Session& session,
                                                const std::vector<std::string>& extensions) {
  std::vector<std::string> enabled;
  if (!session.HasCapability("ENABLE")) return enabled;
  Command cmd("ENABLE");
  bool any = false;
  for (const std::string& e : extensions) {
    if (session.HasCapability(e)) {
      cmd.Atom(e);
      any = true;
    }
  }
  if (!any) return enabled;
  CollectHandler h("ENABLED");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  for (const Response& r : h.responses) {
    for (const Value& v : r.values) enabled.push_back(absl::AsciiStrToUpper(v.text()));
  }
  return enabled;
}

}  // namespace imap
