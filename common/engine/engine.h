// The transfer engine: one account, one mode, over imap::Session and storage::Store only
// (no gRPC, no sockets of its own). The worker runs it; tests run it directly.
#ifndef MIGRATOR_COMMON_ENGINE_ENGINE_H_
#define MIGRATOR_COMMON_ENGINE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/storage/store.h"

namespace engine {

enum class Mode { kExport, kImport, kValidate, kTest };
const char* ModeName(Mode mode);
bool ParseMode(absl::string_view text, Mode* mode);

struct AccountTask {
  Mode mode = Mode::kExport;
  config::ServerConfig server;
  config::Account account;
  bool resync_missing = false;  // validate: import what is missing, then validate again
  double min_free_gb = 0;       // export: stop cleanly when free space drops below
  // Connections this run may use: the coordinator's grant (fleet-wide max_connections,
  // less what a stale assignment may still hold). 0: from the config.
  int max_connections = 0;
  // import / validate: a message server B refuses fails the account (default: it is
  // skipped, recorded, and the account ends ok with a count of refused messages).
  bool strict = false;
  // import / validate --resync-missing: a message holding what some servers refuse (NUL
  // bytes, bare newlines, lines over server.max_line_length) is sent repaired
  // (imap/message_repair.h); the export stays as it is.
  bool fix_messages = false;
  // Store requests the worker (this process) has in flight at once, for every account it
  // runs (storage::RequestPool::Shared()); 0: leave it as it is (default 16).
  int store_concurrency = 0;
  // The byte budget (README "Budgets", budget.h): bytes the window allows (0: none), what
  // was spent in it before this run, and when it reopens. The run stops at a clean point
  // before a message that does not fit, with a budget stop (AccountResult::parked_until).
  uint64_t budget_bytes = 0;
  uint64_t budget_spent = 0;
  absl::Time budget_resume_at = absl::InfinitePast();
  // Which folders and messages (valid and resolved: config::SelectionProblems empty, no
  // ages left); default: all.
  config::Selection selection;
  // import / validate, and test --sizes with `map_to`: where folders land on server B
  // (valid: config::FolderMapProblems).
  config::FolderMap folder_map;
  // export, import, validate: compute what the run would do (FolderResult's plan fields)
  // and write nothing: no Store write, no CREATE, APPEND or STORE on server B (the
  // sessions are read-only, the store a ReadOnlyView).
  bool dry_run = false;
  // test: every folder's messages and bytes on the server (FolderResult's source_messages
  // and source_bytes), and with `map_to` the folder each maps to on server B (by
  // `folder_map`, as import maps it).
  bool sizes = false;
  // test --sizes with an import config: server B and the account's login there.
  struct Target {
    config::ServerConfig server;
    config::Account account;
  };
  std::optional<Target> map_to;
};

// A message server B would not take (import), or that is missing on B because it was
// refused (validate): skipped, never retried within the run, reported by name.
struct RefusedMessage {
  uint64_t uidvalidity = 0;  // source (server A) UIDVALIDITY and UID
  uint32_t uid = 0;
  uint64_t size = 0;
  std::string internaldate;  // as server A sent it
  std::string kind;          // "too big", "content refused", "zero length", "bad date", ...
  std::string reason;        // the server's text, or the known limit it exceeds
  // In FolderResult::keywords_dropped: the keywords server B did not take (the message
  // went in without them).
  std::vector<std::string> keywords;
};

// A message import sent repaired (--fix-messages) and server B took.
struct RepairedMessage {
  uint64_t uidvalidity = 0;  // source (server A) UIDVALIDITY and UID
  uint32_t uid = 0;
  uint64_t size = 0;           // as exported
  uint64_t repaired_size = 0;  // as sent
  std::string repairs;         // what changed: "2 NUL byte(s) removed, ..."
};

// One folder's outcome.
struct FolderResult {
  std::string name;              // UTF-8 folder name as on the source (or the export)
  uint64_t source_messages = 0;  // messages on the source side (server A / the export)
  uint64_t target_messages = 0;  // messages on the target side (export / server B)
  uint64_t transferred = 0;      // messages written (export) or appended (import) now
  uint64_t bytes = 0;            // bytes transferred now
  uint64_t missing = 0;          // validate: in the export, not on server B
  uint64_t extra = 0;            // validate: on server B, not in the export
  // Messages server B refused (import), or missing on B because refused (validate; not
  // counted in `missing`).
  uint64_t refused = 0;
  std::vector<RefusedMessage> refused_messages;
  // Messages appended repaired (import --fix-messages; counted in `transferred` too).
  uint64_t repaired = 0;
  std::vector<RepairedMessage> repaired_messages;
  // Messages server B took without some of their keywords (it keeps no more in the
  // mailbox: "Too many user flags"), kind "keywords dropped": on B, not counted in
  // `refused` (import: dropped now; validate: as import recorded them, still on B).
  std::vector<RefusedMessage> keywords_dropped;
  // import / validate, test --sizes with an import config, dry runs: the folder on server
  // B (UTF-8), and why there: "same name", "rule 1", "special use \Sent", ...
  std::string target;
  std::string mapping;
  std::string error;  // empty when fine
  // Sizes (test --sizes) and plans (dry runs):
  uint64_t source_bytes = 0;  // bytes of the source_messages (as server A or the export says)
  bool create = false;        // the run would create it (on B; export: in the export)
  // Dry run: the messages and bytes the run would move, and those already there.
  uint64_t to_move = 0, bytes_to_move = 0, present = 0;
};

struct AccountResult {
  absl::Status status;
  std::vector<FolderResult> folders;
  uint64_t messages = 0;  // transferred now (all folders)
  uint64_t bytes = 0;
  uint64_t skipped = 0;            // already present (incremental / idempotent)
  uint64_t refused = 0;            // refused by server B (all folders)
  uint64_t repaired = 0;           // appended repaired (all folders; --fix-messages)
  std::vector<std::string> notes;  // test mode: capability summary, checks done
  // Throttling (pacing.h): time paused by throttles and caps, how many, and connections
  // opened again after a failure.
  uint64_t throttled_ms = 0, throttles = 0, reconnects = 0;
  // Budgets: the bytes this run counted against the budget (downloaded by export, uploaded
  // by import), and, when the run stopped because the budget was spent (status: a budget
  // stop, not a failure), when the window reopens; InfinitePast otherwise.
  uint64_t budget_used = 0;
  absl::Time parked_until = absl::InfinitePast();
  // The servers' NO, BAD and BYE replies by class (imap::ReplyClassName, spaces as '_':
  // "throttle", "connection_cap", "message_refused", "auth", ...).
  std::map<std::string, uint64_t> imap_errors;
};

struct Progress {
  std::string folder;
  uint64_t folders_done = 0, folders_total = 0;
  uint64_t messages_done = 0, messages_total = 0;  // totals 0 when unknown yet
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown (export learns sizes only as it fetches)
  uint64_t throttled_ms = 0, throttles = 0, reconnects = 0;  // as in AccountResult
  std::map<std::string, uint64_t> imap_errors;               // as in AccountResult
};

// Called from the engine's threads; implementations must be thread-safe and cheap.
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  virtual void OnProgress(const Progress& progress) = 0;
};

// Cooperative cancellation: the engine stops at a clean point (between messages) and
// returns kCancelled.
class CancelToken {
 public:
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Runs `task` for one account against `store` (the export root). Never throws; every
// failure is in the result's status, named with account, folder and cause.
AccountResult RunAccount(const AccountTask& task, storage::Store& store, ProgressListener* progress,
                         const CancelToken& cancel);

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_ENGINE_H_
