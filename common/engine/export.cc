// Export (non-destructive): every selectable folder of server A into the store, EXAMINE
// and BODY.PEEK only. Incremental: only UIDs without a .json are fetched; after a
// UIDVALIDITY change, content already exported under an older name is not written again.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/engine/engine_internal.h"
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
};

class ExportSink : public imap::FetchSink {
 public:
  ExportSink(Context& ctx, FolderJob& job, Dedupe& dedupe)
      : ctx_(ctx), job_(job), dedupe_(dedupe) {}

  absl::Status BodyBegin(uint64_t seq, uint64_t size) override {
    if (ctx_.cancel.cancelled()) return absl::CancelledError("cancelled");
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

  // Records (writes the .json of) every message committed so far.
  absl::Status Flush();
  uint64_t bytes() const { return bytes_; }
  uint64_t written() const { return written_; }

 private:
  static constexpr size_t kBatchMessages = 256;
  static constexpr uint64_t kBatchBytes = 32 * 1024 * 1024;
  absl::Status CheckFreeSpace();

  Context& ctx_;
  FolderJob& job_;
  Dedupe& dedupe_;
  std::unique_ptr<storage::Writer> writer_;
  uint64_t seq_ = 0;
  crypto::Sha256 hash_;
  std::string head_;
  uint64_t bytes_ = 0, written_ = 0, since_check_ = 0;
  std::vector<std::pair<std::string, MessageMeta>> pending_;  // committed .eml, no .json yet
  uint64_t pending_bytes_ = 0;
};

absl::Status ExportSink::CheckFreeSpace() {
  if (ctx_.task.min_free_gb <= 0 || (since_check_ += 1) % 100 != 1) return absl::OkStatus();
  int64_t free = ctx_.store.FreeBytes();
  if (free >= 0 && free < ctx_.task.min_free_gb * 1e9) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "free space at ", ctx_.store.Describe(), " is ", free / 1000000, " MB, below --min-free-gb ",
        ctx_.task.min_free_gb));
  }
  return absl::OkStatus();
}

absl::Status ExportSink::OnMessage(const imap::FetchedMessage& m) {
  if (!m.has_body) return absl::OkStatus();  // an unsolicited flag update
  if (!writer_ || m.seq != seq_ || m.uid == 0) {
    return absl::DataLossError(absl::StrCat("FETCH response for message ", m.seq,
                                            " without UID or body"));
  }
  std::unique_ptr<storage::Writer> writer = std::move(writer_);
  const std::string sha = hash_.HexDigest();
  const uint64_t size = writer->bytes_written();
  const std::string base = MessageBase(job_.meta.uidvalidity, m.uid);
  std::string old = dedupe_.empty() ? "" : dedupe_.Claim(sha);
  if (!old.empty()) {
    job_.meta.claimed[m.uid] = old;  // same content already exported: keep that file
  } else {
    RETURN_IF_ERROR(writer->CommitAs(job_.prefix + base + ".eml"));
    MessageMeta meta;
    meta.flags = m.flags;
    meta.internaldate = m.internaldate;
    meta.size = size;
    meta.sha256 = sha;
    meta.message_id = imap::HeaderValue(head_, "Message-ID");
    meta.uidvalidity = job_.meta.uidvalidity;
    meta.uid = m.uid;
    pending_.emplace_back(base, std::move(meta));
    pending_bytes_ += size;
    if (pending_.size() >= kBatchMessages || pending_bytes_ >= kBatchBytes) {
      RETURN_IF_ERROR(Flush());
    }
  }
  ctx_.progress.Message(job_.meta.name, size);
  return CheckFreeSpace();
}

absl::Status ExportSink::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  // One sync makes every .eml of the batch durable before any of their .json exists:
  // a .json never points at an .eml a crash could lose, and there is no fsync per file.
  RETURN_IF_ERROR(ctx_.store.Sync());
  for (const auto& [base, meta] : pending_) {
    RETURN_IF_ERROR(ctx_.store.Put(job_.prefix + base + ".json", MessageMetaToJson(meta)));
    ++written_;
    bytes_ += meta.size;
  }
  pending_.clear();
  pending_bytes_ = 0;
  return absl::OkStatus();
}

// Existing .json names in `prefix` split into the current epoch's UIDs and other epochs'
// messages (by base name).
absl::Status ScanExisting(Context& ctx, const std::string& prefix, uint64_t uidvalidity,
                          std::set<uint32_t>* current, std::vector<std::string>* others) {
  ASSIGN_OR_RETURN(auto objects, ctx.store.List(prefix));
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view name = absl::string_view(o.key).substr(prefix.size());
    if (absl::StrContains(name, '/') || !absl::ConsumeSuffix(&name, ".json")) continue;
    uint64_t v;
    uint32_t uid;
    if (!ParseMessageBase(name, &v, &uid)) continue;
    if (v == uidvalidity) {
      current->insert(uid);
    } else {
      others->emplace_back(name);
    }
  }
  return absl::OkStatus();
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

absl::Status ExportFolder(Context& ctx, imap::Session& session, FolderJob& job) {
  FolderResult& r = *job.result;
  ASSIGN_OR_RETURN(imap::SelectedMailbox box, imap::Select(session, job.meta.raw_name, true));
  auto old = ctx.store.Get(job.prefix + kFolderMetaName);
  if (old.ok()) {
    auto old_meta = FolderMetaFromJson(*old);
    if (old_meta.ok() && old_meta->uidvalidity == box.uidvalidity) {
      job.meta.claimed = old_meta->claimed;
    } else if (old_meta.ok()) {
      LOG(WARNING) << "account " << ctx.email() << " folder '" << job.meta.name
                   << "': UIDVALIDITY changed from " << old_meta->uidvalidity << " to "
                   << box.uidvalidity << "; deduplicating by content";
    }
  }
  job.meta.uidvalidity = box.uidvalidity;
  RETURN_IF_ERROR(ctx.store.Put(job.prefix + kFolderMetaName, FolderMetaToJson(job.meta)));
  std::set<uint32_t> current;
  std::vector<std::string> others;
  RETURN_IF_ERROR(ScanExisting(ctx, job.prefix, box.uidvalidity, &current, &others));
  // Nothing of this folder exported yet: one UID FETCH 1:* streams it all, no SEARCH.
  const bool fresh = current.empty() && others.empty() && job.meta.claimed.empty();
  std::vector<uint32_t> uids, todo;
  if (box.exists > 0 && !fresh) {
    ASSIGN_OR_RETURN(uids, imap::UidSearch(session, "ALL"));
  }
  for (uint32_t uid : uids) {
    if (!current.count(uid) && !job.meta.claimed.count(uid)) todo.push_back(uid);
  }
  r.source_messages = fresh ? box.exists : uids.size();
  ctx.progress.AddMessages(fresh ? box.exists : todo.size());
  Dedupe dedupe;
  if (!todo.empty() && !others.empty()) {
    RETURN_IF_ERROR(BuildDedupe(ctx, job.prefix, others, job.meta, &dedupe));
  }
  const size_t claimed_before = job.meta.claimed.size();
  ExportSink sink(ctx, job, dedupe);
  absl::Status st = fresh && box.exists > 0
                        ? imap::UidFetchSet(session, "1:*", imap::FetchOptions(), &sink)
                        : imap::UidFetch(session, todo, imap::FetchOptions(), &sink);
  // Record what arrived even when the fetch failed midway: it is complete on disk.
  absl::Status flushed = sink.Flush();
  if (st.ok()) st = flushed;
  if (st.ok()) st = ctx.store.Sync();
  r.transferred += sink.written();
  r.bytes += sink.bytes();
  if (job.meta.claimed.size() != claimed_before) {
    RETURN_IF_ERROR(ctx.store.Put(job.prefix + kFolderMetaName, FolderMetaToJson(job.meta)));
  }
  RETURN_IF_ERROR(st);
  r.target_messages = current.size() + job.meta.claimed.size() + sink.written();
  if (fresh) r.source_messages = sink.written();  // EXISTS may have changed meanwhile
  ctx.progress.FolderDone(job.meta.name);
  return absl::OkStatus();
}

absl::Status CheckFreeBeforeStart(Context& ctx) {
  int64_t free = ctx.store.FreeBytes();
  if (ctx.task.min_free_gb > 0 && free >= 0 && free < ctx.task.min_free_gb * 1e9) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "free space at ", ctx.store.Describe(), " is ", free / 1000000,
        " MB, below --min-free-gb ", ctx.task.min_free_gb));
  }
  return absl::OkStatus();
}

}  // namespace

AccountResult RunExport(Context& ctx) {
  AccountResult result;
  result.status = CheckFreeBeforeStart(ctx);
  if (!result.status.ok()) return result;
  auto session = ctx.Connect();
  if (!session.ok()) {
    result.status = session.status();
    return result;
  }
  // More connections log in while this one lists the folders.
  Prewarm more(ctx, ctx.Connections(SIZE_MAX) - 1);
  auto ns = imap::GetNamespaces(**session);
  auto list = ns.ok() ? imap::List(**session) : ns.status();
  if (!list.ok()) {
    result.status = status::Annotate(list.status(), absl::StrCat("account ", ctx.email()));
    return result;
  }
  const std::string ns_prefix = ns->personal.empty() ? "" : ns->personal[0].prefix;
  std::vector<FolderJob> jobs;
  for (const imap::MailboxInfo& mb : *list) {
    if (!mb.selectable()) continue;
    FolderMeta meta{mb.name, mb.raw_name, mb.delimiter ? std::string(1, mb.delimiter) : "",
                    mb.special_use(), mb.attributes, ns_prefix, 0, {}};
    jobs.push_back({FolderPrefix(ctx.email(), FolderPath(mb.name, mb.delimiter)), meta, nullptr});
  }
  result.folders.resize(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].result = &result.folders[i];
    result.folders[i].name = jobs[i].meta.name;
  }
  ctx.progress.AddTotals(jobs.size(), 0);
  std::vector<std::unique_ptr<imap::Session>> sessions = more.Take();
  sessions.insert(sessions.begin(), std::move(*session));
  auto statuses = ForEachItem(ctx, std::move(sessions), jobs.size(),
                              ctx.Connections(jobs.size()), [&](imap::Session& s, size_t i) {
                                absl::Status st = ExportFolder(ctx, s, jobs[i]);
                                return status::Annotate(
                                    st, absl::StrCat("folder '", jobs[i].meta.name, "'"));
                              });
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!statuses[i].ok()) result.folders[i].error = std::string(statuses[i].message());
    result.messages += result.folders[i].transferred;
    result.bytes += result.folders[i].bytes;
    result.skipped += result.folders[i].source_messages - result.folders[i].transferred;
  }
  result.status = FirstError(ctx.email(), statuses);
  return result;
}

}  // namespace engine::internal
