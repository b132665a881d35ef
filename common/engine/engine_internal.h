// Pieces the engine's modes share. Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_
#define MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "common/engine/budget.h"
#include "common/engine/engine.h"
#include "common/engine/folder_index.h"
#include "common/engine/folder_map.h"
#include "common/engine/identity.h"
#include "common/engine/layout.h"
#include "common/engine/pacing.h"
#include "common/engine/secret_source.h"
#include "common/engine/selection.h"
#include "common/imap/commands.h"
#include "common/imap/message_repair.h"
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
  void Pacing(const PacingCounters& counters);
  // Messages done so far (a failed step that moved this made progress).
  uint64_t messages_done();

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
  SecretSource& secrets;  // the account's password or token, refreshed as it ages
  ProgressTracker progress;
  Pacer& pacer;              // throttles, connection caps, pauses (pacing.h)
  const Selector& selector;  // which folders and messages (selection.h)
  ByteBudget& budget;        // bytes_per_day (budget.h)
  TokenBucket* pace;         // messages_per_second; null: no pace

  // Waits for the next message's turn under messages_per_second (no-op without a pace).
  void PaceMessage() const;

  absl::StatusOr<std::unique_ptr<imap::Session>> Connect() const;
  // The halves of Connect: the connection, then the login.
  absl::StatusOr<std::unique_ptr<imap::Session>> Open() const;
  absl::Status Login(imap::Session& session) const;
  // IMAP connections to use for `items` folders (the per-account cap from the config).
  size_t Connections(size_t items) const;
  const std::string& email() const { return task.account.email; }
};

// Opens `n` more connections in parallel (TCP, TLS and greeting started at once, so the
// handshakes overlap each other and the first connection's) and hands each out as soon
// as it is logged in. The logins wait for Release(true), which the caller gives once its
// first connection has logged in: a wrong password then fails one login, not n (servers
// lock accounts after repeated failures). Connections that fail are left out: the item
// runner connects again on demand. The destructor releases (without login) and waits.
class Prewarm {
 public:
  Prewarm(Context& ctx, size_t n);
  ~Prewarm();
  void Release(bool login);
  // The next session to be logged in (waits for one); null when none is left.
  std::unique_ptr<imap::Session> Next();

 private:
  void Run(Context& ctx);

  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false, login_ = false;
  std::deque<std::unique_ptr<imap::Session>> ready_;
  size_t connecting_ = 0;
  size_t logged_in_ = 1;  // the first connection and the prewarmed ones logged in so far
  std::vector<std::thread> threads_;
};

// One step's retries (RunStep): temporary failures in a row and attempts counted.
struct StepState {
  int attempts = 0;  // temporary failures since the step last made progress
  int temporary_streak = 0;
  bool failed_before = false;  // a connection of this step failed: the next is a reconnect
};
constexpr int kMaxStepAttempts = 4;

// Runs fn on `*session` (connecting when it is null or closed) until it succeeds or fails
// for good: a throttle or connection cap pauses the account (ctx.pacer) and retries on a
// new connection without counting an attempt; a temporary failure (kUnavailable,
// kDeadlineExceeded: a disconnect, a BYE) retries on a new connection up to
// kMaxStepAttempts times in a row without progress (messages done). fn must resume where
// it stopped (export and import do: what is stored or on B is not moved again).
// `admitted`, when given, is asked before each try; false makes RunStep return nullopt
// with `*session` closed (the caller hands the step to another connection). `open`
// counts the account's open connections.
absl::optional<absl::Status> RunStep(Context& ctx, std::unique_ptr<imap::Session>* session,
                                     StepState* state, std::atomic<int>* open,
                                     const std::function<bool()>& admitted,
                                     const std::function<absl::Status(imap::Session&)>& fn);

// Runs fn(session, i) for i in [0, count) on up to `connections` sessions in
// parallel, each thread with its own session: `first` (already logged in)
// serves the first thread, the others take prewarmed ones from `more` as they
// become ready, or connect. Items are taken in index order (callers put the
// longest first). Each item is a RunStep; while the pacer allows fewer connections
// than there are threads, the threads above the count close their connection and hand
// their item back to the others. Returns the status of every item.
std::vector<absl::Status> ForEachItem(
    Context& ctx, std::unique_ptr<imap::Session> first, Prewarm* more, size_t count,
    size_t connections, const std::function<absl::Status(imap::Session&, size_t)>& fn);

// Indices of `sizes` ordered largest first (ties keep their order): the longest
// items start first, so they do not start last and stretch the account's wall
// time.
std::vector<size_t> LargestFirst(const std::vector<uint64_t>& sizes);

// The first non-OK status, annotated with the account; OK when all are. A failure wins over
// a budget stop (budget.h) of another item.
absl::Status FirstError(const std::string& email, const std::vector<absl::Status>& statuses);

// A selectable folder of server A, as export records it (its FolderMeta, UIDVALIDITY not
// known yet) and where (its key prefix).
struct SourceFolder {
  imap::MailboxInfo info;
  FolderMeta meta;
  std::string prefix;
};
// The folders of `list` that export takes (the selectable ones the selection keeps, the
// others logged with the rule), in LIST order (sizes.cc).
std::vector<SourceFolder> SourceFolders(const Context& ctx, const imap::MailboxList& list);

// Gmail as server A (gmail_export.cc, README "Gmail labels"). When `session` offers
// X-GM-EXT-1 and `folders` has a \All folder: marks it gmail_all_mail (its messages are
// exported once, with their X-GM-MSGID and X-GM-LABELS) and every other folder with the
// label it stands for (gmail_label: recorded, its messages not fetched; \Trash and \Junk
// get none and are exported as they are). False, and nothing marked, otherwise.
bool MarkGmailFolders(const Context& ctx, const imap::Session& session,
                      std::vector<SourceFolder>* folders);
// X-GM-LABELS as sent, in UTF-8 (GmailLabelFromWire).
std::vector<std::string> GmailLabelsFromWire(const std::vector<std::string>& wire);
// An incremental export of the All Mail folder (`meta`, selected at meta->uidvalidity; `uids`
// the selected messages): asks A for every one's X-GM-MSGID and X-GM-LABELS (no body),
// rewrites the .json of the stored ones whose labels changed on A since (`current`: UIDs
// stored in this UIDVALIDITY, and meta->claimed), and claims in meta->claimed the messages
// of a new UIDVALIDITY stored under an older one (`others`: their base names), known by
// their X-GM-MSGID, so nothing is downloaded again. The recorded metas come from `known`
// (the folder's messages as loaded; null: each .json is read), which is kept up to date
// with what is rewritten. Returns how many .json were rewritten.
absl::StatusOr<uint64_t> RefreshGmailLabels(Context& ctx, imap::Session& session,
                                            const std::string& prefix, FolderMeta* meta,
                                            const std::vector<uint32_t>& uids,
                                            const std::set<uint32_t>& current,
                                            const std::vector<std::string>& others,
                                            FolderMessages* known);

// Counts the messages of a sizes-only FETCH (UID RFC822.SIZE) and adds up their sizes;
// with `per_uid`, keeps each message's size by UID too (sizes.cc).
class SizeSink : public imap::FetchSink {
 public:
  // With `filter`, only the messages it selects count (by INTERNALDATE and RFC822.SIZE:
  // fetch them with SizesFetch(..., with_dates = true)).
  explicit SizeSink(bool per_uid, const Selector* filter = nullptr)
      : per_uid_(per_uid), filter_(filter) {}
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override;
  uint64_t messages() const { return per_uid_ ? sizes.size() : seen_.size(); }
  uint64_t bytes = 0;
  std::map<uint32_t, uint64_t> sizes;  // with per_uid

 private:
  bool per_uid_;
  const Selector* filter_;
  std::set<uint32_t> seen_;
};
// EXAMINE `mailbox` and UID FETCH 1:* (UID RFC822.SIZE, and with `with_dates` FLAGS and
// INTERNALDATE too) into `sink`.
imap::MailboxFetch SizesFetch(const std::string& mailbox, SizeSink* sink, bool with_dates);

// A message recorded in the store (it has a .json), and those of a folder (export.cc).
struct Stored {
  uint64_t uidvalidity;
  uint32_t uid;
  std::string base;
};
// With `listing`, also the folder's listing (every key under `prefix`).
absl::StatusOr<std::vector<Stored>> ListStored(Context& ctx, const std::string& prefix,
                                               std::vector<storage::ObjectInfo>* listing = nullptr);

// A folder of an export: its key prefix ("a@x/Parent/Child/") and metadata.
struct ExportedFolder {
  std::string prefix;
  FolderMeta meta;
  uint64_t messages = 0;  // recorded messages (.json) in the folder
  uint64_t bytes = 0;     // their bodies (.eml)
  // The objects directly in the folder, from the account's listing (so reading its
  // messages needs no listing of its own).
  std::vector<storage::ObjectInfo> objects;
  // Where the files of the messages it puts on server B are: `prefix`, but for a Gmail
  // export's label folders (their messages are the All Mail folder's; folder_contents.h).
  std::string files;
};
// Every folder exported for `email`, sorted by prefix.
absl::StatusOr<std::vector<ExportedFolder>> ListExportedFolders(storage::Store& store,
                                                                const std::string& email);
// Message metadata of a folder's exported messages (those with a .json), by base name.
// The exported folders the selection keeps (import, validate): kNotFound naming the store
// when the account has no export at all; the folders left out are logged with the rule.
absl::StatusOr<std::vector<ExportedFolder>> ListSelectedFolders(Context& ctx);
// The folder's exported messages the selection keeps (its message filters).
absl::StatusOr<std::map<std::string, MessageMeta>> ListSelectedMessages(
    Context& ctx, const ExportedFolder& folder);
absl::StatusOr<std::map<std::string, MessageMeta>> ListExportedMessages(storage::Store& store,
                                                                        const std::string& prefix);

// The account's refusal record (layout.h, written by import): its key, and its content
// (nullopt when there is none).
std::string RefusedKey(const std::string& email);
absl::StatusOr<absl::optional<RefusalRecord>> LoadRefusalRecord(storage::Store& store,
                                                                const std::string& email);

// The repair --fix-messages applies for `server` (its max_line_length).
imap::RepairOptions RepairOptionsOf(const config::ServerConfig& server);
// A mailbox of server B as selected, with its messages' coarse identities (identity.h).
struct ScannedFolder {
  imap::SelectedMailbox box;
  std::vector<TargetMessage> messages;
};
// Selects each of `mailboxes` (EXAMINE when `read_only`) and reads its identities, every
// SELECT and FETCH pipelined on one session (one round trip for all). Per mailbox: the
// scan, or the error of its SELECT. An error return means the session broke
// (identity_scan.cc).
absl::Status ScanIdentities(imap::Session& session, const std::vector<std::string>& mailboxes,
                            bool read_only, std::vector<absl::StatusOr<ScannedFolder>>* out);
// One exported folder compared with its mailbox on B.
struct FolderComparison {
  std::string mailbox;  // raw name on B
  std::string prefix;   // the folder's key prefix in the store
  IdentityMatch match;
  absl::Status status;  // the folder's own failure (an .eml unreadable, B refused the mailbox)
};
// Gives the matches of `folders` what tells apart the different exported messages of one
// coarse identity (identity.h): the header digests their .json lack (read from the .eml),
// then B's digests and sizes of those identities' messages, then the bytes of those the
// digests do not tell apart; on B each round is one pipelined SELECT (EXAMINE when
// `read_only`) and UID FETCH per folder that needs it, nothing when none does (the usual
// case). A folder's own failure goes to its status; an error return means the session
// broke (identity_scan.cc).
absl::Status Disambiguate(storage::Store& store, imap::Session& session, bool read_only,
                          const std::vector<FolderComparison*>& folders);
// Finds the messages of `missing` that B holds repaired (--fix-messages, by this run or an
// earlier one): a message without a Message-ID is known by its size, which the repair
// changes, so one whose repaired size and date match one of B's `extra` messages is on B
// (different messages of one repaired identity told apart as Disambiguate does, on the
// folder's `mailbox`). Reads only such candidates (no Message-ID, a date some extra
// message has), so nothing when B has no extra message. Moves them out of `missing` and
// `extra`, and updates r's missing and extra. An error: an exported message could not be
// read, B refused the mailbox, or the session broke (identity_scan.cc).
absl::Status MatchRepaired(storage::Store& store, imap::Session& session, bool read_only,
                           const std::string& mailbox, const std::string& prefix,
                           const imap::RepairOptions& options, std::vector<TargetMessage>* extra,
                           std::vector<std::pair<std::string, MessageMeta>>* missing,
                           FolderResult* r);

// Server B's namespace, delimiter and folders (TargetInfo: folder_map.h).
absl::StatusOr<TargetInfo> DiscoverTarget(imap::Session& session);
// Where the account's folders land on B (the task's folder_map), logged one line each;
// kFailedPrecondition naming the folders when two would land in one without "merge".
absl::StatusOr<std::vector<MappedFolder>> MapFolders(Context& ctx,
                                                     const std::vector<ExportedFolder>& folders,
                                                     const TargetInfo& target);
// Whether B lists `raw_name` as a selectable folder (else import creates it).
bool TargetLists(const TargetInfo& target, const std::string& raw_name);

// The largest message server B takes, when known: its APPENDLIMIT (RFC 7889), else the
// config's max_message_size (the smaller when both). `source` names it for messages.
struct KnownLimit {
  uint64_t bytes = 0;  // 0: none known
  std::string source;
};
KnownLimit LimitOf(const config::ServerConfig& server, const imap::Session& session);
// The largest message `mailbox` of B (UTF-8 `name`) takes, when known (import.cc):
// LimitOf, and for a server with limits per mailbox (a bare APPENDLIMIT, RFC 7889) the
// mailbox's own (STATUS (APPENDLIMIT)), the smaller applying. A STATUS the server refuses
// leaves LimitOf's (with a warning).
absl::StatusOr<KnownLimit> MailboxLimit(Context& ctx, imap::Session& session,
                                        const std::string& mailbox, const std::string& name);
// Known limits first (import.cc): a message over them is never uploaded only to be
// refused. Returns the indices into `missing` to send; the others go to `refuse` with what
// the report says of them ("too big", "not sent: N bytes exceed ...").
std::vector<size_t> WithinKnownLimit(
    const KnownLimit& limit, const std::vector<std::pair<std::string, MessageMeta>>& missing,
    const std::function<void(size_t, RefusedMessage)>& refuse);

// The connections `task` may use at most (task, account, server: the first set).
int MaxConnections(const AccountTask& task);
// The messages_per_second of `task`'s account (account, server, preset); 0: no pace.
double MessagesPerSecond(const AccountTask& task);

// What validate's comparison found for one exported folder (validate.cc), before
// refusals are told apart: the mailbox on B, whether B lists it, the messages B lacks, and
// the largest message B is known to take.
struct FolderGap {
  std::string mailbox;  // raw name on B
  bool listed = false;
  std::vector<std::pair<std::string, MessageMeta>> missing;
  KnownLimit limit;  // server B's (LimitOf)
  // The comparison's session, idle: the listener may ask B read-only questions on it.
  imap::Session* session = nullptr;
};
// Called for each compared folder with its index in the export's folders and its result
// as validate fills it (the listener may add to it, or change it).
using GapListener = std::function<void(size_t folder, const FolderGap& gap, FolderResult* r)>;
// Validate's comparison (read-only on B): every exported folder against server B by
// identity. `on_gap` may be empty.
AccountResult ComparePass(Context& ctx, const GapListener& on_gap);

// test --sizes (sizes.cc): every selectable folder's messages and bytes on `session`'s
// server, by the cheapest means it offers (LIST-STATUS with SIZE; else STATUS (MESSAGES
// SIZE) per folder; else EXAMINE and UID FETCH 1:* RFC822.SIZE summed), and with
// task.map_to the folder each maps to on server B. Fills result's folders and notes.
absl::Status ReportSizes(Context& ctx, imap::Session& session, AccountResult* result);

// Dry runs (dry_run.cc): what export, import and validate would do, written nowhere.
AccountResult PlanExport(Context& ctx);
AccountResult PlanImport(Context& ctx);
AccountResult PlanValidate(Context& ctx);

AccountResult RunExport(Context& ctx);
AccountResult RunImport(Context& ctx);
AccountResult RunValidate(Context& ctx);
AccountResult RunTest(Context& ctx);

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_ENGINE_INTERNAL_H_
