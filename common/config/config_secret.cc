// ResolveSecret: the password or the OAuth2 token (inline, from a file, or from a command).
// Errors name the account and the source, never the secret or the command's output.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config/config.h"
#include "common/config/config_internal.h"
#include "common/status/status_macros.h"

extern char** environ;

namespace config {
namespace {

constexpr int kTokenCommandTimeoutMs = 60 * 1000;

std::string Who(const Account& a) {
  return absl::StrFormat("accounts[%d] (%s)", a.index, a.email);
}

// The trimmed token; an error (without the content) when empty or multi-line.
absl::StatusOr<std::string> CleanToken(std::string raw, const std::string& where) {
  std::string token(absl::StripAsciiWhitespace(raw));
  if (token.empty()) return absl::FailedPreconditionError(where + ": no token (empty)");
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::FailedPreconditionError(
          where + ": token contains a line break or control character");
    }
  }
  return token;
}

// Spawns `/bin/sh -c command` in its own process group, stdin /dev/null, stdout → a pipe.
absl::Status Spawn(const std::string& command, pid_t* pid, int* out_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  int rc = ::posix_spawn(pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return absl::InternalError(absl::StrCat("cannot start /bin/sh: ", std::strerror(rc)));
  }
  *out_fd = fds[0];
  return absl::OkStatus();
}

// Reads the child's stdout until EOF, the size bound or the deadline.
absl::Status Drain(int fd, std::string* out) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(kTokenCommandTimeoutMs);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("did not finish within ", kTokenCommandTimeoutMs / 1000, " s"));
    }
    struct pollfd p = {fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::InternalError(std::strerror(errno));
    if (r == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(std::strerror(errno));
    if (n == 0) return absl::OkStatus();
    if (out->size() + static_cast<size_t>(n) > internal::kMaxTokenBytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("printed more than ", internal::kMaxTokenBytes, " bytes"));
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> RunTokenCommand(const Account& a) {
  std::string where = Who(a) + ": oauth2_token_command";
  pid_t pid = 0;
  int fd = -1;
  absl::Status s = Spawn(a.oauth2_token_command, &pid, &fd);
  if (!s.ok()) return status::Annotate(s, where);
  std::string out;
  absl::Status drained = Drain(fd, &out);
  ::close(fd);
  if (!drained.ok()) ::kill(-pid, SIGKILL);  // the whole group: sh and its children
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!drained.ok()) return status::Annotate(drained, where);
  if (WIFSIGNALED(wstatus)) {
    return absl::UnavailableError(
        absl::StrFormat("%s: killed by signal %d", where, WTERMSIG(wstatus)));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::UnavailableError(
        absl::StrFormat("%s: exited with status %d", where, WEXITSTATUS(wstatus)));
  }
  return CleanToken(std::move(out), where);
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
