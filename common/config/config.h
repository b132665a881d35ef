// The job configuration: the seed's JSON schema plus optional fields real migrations need.
//
//   {
//     "server": {"host": "imap.example.com", "port": 993, "ssl": true, "starttls": false,
//                "ca_file": "/etc/ssl/my-ca.pem", "tls_verify": true,
//                "max_connections_per_account": 4, "compress": true,
//                "io_timeout": 120, "min_rate": 1024},
//     "accounts": [
//       {"email": "a@example.com", "password": "secret"},
//       {"email": "b@example.com", "login": "b", "password": "..."},
//       {"email": "c@example.com", "auth": "plain", "authzid": "c@example.com",
//        "login": "admin", "password": "..."},
//       {"email": "d@example.com", "auth": "xoauth2", "oauth2_token_file": "/run/d.token"},
//       {"email": "e@example.com", "auth": "xoauth2", "oauth2_token_command": "get-token e",
//        "oauth2_token_max_age": 1800}
//     ]
//   }
//
// Errors name the file, the field and the account's index, never a password or token.
//
// Validation rules (all errors are "<path>: <field path>: <problem>", several joined by
// '\n', at most 20 shown):
//   - server.host required; port an integer 1..65535 (default 993 with ssl, else 143);
//     ssl default true; "starttls": true without "ssl" means ssl false; both true is an
//     error. max_connections (server and account) 1..64. io_timeout 1..86400 seconds,
//     min_rate 0..1000000000 bytes/s.
//   - Limits and budgets (README "Budgets"): server.provider "gmail" | "m365" fills the
//     limits the server block does not set (explicit fields win; an account's own field
//     wins over the server block's). bytes_per_day (server and account) 1..2^50;
//     messages_per_second (server and account) a number > 0, at most 100000;
//     server.budget_window_seconds 1..2678400 (31 days), default 86400.
//   - accounts: a non-empty array; email required, non-empty, contains '@', no '/', no
//     control characters, no leading '.', unique case-insensitively.
//   - auth: login | plain | xoauth2 | oauthbearer (absent = auto). xoauth2/oauthbearer need
//     exactly one of oauth2_token / oauth2_token_file / oauth2_token_command; the others
//     need a password and no oauth2_* field. authzid only with plain.
//     oauth2_token_max_age (seconds, 1..86400) only with oauth2_token_file or
//     oauth2_token_command.
//   - "store": {"concurrency": N}: store requests each worker has in flight at once,
//     1..256 (README "The object store (S3)"; --store-concurrency overrides it).
//   - A field appearing twice in one object is an error; unknown fields are warnings.
//   - Values of password, oauth2_token and oauth2_token_command are never echoed.
//
// Thread-safety: all functions are thread-safe (no shared state). ResolveSecret may block
// up to 60 s running a token command.
#ifndef MIGRATOR_COMMON_CONFIG_CONFIG_H_
#define MIGRATOR_COMMON_CONFIG_CONFIG_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config/folder_map.h"
#include "common/config/selection.h"

namespace config {

// A provider whose known limits a preset sets (README "Budgets").
enum class Provider { kNone, kGmail, kM365 };

// The limits a provider preset sets; 0 for what it does not set.
struct ProviderPreset {
  int max_connections = 0;              // per account, all of its connections (fleet-wide)
  uint64_t download_bytes_per_day = 0;  // export from this server
  uint64_t upload_bytes_per_day = 0;    // import into it
  double messages_per_second = 0;
  uint64_t max_message_size = 0;  // the largest APPEND it takes (advertised or not)
};

struct ServerConfig {
  std::string host;
  int port = 993;                       // default: 993 when ssl, else 143
  bool ssl = true;                      // implicit TLS
  bool starttls = false;                // plain connect, then STARTTLS (exclusive with ssl)
  std::string ca_file;                  // PEM bundle for verification; empty = system CAs
  bool tls_verify = true;               // false: no certificate / host-name checks (warns)
  int max_connections_per_account = 4;  // IMAP connections one account may use at once
  // Turn on COMPRESS=DEFLATE (RFC 4978) after login when the server offers it: fewer bytes
  // on a slow or far link for some CPU on both ends.
  bool compress = false;
  // Import: the largest message (bytes) server B takes, when it does not say so itself
  // (APPENDLIMIT); larger messages are refused before they are sent. 0: no limit known.
  uint64_t max_message_size = 0;
  // Import with --fix-messages: the longest line (bytes, without its CRLF) server B takes;
  // longer lines are folded (RFC 5322's 998 by default; Microsoft 365 takes about 10,000).
  int max_line_length = 998;
  // Throttling (README "Throttling and connection caps"): the longest one pause may last
  // (seconds; a longer suggested wait is cut to it), and the throttled time an account may
  // spend in all before it fails.
  int throttle_max_wait = 300;
  int throttle_budget = 3600;
  // Bounded stalls (README "Config"): an IMAP read or write that waits this long (seconds)
  // without a byte fails; and while a transfer is under way the connection must move
  // min_rate bytes per second over every io_timeout / 4 of waiting, a command may wait
  // io_timeout plus its bytes at min_rate (0: only the idle timeout).
  int io_timeout = 120;
  int min_rate = 1024;
  // ---- budgets (README "Budgets") ----
  Provider provider = Provider::kNone;
  // Bytes one account may move per budget window: downloaded (export from this server) or
  // uploaded (import into it). "bytes_per_day" in the file sets both; a preset sets them
  // apart. 0: no budget.
  uint64_t download_bytes_per_day = 0;
  uint64_t upload_bytes_per_day = 0;
  double messages_per_second = 0;     // per account (token bucket); 0: no pace
  int budget_window_seconds = 86400;  // the budget's window: opens at the first assignment
  // The fields above (file names: "max_connections_per_account", "bytes_per_day", ...) whose
  // value came from the provider preset, not from the file: WriteConfig leaves them out.
  std::set<std::string> preset_fields;
};

enum class AuthKind { kAuto, kLogin, kPlain, kXoauth2, kOauthBearer };

struct Account {
  int index = 0;         // position in "accounts", for messages
  std::string email;     // the account's identity and its directory name
  std::string login;     // user name to log in with; defaults to email
  std::string password;  // secret: never logged
  AuthKind auth = AuthKind::kAuto;
  std::string authzid;       // authorization identity (admin/proxy logins, PLAIN)
  std::string oauth2_token;  // secret: inline token (discouraged)
  std::string oauth2_token_file;
  std::string oauth2_token_command;
  // Seconds after which a token from the file or the command is read again when a
  // connection opens (a refused token is read again at once). 0: the default.
  int oauth2_token_max_age = 0;
  int max_connections = 0;         // 0: server.max_connections_per_account
  uint64_t bytes_per_day = 0;      // 0: the server block's (for the mode's direction)
  double messages_per_second = 0;  // 0: the server block's
};

// Which way a mode moves bytes through the server block's server: export downloads from
// it, import (and validate --resync-missing) uploads to it.
enum class Direction { kNone, kDownload, kUpload };

// One account's effective limits: its own fields, else the server block's (explicit or
// from the provider preset).
struct AccountLimits {
  int max_connections = 1;
  uint64_t bytes_per_day = 0;  // in `direction`; 0: no budget
  double messages_per_second = 0;
};
AccountLimits LimitsOf(const ServerConfig& server, const Account& account, Direction direction);

// The preset of `provider` (all zero for kNone); the README's "Budgets" table names the
// source of each number.
ProviderPreset PresetOf(Provider provider);
// "gmail", "m365"; "" for kNone.
const char* ProviderName(Provider provider);
// The identity an IMAP server counts connections by for this account: the authorization
// identity when given, else the login (lower-cased). Accounts sharing it share
// max_connections across the fleet.
std::string ConnectionKey(const Account& account);

// The default oauth2_token_max_age: 50 minutes, inside the usual 1-hour token lifetime.
inline constexpr int kDefaultOauth2TokenMaxAge = 3000;

// "store": {"concurrency": N}: store requests each worker has in flight at once.
inline constexpr int kMaxStoreConcurrency = 256;

struct Config {
  std::string path;  // the file it was loaded from
  ServerConfig server;
  std::vector<Account> accounts;
  Selection selection;        // "selection": which folders and messages (selection.h)
  FolderMap folder_map;       // "folder_map" (import): where folders land on B (folder_map.h)
  int store_concurrency = 0;  // "store": {"concurrency": N} (1..256); 0: not set
  std::vector<std::string> warnings;  // e.g. "config file is readable by others"
};

// Loads and validates `path`. Errors are kInvalidArgument (bad content) or kNotFound /
// kPermissionDenied (file), e.g.
//   "export.pass.config.json: accounts[3].email: missing".
//   "x.json: invalid JSON at line 4, column 7: syntax error while parsing ..."
//   "cannot read x.json: No such file or directory"
// Adds a warning when the file grants any permission to group/others and holds an inline
// password or token ("x.json: readable by others (mode 0644); ... chmod 600 x.json").
absl::StatusOr<Config> LoadConfig(const std::string& path);
// Same from text (for tests); `path` is used in messages only.
absl::StatusOr<Config> ParseConfig(absl::string_view json, const std::string& path);

// The secret to authenticate with: the password, or the OAuth2 token (inline, read from
// the file, or the trimmed stdout of the command run via /bin/sh). Errors never contain it.
// The token file / command output is bounded to 64 KiB, trimmed of surrounding
// whitespace, must be non-empty and single-line. The command runs via `/bin/sh -c` in its
// own process group with stdin /dev/null and stderr inherited, for at most 60 s.
// Errors: kFailedPrecondition (no secret, empty token), kNotFound / kPermissionDenied
// (token file), kUnavailable (command exited non-zero or was killed: may be transient),
// kDeadlineExceeded (command timed out; its process group is killed).
absl::StatusOr<std::string> ResolveSecret(const Account& account);

// Writes `config` to `path` as JSON with mode 0600 (atomically). Used for the import
// template that export writes beside its config.
// Format: 2-space indentation, seed key order; server host/port/ssl and account
// email/password always, every other field only when it differs from its default
// (login only when it differs from email).
absl::Status WriteConfig(const Config& config, const std::string& path);
// Same, but kAlreadyExists (and nothing written) when `path` exists; race-free (the
// temporary is link()ed into place). For the "write the template if missing" case.
absl::Status WriteConfigIfAbsent(const Config& config, const std::string& path);
// The JSON text WriteConfig writes (contains the secrets: never log it).
std::string ConfigToJson(const Config& config);

// The per-mode default file name of the seed: export/test → export.pass.config.json,
// import/validate → import.pass.config.json.
// Unknown mode: "".
std::string DefaultConfigPath(absl::string_view mode);

const char* AuthKindName(AuthKind kind);

}  // namespace config

#endif  // MIGRATOR_COMMON_CONFIG_CONFIG_H_
