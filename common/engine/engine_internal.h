// Pieces the engine's modes share. Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_
#define MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/engine.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"

namespace engine::internal {

// Thread-safe progress of one account, forwarded to the listener on every change.
class ProgressTracker {
 public:
  explicit ProgressTracker(ProgressListener* listener) : listener_(listener) {}
  void AddTotals(uint64_t folders, uint64_t messages);
  void AddMessages(uint64_t total_delta, uint64_t bytes_delta = 0);
  void Message(const std::string& folder, uint64_t bytes);
  void FolderDone(const std::string& folder);

 private:
  void Emit();  // holds mu_
  ProgressListener* listener_;
  std::mutex mu_;
  Progress p_;
};

struct Context {
  const AccountTask& task;
  storage::Store& store;
  const CancelToken& cancel;
  std::string secret;
  ProgressTracker progress;

  absl::StatusOr<std::unique_ptr<imap::Session>> Connect() const;
  // IMAP connections to use for `items` folders (the per-account cap from the config).
  size_t Connections(size_t items) const;
  const std::string& email() const { return task.account.email; }
};

// Connects `n` more sessions in parallel (started at once, so their TLS handshakes and
// logins overlap each other and whatever the caller does meanwhile). Sessions that fail
// are left out: the item runner connects again on demand.
class Prewarm {
 public:
  Prewarm(Context& ctx, size_t n);
  ~Prewarm();
  std::vector<std::unique_ptr<imap::Session>> Take();  // joins

 private:
  std::vector<std::unique_ptr<imap::Session>> sessions_;
  std::vector<std::thread> threads_;
};

// Runs fn(session, i) for i in [0, count) on up to `connections` sessions in parallel,
// each thread with its own session (the given ones, already logged in, serve the first
// threads; the others connect). An item failing with kUnavailable / kDeadlineExceeded is
// retried on a new connection up to 3 times. Returns the status of every item.
std::vector<absl::Status> ForEachItem(
    Context& ctx, std::vector<std::unique_ptr<imap::Session>> sessions, size_t count,
    size_t connections, const std::function<absl::Status(imap::Session&, size_t)>& fn);

// The first non-OK status, annotated with the account; OK when all are.
absl::Status FirstError(const std::string& email, const std::vector<absl::Status>& statuses);

// A folder of an export: its key prefix ("a@x/Parent/Child/") and metadata.
struct ExportedFolder {
  std::string prefix;
  FolderMeta meta;
};
// Every folder exported for `email`, sorted by prefix.
absl::StatusOr<std::vector<ExportedFolder>> ListExportedFolders(storage::Store& store,
                                                                const std::string& email);
// Message metadata of a folder's exported messages (those with a .json), by base name.
absl::StatusOr<std::map<std::string, MessageMeta>> ListExportedMessages(
    storage::Store& store, const std::string& prefix);

// Identity of a message for idempotent import and validation: the INTERNALDATE instant
// with the Message-ID, or with the size for a message without one.
std::string IdentityKey(absl::string_view message_id, uint64_t size,
                        absl::string_view internaldate);
// The identities of the messages in the selected mailbox of `session` (a multiset).
absl::StatusOr<std::multiset<std::string>> ScanSelectedIdentities(imap::Session& session);

// Target folder mapping on server B for an exported folder (special use, delimiter and
// namespace prefix translated). `b_folders` is B's LIST.
struct TargetInfo {
  char delimiter = '/';
  std::string prefix;  // B's personal namespace prefix
  std::vector<imap::MailboxInfo> folders;
};
absl::StatusOr<TargetInfo> DiscoverTarget(imap::Session& session);
// The raw (modified UTF-7) name on B for an exported folder.
absl::StatusOr<std::string> TargetMailboxName(const FolderMeta& meta, const TargetInfo& target);

AccountResult RunExport(Context& ctx);
AccountResult RunImport(Context& ctx);
AccountResult RunValidate(Context& ctx);
AccountResult RunTest(Context& ctx);

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_
