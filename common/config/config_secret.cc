// ResolveSecret: the password or the OAuth2 token (inline, from a file, or from a command).
// Errors name the account and the source, never the secret or the command's output.
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/config/config_internal.h"
#include "common/status/status_macros.h"
#include "common/sys/subprocess.h"

namespace config {
namespace {

constexpr absl::Duration kTokenCommandTimeout = absl::Seconds(60);

std::string Who(const Account& a) { return absl::StrFormat("accounts[%d] (%s)", a.index, a.email); }

// The trimmed token; an error (without the content) when empty or multi-line.
absl::StatusOr<std::string> CleanToken(std::string raw, const std::string& where) {
  std::string token(absl::StripAsciiWhitespace(raw));
  if (token.empty()) return absl::FailedPreconditionError(where + ": no token (empty)");
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::FailedPreconditionError(where +
                                           ": token contains a line break or control character");
    }
  }
  return token;
}

absl::StatusOr<std::string> RunTokenCommand(const Account& a) {
  std::string where = Who(a) + ": oauth2_token_command";
  // `/bin/sh -c command` in its own process group (a timeout kills sh and its children),
  // stdin /dev/null, stdout a pipe; its output is the token: never logged or quoted.
  sys::SpawnOptions options;
  options.stdin_from = sys::Redirect::Null();
  options.stdout_to = sys::Redirect::Pipe();
  options.new_process_group = true;
  absl::StatusOr<sys::RunResult> run =
      sys::RunAndWait({"/bin/sh", "-c", a.oauth2_token_command}, options, kTokenCommandTimeout,
                      internal::kMaxTokenBytes);
  if (!run.ok()) return status::Annotate(run.status(), where);
  if (run->exit.signal != 0 || run->exit.code != 0) {
    return absl::UnavailableError(absl::StrCat(where, ": ", run->exit.Describe()));
  }
  return CleanToken(std::move(run->output), where);
}

absl::StatusOr<std::string> ReadTokenFile(const Account& a) {
  std::string where = absl::StrCat(Who(a), ": oauth2_token_file ", a.oauth2_token_file);
  absl::StatusOr<std::string> raw =
      internal::ReadFileBounded(a.oauth2_token_file, internal::kMaxTokenBytes, nullptr);
  // ReadFileBounded's messages name the file only, never its content.
  if (!raw.ok()) return status::Annotate(raw.status(), Who(a) + ": oauth2_token_file");
  return CleanToken(*std::move(raw), where);
}

}  // namespace

absl::StatusOr<std::string> ResolveSecret(const Account& account) {
  bool oauth = account.auth == AuthKind::kXoauth2 || account.auth == AuthKind::kOauthBearer;
  if (!oauth) {
    if (account.password.empty()) {
      return absl::FailedPreconditionError(Who(account) + ": no password");
    }
    return account.password;
  }
  if (!account.oauth2_token.empty()) return account.oauth2_token;
  if (!account.oauth2_token_file.empty()) return ReadTokenFile(account);
  if (!account.oauth2_token_command.empty()) return RunTokenCommand(account);
  return absl::FailedPreconditionError(
      Who(account) + ": no oauth2_token, oauth2_token_file or oauth2_token_command");
}

}  // namespace config
