// Export (non-destructive): every selectable folder of server A into the store, EXAMINE
// and BODY.PEEK only. Incremental: only UIDs without a .json are fetched; after a
// UIDVALIDITY change, content already exported under an older name is not written again.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto/sha256.h"
#include "common/engine/engine_internal.h"
#include "common/engine/folder_index.h"
#include "common/engine/store_pipeline.h"
#include "common/imap/date.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

constexpr size_t kHeaderCapture = 64 * 1024;

// Exported messages of other UIDVALIDITY epochs, by content, for deduplication.
class Dedupe {
 public:
  void Add(const std::string& sha, const std::string& base) { by_sha_.emplace(sha, base); }
  // Takes one unclaimed copy of `sha`; its base name, or "" when none is left.
  std::string Claim(const std::string& sha) {
    auto it = by_sha_.find(sha);
    if (it == by_sha_.end()) return "";
    std::string base = it->second;
    by_sha_.erase(it);
    return base;
  }
  bool empty() const { return by_sha_.empty(); }

 private:
  std::multimap<std::string, std::string> by_sha_;
};

struct FolderJob {
  std::string prefix;
  FolderMeta meta;
  FolderResult* result;
  // From LIST-STATUS when the server offers it.
  absl::optional<uint64_t> messages, uidvalidity;
};

class ExportSink : public imap::FetchSink {
 public:
  ExportSink(Context& ctx, FolderJob& job, Dedupe& dedupe)
      : ctx_(ctx),
        job_(job),
        dedupe_(dedupe),
        // A folder's progress counts what is recorded (durable), from the pool's threads.
        recorder_(ctx.store, job.prefix, [this](const std::string&, const MessageMeta& meta) {
          ctx_.progress.Message(job_.meta.name, meta.size);
        }) {}
  // A message begun and not finished (the connection broke) gives its bytes back.
  ~ExportSink() override { ctx_.budget.Return(taken_); }

  // The budget's clean point: a message that does not fit is not begun (the session then
  // closes the connection); what arrived before it is recorded by FinishFolder.
  absl::Status BodyBegin(uint64_t seq, uint64_t size) override {
    if (ctx_.cancel.cancelled()) return absl::CancelledError("cancelled");
    ctx_.PaceMessage();
    ctx_.budget.Return(taken_);
    taken_ = 0;
    if (!ctx_.budget.Take(size)) return ctx_.budget.SpentStatus();
    taken_ = size;
    ASSIGN_OR_RETURN(writer_, ctx_.store.NewWriter(job_.prefix + "incoming.eml"));
    seq_ = seq;
    head_.clear();
    return absl::OkStatus();
  }
  absl::Status BodyData(absl::string_view chunk) override {
    hash_.Update(chunk);
    if (head_.size() < kHeaderCapture) {
      head_.append(chunk.data(), std::min(chunk.size(), kHeaderCapture - head_.size()));
    }
    return writer_->Append(chunk);
  }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override;

  // Records (writes the .json of) every message received so far, once committed.
  absl::Status Flush() { return recorder_.Finish(); }
  uint64_t bytes() const { return recorder_.bytes(); }
  uint64_t written() const { return recorder_.written(); }
  FolderMessages recorded() const { return recorder_.recorded(); }

 private:
  static constexpr size_t kBatchMessages = 256;
  static constexpr uint64_t kBatchBytes = 32 * 1024 * 1024;
  absl::Status CheckFreeSpace();
  void KeepDespiteBadAttributes(const imap::FetchedMessage& m, MessageMeta* meta);

  Context& ctx_;
  FolderJob& job_;
  Dedupe& dedupe_;
  std::unique_ptr<storage::Writer> writer_;
  uint64_t seq_ = 0;
  crypto::Sha256 hash_;
  std::string head_;
  uint64_t since_check_ = 0;
  uint64_t taken_ = 0;  // budget bytes of the message being received
  // Commits the .eml in the background and writes the .json once it is durable.
  ExportRecorder recorder_;
};

absl::Status ExportSink::CheckFreeSpace() {
  if (ctx_.task.min_free_gb <= 0 || (since_check_ += 1) % 100 != 1) return absl::OkStatus();
  int64_t free = ctx_.store.FreeBytes();
  if (free >= 0 && free < ctx_.task.min_free_gb * 1e9) {
    return absl::ResourceExhaustedError(
        absl::StrCat("free space at ", ctx_.store.Describe(), " is ", free / 1000000,
                     " MB, below --min-free-gb ", ctx_.task.min_free_gb));
  }
  return absl::OkStatus();
}

// Server A's INTERNALDATE and RFC822.SIZE are not the message: when they are unusable the
// message is kept with their raw values recorded (see MessageMeta), and a warning logged.
// Only a broken body or framing fails the folder.
void ExportSink::KeepDespiteBadAttributes(const imap::FetchedMessage& m, MessageMeta* meta) {
  auto where = [&] {
    return absl::StrCat("account ", ctx_.email(), " folder '", job_.meta.name, "' UID ", m.uid,
                        ": ");
  };
  if (!imap::ParseInternalDate(m.internaldate).ok()) {
    meta->internaldate_raw = m.internaldate;
    auto date = imap::ParseMessageDate(imap::HeaderValue(head_, "Date"));
    meta->internaldate = date.ok() ? imap::FormatInternalDate(*date) : "";
    LOG(WARNING) << where() << "unusable INTERNALDATE '" << m.internaldate.substr(0, 64)
                 << "' kept as internaldate_raw; "
                 << (date.ok() ? "using the Date: header field " + meta->internaldate
                               : std::string("no usable Date: header field, no date"));
  }
  if (!m.has_size || m.size_raw) {
    meta->size_unusable = true;
    meta->size_raw = m.size_raw;
    LOG(WARNING) << where() << "RFC822.SIZE "
                 << (m.size_raw ? absl::StrCat("'", m.size_raw->substr(0, 64), "'")
                                : std::string("missing"))
                 << ", kept as rfc822_size_raw; using the body's length " << meta->size;
  }
}

absl::Status ExportSink::OnMessage(const imap::FetchedMessage& m) {
  if (!m.has_body) return absl::OkStatus();  // an unsolicited flag update
  if (!writer_ || m.seq != seq_ || m.uid == 0) {
    return absl::DataLossError(
        absl::StrCat("FETCH response for message ", m.seq, " without UID or body"));
  }
  std::unique_ptr<storage::Writer> writer = std::move(writer_);
  taken_ = 0;  // it moved whole: counted
  const std::string sha = hash_.HexDigest();
  const uint64_t size = writer->bytes_written();
  const std::string base = MessageBase(job_.meta.uidvalidity, m.uid);
  std::string old = dedupe_.empty() ? "" : dedupe_.Claim(sha);
  if (!old.empty()) {
    job_.meta.claimed[m.uid] = old;  // same content already exported: keep that file
    ctx_.progress.Message(job_.meta.name, size);
  } else {
    MessageMeta meta;
    meta.flags = m.flags;
    meta.internaldate = m.internaldate;
    meta.size = size;
    KeepDespiteBadAttributes(m, &meta);
    meta.sha256 = sha;
    meta.message_id = imap::HeaderValue(head_, "Message-ID");
    bool ended = false;  // a header longer than head_: import reads the .eml when it needs it
    std::string digest = HeaderDigest(head_, &ended);
    if (ended || head_.size() < kHeaderCapture) meta.header_digest = std::move(digest);
    meta.uidvalidity = job_.meta.uidvalidity;
    meta.uid = m.uid;
    if (job_.meta.gmail_all_mail) {  // Gmail: the message's id and labels (FetchOptionsOf)
      meta.gmail_msgid = m.gmail_msgid;
      if (m.has_gmail_labels) meta.gmail_labels = GmailLabelsFromWire(m.gmail_labels);
    }
    RETURN_IF_ERROR(recorder_.Add(std::move(writer), base, std::move(meta)));
    if (recorder_.batch_messages() >= kBatchMessages || recorder_.batch_bytes() >= kBatchBytes) {
      recorder_.CloseBatch();  // one Sync() per batch, then its .json
    }
  }
  return CheckFreeSpace();
}

}  // namespace

absl::StatusOr<std::vector<Stored>> ListStored(Context& ctx, const std::string& prefix,
                                               std::vector<storage::ObjectInfo>* listing) {
  std::vector<Stored> out;
  ASSIGN_OR_RETURN(auto objects, ctx.store.List(prefix));
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view name = absl::string_view(o.key).substr(prefix.size());
    if (absl::StrContains(name, '/') || !absl::ConsumeSuffix(&name, ".json")) continue;
    Stored m{0, 0, std::string(name)};
    if (ParseMessageBase(name, &m.uidvalidity, &m.uid)) out.push_back(std::move(m));
  }
  if (listing != nullptr) *listing = std::move(objects);
  return out;
}

namespace {

// Records the folder (.folder.json) at `uidvalidity`, keeping the content
// claims of an earlier run in the same epoch (when there are stored messages
// they can refer to).
absl::Status RecordFolder(Context& ctx, FolderJob& job, uint64_t uidvalidity, bool keep_claims) {
  auto old = keep_claims ? ctx.store.Get(job.prefix + kFolderMetaName)
                         : absl::StatusOr<std::string>(absl::NotFoundError("not read"));
  if (old.ok()) {
    auto old_meta = FolderMetaFromJson(*old);
    if (old_meta.ok() && old_meta->uidvalidity == uidvalidity) {
      job.meta.claimed = old_meta->claimed;
    } else if (old_meta.ok()) {
      LOG(WARNING) << "account " << ctx.email() << " folder '" << job.meta.name
                   << "': UIDVALIDITY changed from " << old_meta->uidvalidity << " to "
                   << uidvalidity << "; deduplicating by content";
    }
  }
  job.meta.uidvalidity = uidvalidity;
  return ctx.store.Put(job.prefix + kFolderMetaName, FolderMetaToJson(job.meta));
}

absl::Status BuildDedupe(Context& ctx, const std::string& prefix,
                         const std::vector<std::string>& others, const FolderMeta& meta,
                         Dedupe* dedupe) {
  std::set<std::string> taken;
  for (const auto& [uid, base] : meta.claimed) taken.insert(base);
  for (const std::string& base : others) {
    if (taken.count(base)) continue;
    ASSIGN_OR_RETURN(std::string json, ctx.store.Get(prefix + base + ".json"));
    ASSIGN_OR_RETURN(MessageMeta m, MessageMetaFromJson(json));
    dedupe->Add(m.sha256, base);
  }
  return absl::OkStatus();
}

// The folder's index (folder_index.h) after this pass: what `before` held and what the
// pass recorded. Written when the pass recorded something or `before` was not current; a
// failure only costs the readers the .json (the index is a summary, they fall back).
void UpdateIndex(Context& ctx, const FolderJob& job, const ExportSink& sink,
                 const absl::StatusOr<FolderMessages>& before, bool before_current) {
  if (!before.ok() || (sink.written() == 0 && before_current)) return;
  FolderMessages all = *before;
  for (auto& [base, meta] : sink.recorded()) all[base] = std::move(meta);
  absl::Status st = WriteFolderIndex(ctx.store, job.prefix, all);
  if (!st.ok()) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << job.meta.name
                 << "': the folder index was not written (readers use the .json): " << st;
  }
}

// Records what arrived (even when the fetch failed midway: it is complete on
// disk), makes it durable and updates the folder's index.
absl::Status FinishFolder(Context& ctx, FolderJob& job, ExportSink& sink, size_t claimed_before,
                          absl::Status fetched, const absl::StatusOr<FolderMessages>& before,
                          bool before_current) {
  absl::Status flushed = sink.Flush();
  if (fetched.ok()) fetched = flushed;
  if (fetched.ok() && sink.written() > 0) fetched = ctx.store.Sync();
  UpdateIndex(ctx, job, sink, before, before_current);
  job.result->transferred += sink.written();
  job.result->bytes += sink.bytes();
  if (job.meta.claimed.size() != claimed_before) {
    RETURN_IF_ERROR(ctx.store.Put(job.prefix + kFolderMetaName, FolderMetaToJson(job.meta)));
  }
  return fetched;
}

// What a folder's messages are fetched with: for Gmail's All Mail, their id and labels too.
imap::FetchOptions FetchOptionsOf(const FolderJob& job) {
  imap::FetchOptions options;
  options.gmail = job.meta.gmail_all_mail;
  return options;
}

// Nothing of the folder exported yet: EXAMINE and one UID FETCH 1:* pipelined
// (no UID SEARCH, the data starts one round trip after the request).
absl::Status ExportFresh(Context& ctx, imap::Session& session, FolderJob& job) {
  FolderResult& r = *job.result;
  Dedupe none;
  ExportSink sink(ctx, job, none);
  auto box =
      imap::SelectAndFetch(session, job.meta.raw_name, /*read_only=*/true, "1:*",
                           FetchOptionsOf(job), &sink, [&](const imap::SelectedMailbox& b) {
                             ctx.progress.AddMessages(b.exists);
                             return RecordFolder(ctx, job, b.uidvalidity, /*keep_claims=*/false);
                           });
  RETURN_IF_ERROR(FinishFolder(ctx, job, sink, 0, box.status(), FolderMessages(), true));
  r.source_messages = r.target_messages = sink.written();  // EXISTS may have changed meanwhile
  return absl::OkStatus();
}

// Some of the folder is exported: fetch only UIDs without a .json (after a
// UIDVALIDITY change, content exported under the old epoch is claimed instead
// of written again).
absl::Status ExportIncremental(Context& ctx, imap::Session& session, FolderJob& job,
                               const std::vector<Stored>& stored,
                               const std::vector<storage::ObjectInfo>& listing) {
  FolderResult& r = *job.result;
  ASSIGN_OR_RETURN(imap::SelectedMailbox box, imap::Select(session, job.meta.raw_name, true));
  RETURN_IF_ERROR(RecordFolder(ctx, job, box.uidvalidity, /*keep_claims=*/true));
  std::set<uint32_t> current;
  std::vector<std::string> others;
  for (const Stored& m : stored) {
    if (m.uidvalidity == box.uidvalidity) {
      current.insert(m.uid);
    } else {
      others.push_back(m.base);
    }
  }
  std::vector<uint32_t> uids, todo;
  if (box.exists > 0) {  // the selected messages only (all without a message filter)
    ASSIGN_OR_RETURN(uids, imap::UidSearch(session, ctx.selector.SearchCriteria()));
  }
  const size_t claimed_before = job.meta.claimed.size();
  // What the folder's index must hold besides this pass's messages.
  bool before_current = false;
  absl::StatusOr<FolderMessages> before =
      LoadFolderMessages(ctx.store, job.prefix, listing, /*rewrite=*/false, &before_current);
  if (!before.ok()) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << job.meta.name
                 << "': the folder index is not updated: " << before.status();
  }
  if (job.meta.gmail_all_mail) {  // labels changed on A since, messages known by X-GM-MSGID
    ASSIGN_OR_RETURN(uint64_t rewritten,
                     RefreshGmailLabels(ctx, session, job.prefix, &job.meta, uids, current, others,
                                        before.ok() ? &*before : nullptr));
    if (rewritten > 0) before_current = false;  // the index must take the rewritten .json
  }
  for (uint32_t uid : uids) {
    if (!current.count(uid) && !job.meta.claimed.count(uid)) todo.push_back(uid);
  }
  r.source_messages = uids.size();
  ctx.progress.AddMessages(todo.size());
  Dedupe dedupe;
  if (!todo.empty() && !others.empty()) {
    RETURN_IF_ERROR(BuildDedupe(ctx, job.prefix, others, job.meta, &dedupe));
  }
  ExportSink sink(ctx, job, dedupe);
  RETURN_IF_ERROR(FinishFolder(ctx, job, sink, claimed_before,
                               imap::UidFetch(session, todo, FetchOptionsOf(job), &sink), before,
                               before_current));
  r.target_messages = current.size() + job.meta.claimed.size() + sink.written();
  return absl::OkStatus();
}

absl::Status ExportFolder(Context& ctx, imap::Session& session, FolderJob& job) {
  if (!job.meta.gmail_label.empty()) {
    // A Gmail label: its messages are exported in All Mail, with their labels. Recorded (so
    // import creates it and knows its label), at the UIDVALIDITY LIST-STATUS gave, if any.
    job.meta.uidvalidity = job.uidvalidity.value_or(0);
    RETURN_IF_ERROR(ctx.store.Put(job.prefix + kFolderMetaName, FolderMetaToJson(job.meta)));
    ctx.progress.FolderDone(job.meta.name);
    return absl::OkStatus();
  }
  std::vector<storage::ObjectInfo> listing;
  ASSIGN_OR_RETURN(std::vector<Stored> stored, ListStored(ctx, job.prefix, &listing));
  // A message filter needs its UID SEARCH: the incremental path, even for a new folder.
  if (!stored.empty() || ctx.selector.filters_messages()) {
    RETURN_IF_ERROR(ExportIncremental(ctx, session, job, stored, listing));
  } else if (job.messages == uint64_t{0} && job.uidvalidity) {
    // Empty on the server (LIST-STATUS said so) and nothing stored: no EXAMINE
    // needed.
    RETURN_IF_ERROR(RecordFolder(ctx, job, *job.uidvalidity, /*keep_claims=*/false));
  } else {
    RETURN_IF_ERROR(ExportFresh(ctx, session, job));
  }
  ctx.progress.FolderDone(job.meta.name);
  return absl::OkStatus();
}

absl::Status CheckFreeBeforeStart(Context& ctx) {
  int64_t free = ctx.store.FreeBytes();
  if (ctx.task.min_free_gb > 0 && free >= 0 && free < ctx.task.min_free_gb * 1e9) {
    return absl::ResourceExhaustedError(absl::StrCat("free space at ", ctx.store.Describe(), " is ",
                                                     free / 1000000, " MB, below --min-free-gb ",
                                                     ctx.task.min_free_gb));
  }
  return absl::OkStatus();
}

}  // namespace

AccountResult RunExport(Context& ctx) {
  AccountResult result;
  result.status = CheckFreeBeforeStart(ctx);
  if (!result.status.ok()) return result;
  // More connections open alongside the first one and log in once it has, while it lists
  // the folders.
  Prewarm more(ctx, ctx.Connections(SIZE_MAX) - 1);
  // The first connection and the folder list, retried and paced like any step.
  std::unique_ptr<imap::Session> session;
  StepState state;
  std::atomic<int> open{0};
  absl::StatusOr<imap::MailboxList> list = absl::UnknownError("not listed");
  auto listed = RunStep(ctx, &session, &state, &open, nullptr, [&](imap::Session& s) {
    more.Release(true);
    list = imap::ListAll(s, /*with_status=*/true);
    return status::Annotate(list.status(), absl::StrCat("account ", ctx.email()));
  });
  more.Release(false);  // no-op once released
  if (!listed->ok()) {
    result.status = *listed;
    return result;
  }
  std::vector<SourceFolder> selected = SourceFolders(ctx, *list);
  if (MarkGmailFolders(ctx, *session, &selected)) {
    result.notes.push_back(
        "Gmail (X-GM-EXT-1): each message exported once, in the \\All folder, "
        "with its labels");
  }
  std::vector<FolderJob> jobs;
  for (SourceFolder& f : selected) {  // the selected ones
    jobs.push_back({f.prefix, std::move(f.meta), nullptr, f.info.messages, f.info.uidvalidity});
  }
  result.folders.resize(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].result = &result.folders[i];
    result.folders[i].name = jobs[i].meta.name;
  }
  ctx.progress.AddTotals(jobs.size(), 0);
  // The largest folders first (LIST-STATUS sizes; unknown ones count as large).
  std::vector<uint64_t> sizes;
  for (const FolderJob& j : jobs) {
    sizes.push_back(j.meta.gmail_label.empty() ? j.messages.value_or(UINT64_MAX) : 0);
  }
  const std::vector<size_t> order = LargestFirst(sizes);
  std::vector<absl::Status> statuses(jobs.size());
  auto ran =
      ForEachItem(ctx, std::move(session), &more, jobs.size(), ctx.Connections(jobs.size()),
                  [&](imap::Session& s, size_t k) {
                    FolderJob& job = jobs[order[k]];
                    absl::Status st = ExportFolder(ctx, s, job);
                    return status::Annotate(st, absl::StrCat("folder '", job.meta.name, "'"));
                  });
  for (size_t k = 0; k < ran.size(); ++k) statuses[order[k]] = ran[k];
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!statuses[i].ok() && !IsBudgetStop(statuses[i])) {
      result.folders[i].error = std::string(statuses[i].message());
    }
    result.messages += result.folders[i].transferred;
    result.bytes += result.folders[i].bytes;
    result.skipped += result.folders[i].source_messages - result.folders[i].transferred;
  }
  result.status = FirstError(ctx.email(), statuses);
  return result;
}

}  // namespace engine::internal
