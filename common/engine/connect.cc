#include "common/engine/connect.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine {

imap::SessionOptions SessionOptionsFor(const config::ServerConfig& server,
                                       std::function<void(const imap::ReplyInfo&)> on_reply) {
  imap::SessionOptions o;
  o.on_reply = std::move(on_reply);
  o.connect.host = server.host;
  o.connect.port = server.port;
  o.connect.tls = server.ssl        ? net::TlsMode::kImplicit
                  : server.starttls ? net::TlsMode::kStartTls
                                    : net::TlsMode::kNone;
  o.connect.tls_options.verify = server.tls_verify;
  o.connect.tls_options.ca_file = server.ca_file;
  o.connect.io_timeout = std::chrono::seconds(server.io_timeout);
  o.connect.min_rate = static_cast<uint64_t>(std::max(0, server.min_rate));
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

absl::StatusOr<std::unique_ptr<imap::Session>> OpenServer(
    const config::ServerConfig& server, std::function<void(const imap::ReplyInfo&)> on_reply) {
  return imap::Session::Connect(SessionOptionsFor(server, std::move(on_reply)));
}

namespace {

absl::Status Authenticate(imap::Session& session, const config::Account& account,
                          const std::string& secret) {
  imap::Credentials c;
  c.method = MethodFor(account.auth);
  c.user = account.login.empty() ? account.email : account.login;
  c.secret = secret;
  c.authzid = account.authzid;
  return imap::Authenticate(session, c);
}

// COMPRESS when asked for and offered (a server that does not offer it is used as is).
absl::Status AfterLogin(imap::Session& session) {
  if (session.options().compress) RETURN_IF_ERROR(session.StartCompression().status());
  return absl::OkStatus();
}

const char* TokenSourceName(const config::Account& account) {
  return account.oauth2_token_file.empty() ? "oauth2_token_command" : "oauth2_token_file";
}

// Logs in on `*session` with the secret from `secrets`; a refused refreshable token is
// replaced by a fresh one and tried once more, on a new connection from `reopen` when the
// server closed this one (without `reopen`: the refusal stands).
absl::Status LoginRefreshing(imap::Session** session, const config::Account& account,
                             SecretSource& secrets,
                             const std::function<absl::StatusOr<imap::Session*>()>& reopen) {
  ASSIGN_OR_RETURN(SecretSource::Secret secret, secrets.Get());
  absl::Status st = Authenticate(**session, account, secret.value);
  if (!absl::IsUnauthenticated(st) || !secrets.refreshable()) return st;
  LOG(INFO) << "account " << account.email << ": the server refused the OAuth2 token; reading "
            << TokenSourceName(account) << " again";
  absl::StatusOr<SecretSource::Secret> fresh = secrets.Refresh(secret.generation);
  if (!fresh.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(st.message(), "; ", fresh.status().message()));
  }
  if ((*session)->closed()) {
    if (!reopen) return st;
    ASSIGN_OR_RETURN(*session, reopen());
  }
  st = Authenticate(**session, account, fresh->value);
  if (absl::IsUnauthenticated(st)) {
    return absl::UnauthenticatedError(absl::StrCat(st.message(), " (also with a fresh token from ",
                                                   TokenSourceName(account), ")"));
  }
  return st;
}

}  // namespace

absl::Status LoginAccount(imap::Session& session, const config::Account& account,
                          const std::string& secret) {
  RETURN_IF_ERROR(Authenticate(session, account, secret));
  return AfterLogin(session);
}

absl::StatusOr<std::unique_ptr<imap::Session>> ConnectAccount(const config::ServerConfig& server,
                                                              const config::Account& account,
                                                              const std::string& secret) {
  ASSIGN_OR_RETURN(std::unique_ptr<imap::Session> session, OpenServer(server));
  RETURN_IF_ERROR(LoginAccount(*session, account, secret));
  return session;
}

absl::Status LoginAccount(imap::Session& session, const config::Account& account,
                          SecretSource& secrets) {
  imap::Session* s = &session;
  RETURN_IF_ERROR(LoginRefreshing(&s, account, secrets, nullptr));
  return AfterLogin(session);
}

absl::StatusOr<std::unique_ptr<imap::Session>> ConnectAccount(
    const config::ServerConfig& server, const config::Account& account, SecretSource& secrets,
    std::function<void(const imap::ReplyInfo&)> on_reply) {
  ASSIGN_OR_RETURN(std::unique_ptr<imap::Session> session, OpenServer(server, on_reply));
  imap::Session* s = session.get();
  RETURN_IF_ERROR(LoginRefreshing(&s, account, secrets, [&]() -> absl::StatusOr<imap::Session*> {
    ASSIGN_OR_RETURN(session, OpenServer(server, on_reply));
    return session.get();
  }));
  RETURN_IF_ERROR(AfterLogin(*session));
  return session;
}

}  // namespace engine
