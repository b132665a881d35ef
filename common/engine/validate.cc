// Validate: per exported folder, compare the export with server B's folder by message
// identity (as import does) and report what B lacks; with --resync-missing, import it
// first, then compare again. Read-only on B: EXAMINE and FETCH of a few header fields.
//
// Every folder's EXAMINE + FETCH is pipelined on one connection (in batches bounded by
// message count, so memory stays bounded on huge accounts): the whole comparison costs a
// handful of round trips however many folders the account has.
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/engine/engine_internal.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

// Messages whose identities one pipelined batch holds in memory (about 100 bytes each).
constexpr uint64_t kBatchMessages = 100000;

// What tells a message B refused from one B lacks: the record import leaves (every
// refusal, whatever its reason), and the known size limit (a message over it was never
// sent, even by an import that could not write its record).
struct Refusals {
  std::map<std::string, RefusedMessage> recorded;  // by folder prefix + base name
  KnownLimit limit;
  // Messages B took without some keywords: folder prefix -> base name -> the record's entry.
  std::map<std::string, std::map<std::string, RefusedMessage>> keywords;
};

// The recorded keyword drops of the folder's messages that are on B (in the export, not
// missing) go to r->keywords_dropped.
void KeywordsDropped(const Refusals& refusals, const ExportedFolder& f,
                     const std::vector<std::pair<std::string, MessageMeta>>& local,
                     const std::vector<std::pair<std::string, MessageMeta>>& missing,
                     FolderResult* r) {
  auto folder = refusals.keywords.find(f.prefix);
  if (folder == refusals.keywords.end()) return;
  std::set<std::string> absent, exported;
  for (const auto& entry : missing) absent.insert(entry.first);
  for (const auto& entry : local) exported.insert(entry.first);
  for (const auto& [base, m] : folder->second) {
    if (exported.count(base) && !absent.count(base)) r->keywords_dropped.push_back(m);
  }
}

// Moves the messages of `missing` that were refused from r->missing to r->refused.
void SplitRefused(const Refusals& refusals, const ExportedFolder& f,
                  const std::vector<std::pair<std::string, MessageMeta>>& missing,
                  FolderResult* r) {
  for (const auto& [base, meta] : missing) {
    auto it = refusals.recorded.find(f.prefix + base);
    RefusedMessage m;
    if (it != refusals.recorded.end()) {
      m = it->second;
    } else if (refusals.limit.bytes > 0 && meta.size > refusals.limit.bytes) {
      m.uidvalidity = meta.uidvalidity;
      m.uid = meta.uid;
      m.size = meta.size;
      m.internaldate = meta.internaldate;
      m.kind = "too big";
      m.reason = absl::StrCat(meta.size, " bytes exceed ", refusals.limit.source);
    } else {
      continue;
    }
    r->refused += 1;
    r->missing -= 1;
    r->refused_messages.push_back(std::move(m));
  }
}

// What the folders of one account are compared against.
struct Comparison {
  const TargetInfo& target;
  const std::vector<MappedFolder>& mapped;  // where each of `folders` lands on B
  const std::vector<ExportedFolder>& folders;
  const Refusals& refusals;
  const GapListener& on_gap;
};

// Concludes the comparison of folder i (its identities told apart, `fc`): what B lacks, the
// refused messages told apart, the listener. An error: the folder's own failure.
absl::Status Conclude(Context& ctx, imap::Session& session, const Comparison& c, size_t i,
                      FolderComparison& fc, FolderResult* r) {
  RETURN_IF_ERROR(fc.status);
  const ExportedFolder& f = c.folders[i];
  // A folder missing on B (its EXAMINE failed) has every message missing.
  FolderGap gap{fc.mailbox, TargetLists(c.target, fc.mailbox), {}, c.refusals.limit, &session};
  std::vector<TargetMessage> extra;
  fc.match.Diff(&gap.missing, &extra, r);
  RETURN_IF_ERROR(MatchRepaired(ctx.store, session, /*read_only=*/true, fc.mailbox, f.prefix,
                                RepairOptionsOf(ctx.task.server), &extra, &gap.missing, r));
  SplitRefused(c.refusals, f, gap.missing, r);
  KeywordsDropped(c.refusals, f, fc.match.local(), gap.missing, r);
  if (c.on_gap) c.on_gap(i, gap, r);
  ctx.progress.FolderDone(f.meta.name);
  return absl::OkStatus();
}

// Compares folders [begin, end) of c.folders on `session`; per-folder problems go into
// the folder results, a broken session is returned. Folders whose identities need telling
// apart (identity.h) wait for one joint disambiguation; the others conclude at once, so
// only those keep their export's metadata in memory.
absl::Status CompareBatch(Context& ctx, imap::Session& session, const Comparison& c, size_t begin,
                          size_t end, AccountResult* result, std::vector<absl::Status>* statuses) {
  const std::vector<ExportedFolder>& folders = c.folders;
  auto fail = [&](size_t i, const absl::Status& st) {
    (*statuses)[i] = status::Annotate(st, absl::StrCat("folder '", folders[i].meta.name, "'"));
    result->folders[i].error = std::string((*statuses)[i].message());
  };
  std::vector<std::string> mailboxes;
  for (size_t i = begin; i < end; ++i) {
    FolderResult& r = result->folders[i];
    r.name = folders[i].meta.name;
    r.target = c.mapped[i].name;
    r.mapping = c.mapped[i].how;
    mailboxes.push_back(c.mapped[i].raw);
  }
  std::vector<absl::StatusOr<ScannedFolder>> present;
  RETURN_IF_ERROR(ScanIdentities(session, mailboxes, /*read_only=*/true, &present));
  std::vector<std::pair<size_t, std::unique_ptr<FolderComparison>>> pending;
  for (size_t i = begin; i < end; ++i) {
    auto local = ListSelectedMessages(ctx, folders[i]);
    if (!local.ok()) {
      fail(i, local.status());
      continue;
    }
    result->folders[i].source_messages = local->size();
    uint64_t bytes = 0;
    for (const auto& entry : *local) bytes += entry.second.size;
    ctx.progress.AddMessages(local->size(), bytes);
    absl::StatusOr<ScannedFolder>& scan = present[i - begin];
    if (!scan.ok() && status::IsRetriable(scan.status())) {
      fail(i, scan.status());
      continue;
    }
    std::vector<TargetMessage> target;
    if (scan.ok()) target = std::move(scan->messages);
    auto fc = std::make_unique<FolderComparison>(
        FolderComparison{mailboxes[i - begin],
                         folders[i].prefix,
                         IdentityMatch(*std::move(local), std::move(target)),
                         {}});
    if (fc->match.ambiguous()) {
      pending.emplace_back(i, std::move(fc));
    } else if (absl::Status st = Conclude(ctx, session, c, i, *fc, &result->folders[i]); !st.ok()) {
      fail(i, st);
      if (session.closed()) return st;
    }
  }
  std::vector<FolderComparison*> ambiguous;
  for (auto& [i, fc] : pending) ambiguous.push_back(fc.get());
  RETURN_IF_ERROR(Disambiguate(ctx.store, session, /*read_only=*/true, ambiguous));
  for (auto& [i, fc] : pending) {
    if (absl::Status st = Conclude(ctx, session, c, i, *fc, &result->folders[i]); !st.ok()) {
      fail(i, st);
      if (session.closed()) return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace

AccountResult ComparePass(Context& ctx, const GapListener& on_gap) {
  AccountResult result;
  auto folders = ListSelectedFolders(ctx);
  auto session = folders.ok() ? ctx.Connect() : folders.status();
  auto target = session.ok() ? DiscoverTarget(**session) : session.status();
  auto mapped = target.ok() ? MapFolders(ctx, *folders, *target) : target.status();
  if (!mapped.ok()) {
    result.status = status::Annotate(mapped.status(), absl::StrCat("account ", ctx.email()));
    return result;
  }
  result.folders.resize(folders->size());
  std::vector<absl::Status> statuses(folders->size());
  ctx.progress.AddTotals(folders->size(), 0);
  Refusals refusals;
  refusals.limit = LimitOf(ctx.task.server, **session);
  auto record = LoadRefusalRecord(ctx.store, ctx.email());
  if (!record.ok()) {
    LOG(WARNING) << "account " << ctx.email() << ": " << record.status()
                 << " (refused messages are recognised by the known size limit only)";
  } else if (record->has_value()) {
    for (RefusedEntry& e : (*record)->entries) {
      if (e.message.keywords.empty()) {
        refusals.recorded[e.prefix + e.base] = std::move(e.message);
      } else {
        refusals.keywords[e.prefix][e.base] = std::move(e.message);
      }
    }
  }
  size_t begin = 0;
  while (begin < folders->size() && result.status.ok()) {
    if (ctx.cancel.cancelled()) result.status = absl::CancelledError("cancelled");
    size_t end = begin;
    uint64_t messages = 0;
    while (end < folders->size() &&
           (end == begin || messages + (*folders)[end].messages <= kBatchMessages)) {
      messages += (*folders)[end++].messages;
    }
    if (result.status.ok()) {
      result.status =
          CompareBatch(ctx, **session, Comparison{*target, *mapped, *folders, refusals, on_gap},
                       begin, end, &result, &statuses);
    }
    begin = end;
  }
  for (const FolderResult& f : result.folders) {
    result.skipped += f.source_messages - f.missing - f.refused;
    result.refused += f.refused;
  }
  if (result.status.ok()) {
    result.status = FirstError(ctx.email(), statuses);
  } else {
    result.status = status::Annotate(result.status, absl::StrCat("account ", ctx.email()));
  }
  return result;
}

AccountResult RunValidate(Context& ctx) {
  AccountResult resync;
  if (ctx.task.resync_missing) {
    resync = RunImport(ctx);
    if (!resync.status.ok()) return resync;
  }
  AccountResult result = ComparePass(ctx, nullptr);
  result.messages = resync.messages;  // what --resync-missing appended (repaired ones too)
  result.bytes = resync.bytes;
  result.repaired = resync.repaired;
  for (size_t i = 0; i < result.folders.size() && i < resync.folders.size(); ++i) {
    result.folders[i].transferred = resync.folders[i].transferred;
    result.folders[i].repaired = resync.folders[i].repaired;
    result.folders[i].repaired_messages = std::move(resync.folders[i].repaired_messages);
  }
  if (!result.status.ok()) return result;
  uint64_t missing = 0;
  std::string first;
  for (const FolderResult& f : result.folders) {
    missing += f.missing;
    if (f.missing > 0 && first.empty()) first = f.name;
  }
  if (missing > 0) {
    result.status = absl::FailedPreconditionError(absl::StrCat(
        "account ", ctx.email(), ": ", missing,
        " message(s) of the export missing on server B (first in folder '", first, "')"));
  } else if (ctx.task.strict && result.refused > 0) {
    result.status = absl::FailedPreconditionError(
        absl::StrCat("account ", ctx.email(), ": ", result.refused,
                     " message(s) of the export refused by server B (--strict)"));
  }
  return result;
}

}  // namespace engine::internal
