// Dry runs: what export, import and validate would do, computed from the same listing and
// comparison as the real runs, and written nowhere. RunAccount gives a dry run a
// ReadOnlyView of the store and read-only sessions (no CREATE, APPEND, STORE, SELECT), so
// a write would fail rather than happen.
//
// The plan, per folder (FolderResult): `create` (export: not in the export yet; import:
// server B lacks the folder), `to_move` and `bytes_to_move` (what the run would fetch from
// A / append to B), `present` (already there, not moved again), and for import `refused`
// (over a known size limit of B: never sent).
#include <set>

#include "absl/strings/str_cat.h"
#include "common/engine/engine_internal.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

// Export's plan for one folder of A at `uidvalidity`, whose messages are `sizes` (UID →
// RFC822.SIZE): what it has no .json for (nor a content claim of the same epoch) is
// fetched. After a UIDVALIDITY change those are all fetched again (the real run then
// keeps, by content, the files it already has).
absl::Status PlanExportFolder(Context& ctx, const SourceFolder& folder, uint64_t uidvalidity,
                              const std::map<uint32_t, uint64_t>& sizes, FolderResult* r) {
  ASSIGN_OR_RETURN(std::vector<Stored> stored, ListStored(ctx, folder.prefix));
  auto recorded = ctx.store.Get(folder.prefix + kFolderMetaName);
  if (!recorded.ok() && !absl::IsNotFound(recorded.status())) return recorded.status();
  r->create = !recorded.ok();
  std::set<uint32_t> have;
  for (const Stored& m : stored) {
    if (m.uidvalidity == uidvalidity) have.insert(m.uid);
  }
  if (recorded.ok()) {
    auto meta = FolderMetaFromJson(*recorded);
    if (meta.ok() && meta->uidvalidity == uidvalidity) {
      for (const auto& [uid, base] : meta->claimed) have.insert(uid);
    }
  }
  for (const auto& [uid, size] : sizes) {
    r->source_messages += 1;
    r->source_bytes += size;
    if (have.count(uid)) {
      r->present += 1;
    } else {
      r->to_move += 1;
      r->bytes_to_move += size;
    }
  }
  r->target_messages = r->present;
  return absl::OkStatus();
}

// Every folder of A: EXAMINE and the UIDs and sizes of its messages (pipelined on one
// session), compared with the export.
absl::Status PlanExportOn(Context& ctx, imap::Session& session, AccountResult* result) {
  ASSIGN_OR_RETURN(imap::MailboxList list, imap::ListAll(session, /*with_status=*/true));
  std::vector<SourceFolder> folders = SourceFolders(ctx, list);
  MarkGmailFolders(ctx, session, &folders);  // Gmail labels: recorded, nothing fetched
  result->folders.assign(folders.size(), FolderResult());
  // With message filters only the messages the selection keeps (as export's UID SEARCH).
  const bool filtered = ctx.selector.filters_messages();
  std::vector<SizeSink> sinks(folders.size(),
                              SizeSink(/*per_uid=*/true, filtered ? &ctx.selector : nullptr));
  std::vector<imap::MailboxFetch> requests;
  std::vector<size_t> index;  // of requests[k] in `folders`
  for (size_t i = 0; i < folders.size(); ++i) {
    result->folders[i].name = folders[i].meta.name;
    const imap::MailboxInfo& mb = folders[i].info;
    if (mb.messages == uint64_t{0} && mb.uidvalidity) continue;  // empty (LIST-STATUS)
    if (!folders[i].meta.gmail_label.empty()) continue;          // a Gmail label
    requests.push_back(SizesFetch(mb.raw_name, &sinks[i], filtered));
    index.push_back(i);
  }
  RETURN_IF_ERROR(imap::SelectAndFetchMany(session, requests));
  std::vector<absl::StatusOr<uint64_t>> uidvalidity(folders.size(), absl::UnknownError(""));
  for (size_t i = 0; i < folders.size(); ++i) {
    if (folders[i].info.uidvalidity) uidvalidity[i] = *folders[i].info.uidvalidity;
    if (!folders[i].meta.gmail_label.empty()) uidvalidity[i] = uint64_t{0};
  }
  for (size_t k = 0; k < requests.size(); ++k) {
    const auto& box = requests[k].result;
    uidvalidity[index[k]] = box.ok() ? absl::StatusOr<uint64_t>(box->uidvalidity) : box.status();
  }
  std::vector<absl::Status> statuses(folders.size());
  for (size_t i = 0; i < folders.size(); ++i) {
    statuses[i] = uidvalidity[i].ok() ? PlanExportFolder(ctx, folders[i], *uidvalidity[i],
                                                         sinks[i].sizes, &result->folders[i])
                                      : uidvalidity[i].status();
    statuses[i] =
        status::Annotate(statuses[i], absl::StrCat("folder '", folders[i].meta.name, "'"));
    if (!statuses[i].ok()) result->folders[i].error = std::string(statuses[i].message());
  }
  return FirstError(ctx.email(), statuses);
}

// What import would append of the messages B lacks in one folder: all but those over a
// known size limit of B, which it never sends (refused).
struct AppendPlan {
  uint64_t messages = 0, bytes = 0;
  std::vector<RefusedMessage> not_sent;
};

AppendPlan PlanAppends(Context& ctx, const FolderGap& gap, const std::string& name) {
  KnownLimit limit = gap.limit;  // and a mailbox's own, as import asks it
  if (gap.listed && gap.session != nullptr) {
    auto own = MailboxLimit(ctx, *gap.session, gap.mailbox, name);
    if (own.ok()) limit = *own;
  }
  AppendPlan plan;
  for (size_t i : WithinKnownLimit(limit, gap.missing, [&](size_t, RefusedMessage m) {
         plan.not_sent.push_back(std::move(m));
       })) {
    plan.messages += 1;
    plan.bytes += gap.missing[i].second.size;
  }
  return plan;
}

// The account's totals of a plan: nothing moved; present counted as skipped.
void PlanTotals(AccountResult* result) {
  result->messages = result->bytes = result->skipped = result->refused = 0;
  for (const FolderResult& f : result->folders) {
    result->skipped += f.present;
    result->refused += f.refused;
  }
}

}  // namespace

AccountResult PlanExport(Context& ctx) {
  AccountResult result;
  std::unique_ptr<imap::Session> session;
  StepState state;
  std::atomic<int> open{0};
  // One step, retried and paced like any (it starts over: it changes nothing).
  auto done = RunStep(ctx, &session, &state, &open, nullptr, [&](imap::Session& s) {
    result.folders.clear();
    return PlanExportOn(ctx, s, &result);
  });
  result.status = status::Annotate(*done, absl::StrCat("account ", ctx.email()));
  if (session) (void)imap::Logout(*session);
  ctx.progress.AddTotals(result.folders.size(), 0);
  for (const FolderResult& f : result.folders) ctx.progress.FolderDone(f.name);
  PlanTotals(&result);
  return result;
}

AccountResult PlanImport(Context& ctx) {
  const bool just_folders = ctx.selector.just_folders();
  auto plan_folder = [&ctx, just_folders](size_t, const FolderGap& gap, FolderResult* r) {
    // As import: the folder created when B lacks it, every missing message appended again
    // (also those refused before) but those over a known limit; with just_folders the
    // folder only.
    AppendPlan plan = just_folders ? AppendPlan() : PlanAppends(ctx, gap, r->name);
    if (just_folders) r->source_messages = 0;
    r->create = !gap.listed;
    r->present = just_folders ? 0 : r->source_messages - gap.missing.size();
    r->to_move = plan.messages;
    r->bytes_to_move = plan.bytes;
    r->missing = 0;
    r->refused = plan.not_sent.size();
    r->refused_messages = std::move(plan.not_sent);
  };
  AccountResult result = ComparePass(ctx, plan_folder);
  PlanTotals(&result);
  return result;
}

AccountResult PlanValidate(Context& ctx) {
  const bool resync = ctx.task.resync_missing, just_folders = ctx.selector.just_folders();
  // Validate's own comparison; with --resync-missing, also what it would append first.
  auto plan_folder = [&ctx, resync, just_folders](size_t, const FolderGap& gap, FolderResult* r) {
    r->present = r->source_messages - gap.missing.size();
    if (!resync) return;
    r->create = !gap.listed;
    if (just_folders) return;
    AppendPlan plan = PlanAppends(ctx, gap, r->name);
    r->to_move = plan.messages;
    r->bytes_to_move = plan.bytes;
  };
  AccountResult result = ComparePass(ctx, plan_folder);
  PlanTotals(&result);
  return result;
}

}  // namespace engine::internal
