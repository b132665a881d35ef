// Opening an authenticated IMAP session for an account (every mode starts here).
#ifndef MIGRATOR_COMMON_ENGINE_CONNECT_H_
#define MIGRATOR_COMMON_ENGINE_CONNECT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/config.h"
#include "common/engine/secret_source.h"
#include "common/imap/session.h"

namespace engine {

// `on_reply`: see imap::SessionOptions.
imap::SessionOptions SessionOptionsFor(
    const config::ServerConfig& server,
    std::function<void(const imap::ReplyInfo&)> on_reply = nullptr);

// Connects to `server` and logs in as `account` with `secret` (from config::ResolveSecret).
// Errors name the account; never the secret.
absl::StatusOr<std::unique_ptr<imap::Session>> ConnectAccount(const config::ServerConfig& server,
                                                              const config::Account& account,
                                                              const std::string& secret);

// The two halves of ConnectAccount: the connection (TCP, TLS, greeting, capabilities),
// and the login on it.
absl::StatusOr<std::unique_ptr<imap::Session>> OpenServer(
    const config::ServerConfig& server,
    std::function<void(const imap::ReplyInfo&)> on_reply = nullptr);
absl::Status LoginAccount(imap::Session& session, const config::Account& account,
                          const std::string& secret);

// The same with the secret from `secrets` (see secret_source.h): when the server refuses
// a refreshable OAuth2 token (kUnauthenticated), a fresh one is fetched and the login
// retried once, on the same connection (ConnectAccount opens a new one when the server
// closed it). A refusal of the fresh token, or a failed fetch, is kUnauthenticated naming
// the account's user and the token file or command, never the token.
absl::StatusOr<std::unique_ptr<imap::Session>> ConnectAccount(
    const config::ServerConfig& server, const config::Account& account, SecretSource& secrets,
    std::function<void(const imap::ReplyInfo&)> on_reply = nullptr);
absl::Status LoginAccount(imap::Session& session, const config::Account& account,
                          SecretSource& secrets);

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_CONNECT_H_
