#include "common/engine/connect.h"

#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/status/status_macros.h"

namespace engine {

imap::SessionOptions SessionOptionsFor(const config::ServerConfig& server) {
  imap::SessionOptions o;
  o.connect.host = server.host;
  o.connect.port = server.port;
  o.connect.tls = server.ssl        ? net::TlsMode::kImplicit
                  : server.starttls ? net::TlsMode::kStartTls
                                    : net::TlsMode::kNone;
  o.connect.tls_options.verify = server.tls_verify;
  o.connect.tls_options.ca_file = server.ca_file;
  o.compress = server.compress;
  return o;
}

namespace {
imap::AuthMethod MethodFor(config::AuthKind kind) {
  switch (kind) {
    case config::AuthKind::kLogin:
      return imap::AuthMethod::kLogin;
    case config::AuthKind::kPlain:
      return imap::AuthMethod::kPlain;
    case config::AuthKind::kXoauth2:
      return imap::AuthMethod::kXoauth2;
    case config::AuthKind::kOauthBearer:
      return imap::AuthMethod::kOauthBearer;
    case config::AuthKind::kAuto:
      break;
  }
  return imap::AuthMethod::kAuto;
}
}  // namespace

absl::StatusOr<std::unique_ptr<imap::Session>> OpenServer(const config::ServerConfig& server) {
  return imap::Session::Connect(SessionOptionsFor(server));
}

absl::Status LoginAccount(imap::Session& session, const config::Account& account,
                          const std::string& secret) {
  imap::Credentials c;
  c.method = MethodFor(account.auth);
  c.user = account.login.empty() ? account.email : account.login;
  c.secret = secret;
  c.authzid = account.authzid;
  RETURN_IF_ERROR(imap::Authenticate(session, c));
  // COMPRESS when asked for and offered (a server that does not offer it is used as is).
  if (session.options().compress) RETURN_IF_ERROR(session.StartCompression().status());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<imap::Session>> ConnectAccount(const config::ServerConfig& server,
                                                              const config::Account& account,
                                                              const std::string& secret) {
  ASSIGN_OR_RETURN(std::unique_ptr<imap::Session> session, OpenServer(server));
  RETURN_IF_ERROR(LoginAccount(*session, account, secret));
  return session;
}

}  // namespace engine
