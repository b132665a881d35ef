// Import: per exported folder, compare the export with server B's folder by message
// identity (identity.h: a multiset, different messages never merged) and append what B
// lacks, so re-running it, or resuming after a crash anywhere (even between an APPEND and
// its OK), creates no duplicate. Validate (validate.cc) compares the same way without appending.
#include <functional>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/engine/append_batches.h"
#include "common/engine/engine_internal.h"
#include "common/engine/folder_contents.h"
#include "common/engine/message_source.h"
#include "common/engine/store_pipeline.h"
#include "common/imap/reply_class.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

constexpr size_t kBatchMessages = 50;
constexpr uint64_t kBatchBytes = 8 * 1024 * 1024;

// Flags server B keeps (PERMANENTFLAGS); all when it did not say.
std::vector<std::string> AllowedFlags(const std::vector<std::string>& flags,
                                      const imap::SelectedMailbox& box, uint64_t* dropped) {
  if (box.permanent_flags.empty()) return flags;
  std::set<std::string> perm;
  for (const auto& f : box.permanent_flags) perm.insert(absl::AsciiStrToLower(f));
  const bool any_keyword = perm.count("\\*") > 0;
  std::vector<std::string> out;
  for (const std::string& f : flags) {
    const bool system = absl::StartsWith(f, "\\");
    if (perm.count(absl::AsciiStrToLower(f)) || (!system && any_keyword)) {
      out.push_back(f);
    } else {
      ++*dropped;
    }
  }
  return out;
}

// The server's words in a refused APPEND's status ("NO [LIMIT] Mail size is ...").
std::string ServerText(const absl::Status& st) {
  absl::string_view m = st.message();
  const size_t at = m.find("APPEND failed: ");
  return std::string(at == absl::string_view::npos ? m : m.substr(at + 15));
}

RefusedMessage Refused(const MessageMeta& meta, std::string kind, std::string reason) {
  RefusedMessage out;
  out.uidvalidity = meta.uidvalidity;
  out.uid = meta.uid;
  out.size = meta.size;
  out.internaldate = meta.internaldate;
  out.kind = std::move(kind);
  out.reason = std::move(reason);
  return out;
}

// What the refusal record needs of a folder's import besides its FolderResult.
struct FolderBases {
  std::vector<std::string> refused;   // base names, in the order of refused_messages
  std::vector<std::string> keywords;  // base names, in the order of keywords_dropped
  // In: the earlier record's keyword entries of the folder. Out: those of them missing on
  // B now, so sent again by this run (whose outcome replaces the entry).
  std::set<std::string> watched, retried;
  void Clear() {
    refused.clear();
    keywords.clear();
    retried.clear();
  }
};

bool IsKeyword(absl::string_view flag) { return !absl::StartsWith(flag, "\\"); }

// What one folder's append sends of each missing message: its bytes as exported, or with
// --fix-messages repaired when they hold what some servers refuse (each message is read
// once through the repairer, when it is first sent, to know).
class Bodies {
 public:
  Bodies(Context& ctx, const ExportedFolder& folder,
         const std::vector<std::pair<std::string, MessageMeta>>& missing)
      : ctx_(ctx),
        folder_(folder),
        missing_(missing),
        options_(RepairOptionsOf(ctx.task.server)),
        scans_(missing.size()) {}

  // The messages go in the order of `send` (indices into missing): they are read ahead in
  // that order while earlier ones are appended (store_pipeline.h).
  void ReadAhead(const std::vector<size_t>& send) {
    std::vector<BodyPrefetcher::Item> order;
    for (size_t k = 0; k < send.size(); ++k) {
      const auto& [base, meta] = missing_[send[k]];
      position_[send[k]] = k;
      order.push_back({folder_.files + base + ".eml", meta.size, meta.uid});
    }
    ahead_ = std::make_unique<BodyPrefetcher>(ctx_.store, std::move(order));
  }

  absl::StatusOr<std::shared_ptr<imap::LiteralSource>> Body(size_t i) {
    const auto& [base, meta] = missing_[i];
    std::shared_ptr<imap::LiteralSource> original;
    if (auto at = position_.find(i); ahead_ && at != position_.end()) {
      original = ahead_->Take(at->second);
    }
    if (!original) {
      original = std::make_shared<StoreLiteralSource>(ctx_.store, folder_.files + base + ".eml",
                                                      meta.size, meta.uid);
    }
    if (!ctx_.task.fix_messages) return original;
    if (!scans_[i]) {
      ASSIGN_OR_RETURN(RepairScan scan, ScanRepair(*original, options_));
      scans_[i] = scan;
    }
    if (!scans_[i]->counts.changed()) return original;
    return std::make_shared<RepairedSource>(original, options_, scans_[i]->size);
  }

  // "" or, for a message sent repaired, " (sent repaired: what changed)".
  std::string RepairNote(size_t i) const {
    if (!scans_[i] || !scans_[i]->counts.changed()) return "";
    return absl::StrCat(" (sent repaired: ", scans_[i]->counts.Describe(), ")");
  }

  // missing[i] is on B: counted and named when it went repaired.
  void Appended(size_t i, FolderResult* r) {
    if (!scans_[i] || !scans_[i]->counts.changed()) return;
    const MessageMeta& meta = missing_[i].second;
    RepairedMessage m{meta.uidvalidity, meta.uid, meta.size, scans_[i]->size,
                      scans_[i]->counts.Describe()};
    LOG(INFO) << "account " << ctx_.email() << " folder '" << folder_.meta.name << "': message "
              << m.uid << " (" << m.size << " bytes) sent repaired (" << m.repaired_size
              << " bytes): " << m.repairs;
    r->repaired += 1;
    r->repaired_messages.push_back(std::move(m));
  }

 private:
  Context& ctx_;
  const ExportedFolder& folder_;
  const std::vector<std::pair<std::string, MessageMeta>>& missing_;
  const imap::RepairOptions options_;
  std::vector<absl::optional<RepairScan>> scans_;  // by index into missing_
  std::map<size_t, size_t> position_;              // index into missing_ -> in `send`
  std::unique_ptr<BodyPrefetcher> ahead_;
};

}  // namespace

absl::StatusOr<KnownLimit> MailboxLimit(Context& ctx, imap::Session& session,
                                        const std::string& mailbox, const std::string& name) {
  KnownLimit limit = LimitOf(ctx.task.server, session);
  if (!imap::HasMailboxAppendLimits(session.capabilities())) return limit;
  auto own = imap::MailboxAppendLimit(session, mailbox);
  if (!own.ok()) {
    if (session.closed()) return own.status();
    LOG(WARNING) << "account " << ctx.email() << " folder '" << name
                 << "': server B advertises APPENDLIMIT per mailbox but refused STATUS "
                    "(APPENDLIMIT): "
                 << own.status();
    return limit;
  }
  if (own->has_value() && **own > 0 && (limit.bytes == 0 || **own < limit.bytes)) {
    limit = {**own, absl::StrCat("APPENDLIMIT ", **own, " of mailbox '", name, "' on server B")};
  }
  return limit;
}

namespace {

// The keywords server B keeps in a mailbox: every one until it says it holds no more ("Too
// many user flags in mailbox"); from then on only those it has (its FLAGS when selected and
// those appended since).
class KeywordBudget {
 public:
  explicit KeywordBudget(const imap::SelectedMailbox& box) {
    for (const std::string& f : box.flags) {
      if (IsKeyword(f)) known_.insert(absl::AsciiStrToLower(f));
    }
  }
  // B refused a message with `flags` for its keywords (`why`): only known ones go from now
  // on. True when `flags` has one to leave out (the message may then go without it).
  bool Full(const std::vector<std::string>& flags, const absl::Status& why) {
    full_ = true;
    reason_ = ServerText(why);
    std::vector<std::string> lost;
    Filter(flags, &lost);
    return !lost.empty();
  }
  // `flags` as they go now; `lost` (may be null) gets the keywords left out.
  std::vector<std::string> Filter(const std::vector<std::string>& flags,
                                  std::vector<std::string>* lost) const {
    if (!full_) return flags;
    std::vector<std::string> out;
    for (const std::string& f : flags) {
      if (!IsKeyword(f) || known_.count(absl::AsciiStrToLower(f))) {
        out.push_back(f);
      } else if (lost != nullptr) {
        lost->push_back(f);
      }
    }
    return out;
  }
  // `sent` went in: its keywords are in the mailbox now.
  void Appended(const std::vector<std::string>& sent) {
    for (const std::string& f : sent) {
      if (IsKeyword(f)) known_.insert(absl::AsciiStrToLower(f));
    }
  }
  // B's words when it refused keywords.
  const std::string& reason() const { return reason_; }

 private:
  bool full_ = false;
  std::set<std::string> known_;  // lower-cased
  std::string reason_;
};

}  // namespace

std::vector<size_t> WithinKnownLimit(
    const KnownLimit& limit, const std::vector<std::pair<std::string, MessageMeta>>& missing,
    const std::function<void(size_t, RefusedMessage)>& refuse) {
  std::vector<size_t> send;
  for (size_t i = 0; i < missing.size(); ++i) {
    const MessageMeta& meta = missing[i].second;
    if (limit.bytes > 0 && meta.size > limit.bytes) {
      refuse(i, Refused(meta, imap::RefusalName(imap::Refusal::kTooBig),
                        absl::StrCat("not sent: ", meta.size, " bytes exceed ", limit.source)));
    } else {
      send.push_back(i);
    }
  }
  return send;
}

namespace {

// Appends `missing` to `mailbox` (selected as `box`) in MULTIAPPEND batches. A message B
// refuses, or that exceeds a known limit (never sent), is skipped and recorded in r (and
// its base name in bases->refused); flags B does not keep (PERMANENTFLAGS) are dropped
// with a warning; a message that goes in without keywords B would not take is recorded in
// r->keywords_dropped (and bases->keywords).
absl::Status AppendMissing(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder, const imap::SelectedMailbox& box,
                           const std::vector<std::pair<std::string, MessageMeta>>& missing,
                           FolderResult* r, FolderBases* bases) {
  auto refuse = [&](size_t i, RefusedMessage m) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name << "': message "
                 << m.uid << " (" << m.size << " bytes, " << m.internaldate
                 << ") refused by server B (" << m.kind << "): " << m.reason << "; skipped";
    r->refused += 1;
    r->refused_messages.push_back(std::move(m));
    bases->refused.push_back(missing[i].first);
  };
  ASSIGN_OR_RETURN(const KnownLimit limit, MailboxLimit(ctx, session, mailbox, folder.meta.name));
  const std::vector<size_t> send = WithinKnownLimit(limit, missing, refuse);
  uint64_t dropped = 0;  // flags B does not keep (PERMANENTFLAGS)
  std::vector<std::vector<std::string>> flags(send.size());
  std::vector<uint64_t> sizes(send.size());
  for (size_t k = 0; k < send.size(); ++k) {
    flags[k] = AllowedFlags(missing[send[k]].second.flags, box, &dropped);
    sizes[k] = missing[send[k]].second.size;
  }
  KeywordBudget keywords(box);
  const size_t kept_before = r->keywords_dropped.size();
  Bodies bodies(ctx, folder, missing);
  bodies.ReadAhead(send);
  AppendCallbacks cb;
  cb.cancelled = [&] { return ctx.cancel.cancelled(); };
  cb.send = [&](const std::vector<size_t>& items, bool one_by_one) -> absl::StatusOr<SendResult> {
    std::vector<imap::AppendMessage> batch;
    for (size_t k : items) {
      imap::AppendMessage m;
      m.flags = keywords.Filter(flags[k], nullptr);
      m.internaldate = missing[send[k]].second.internaldate;
      ASSIGN_OR_RETURN(m.body, bodies.Body(send[k]));
      batch.push_back(std::move(m));
    }
    SendResult out;
    if (!one_by_one && items.size() > 1 && session.HasCapability("MULTIAPPEND")) {
      out.atomic = true;
      auto res = imap::AppendMany(session, mailbox, batch);
      if (!res.ok() && session.closed()) return res.status();
      out.statuses.assign(items.size(), res.status());
    } else {
      ASSIGN_OR_RETURN(out.statuses, imap::AppendEach(session, mailbox, batch));
      out.atomic = items.size() == 1;
    }
    return out;
  };
  // The byte budget and the pace: each message takes its size before it joins a batch; one
  // not appended nor refused (the connection broke) gives it back.
  std::vector<uint64_t> taken(send.size(), 0);
  cb.admit = [&](size_t k) {
    ctx.PaceMessage();
    if (!ctx.budget.Take(sizes[k])) return false;
    taken[k] = sizes[k];
    return true;
  };
  cb.stop = [&] { return ctx.budget.SpentStatus(); };
  cb.appended = [&](size_t k) {
    taken[k] = 0;
    const MessageMeta& meta = missing[send[k]].second;
    std::vector<std::string> lost;
    keywords.Appended(keywords.Filter(flags[k], &lost));
    if (!lost.empty()) {
      RefusedMessage m = Refused(meta, "keywords dropped", keywords.reason());
      m.keywords = std::move(lost);
      r->keywords_dropped.push_back(std::move(m));
      bases->keywords.push_back(missing[send[k]].first);
    }
    r->transferred += 1;
    r->bytes += meta.size;
    bodies.Appended(send[k], r);
    ctx.progress.Message(folder.meta.name, meta.size);
  };
  cb.refused = [&](size_t k, const absl::Status& why) {
    taken[k] = 0;  // sent whole: counted
    auto info = imap::ReplyOf(why);
    refuse(send[k], Refused(missing[send[k]].second,
                            imap::RefusalName(info ? info->refusal : imap::Refusal::kContent),
                            ServerText(why) + bodies.RepairNote(send[k])));
  };
  cb.drop_keywords = [&](size_t k, const absl::Status& why) {
    return keywords.Full(flags[k], why);
  };
  absl::Status st = AppendInBatches(sizes, BatchLimits{kBatchMessages, kBatchBytes}, cb);
  for (uint64_t bytes : taken) ctx.budget.Return(bytes);
  if (dropped > 0) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name << "': " << dropped
                 << " flag(s) not kept by server B (PERMANENTFLAGS)";
  }
  if (r->keywords_dropped.size() > kept_before) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name
                 << "': " << r->keywords_dropped.size() - kept_before
                 << " message(s) went in without some keywords: server B keeps no more keywords "
                    "in this mailbox ("
                 << keywords.reason() << ")";
  }
  return st;
}

// Selects the target folder (creating it when missing) and lists what the export has that
// B lacks, and what B has beyond the export.
absl::Status CompareFolder(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder, std::map<std::string, MessageMeta> local,
                           imap::SelectedMailbox* box,
                           std::vector<std::pair<std::string, MessageMeta>>* missing,
                           FolderResult* r) {
  std::vector<absl::StatusOr<ScannedFolder>> scan;
  RETURN_IF_ERROR(ScanIdentities(session, {mailbox}, /*read_only=*/false, &scan));
  if (!scan[0].ok() && !status::IsRetriable(scan[0].status())) {
    absl::Status c = imap::Create(session, mailbox);
    if (!c.ok() && !absl::IsAlreadyExists(c)) return c;
    RETURN_IF_ERROR(ScanIdentities(session, {mailbox}, /*read_only=*/false, &scan));
  }
  if (!scan[0].ok()) return scan[0].status();
  *box = scan[0]->box;
  FolderComparison c{
      mailbox, folder.files, IdentityMatch(std::move(local), std::move(scan[0]->messages)), {}};
  RETURN_IF_ERROR(Disambiguate(ctx.store, session, /*read_only=*/false, {&c}));
  RETURN_IF_ERROR(c.status);
  std::vector<TargetMessage> extra;
  c.match.Diff(missing, &extra, r);
  return MatchRepaired(ctx.store, session, /*read_only=*/false, mailbox, folder.files,
                       RepairOptionsOf(ctx.task.server), &extra, missing, r);
}

// Where the account's folders go on server B, and what each puts there.
struct ImportPlan {
  const std::vector<ExportedFolder>& folders;
  const std::vector<MappedFolder>& mapped;
  const TargetInfo& target;
  const FolderContents& contents;
};

// Creates B's `mailbox` unless B lists it (or it appeared meanwhile).
absl::Status EnsureFolder(imap::Session& session, const TargetInfo& target,
                          const std::string& mailbox) {
  if (TargetLists(target, mailbox)) return absl::OkStatus();
  absl::Status c = imap::Create(session, mailbox);
  return absl::IsAlreadyExists(c) ? absl::OkStatus() : c;
}

absl::Status TargetFolder(Context& ctx, imap::Session& session, const ImportPlan& plan, size_t i,
                          FolderResult* r, FolderBases* bases) {
  const ExportedFolder& folder = plan.folders[i];
  const std::string& mailbox = plan.mapped[i].raw;
  ASSIGN_OR_RETURN(auto local, plan.contents.Messages(ctx, i));
  if (plan.contents.IsLabelOnGmailTarget(i)) {
    // A label on a Gmail target: its messages get the label in All Mail (SetGmailLabels).
    absl::StrAppend(&r->mapping, ", a Gmail label: set on ", local.size(),
                    " message(s) in All Mail, not copied");
    RETURN_IF_ERROR(EnsureFolder(session, plan.target, mailbox));
    ctx.progress.FolderDone(folder.meta.name);
    return absl::OkStatus();
  }
  if (ctx.selector.just_folders()) local.clear();  // the folder is created, nothing appended
  r->source_messages = local.size();
  uint64_t local_bytes = 0;
  for (const auto& entry : local) local_bytes += entry.second.size;
  ctx.progress.AddMessages(local.size(), local_bytes);
  imap::SelectedMailbox box;
  std::vector<std::pair<std::string, MessageMeta>> missing;
  RETURN_IF_ERROR(
      CompareFolder(ctx, session, mailbox, folder, std::move(local), &box, &missing, r));
  if (!missing.empty()) {
    const uint64_t before = r->transferred;
    for (const auto& entry : missing) {
      if (bases->watched.count(entry.first)) bases->retried.insert(entry.first);
    }
    absl::Status st = AppendMissing(ctx, session, mailbox, folder, box, missing, r, bases);
    r->target_messages += r->transferred - before;
    r->missing = missing.size() - (r->transferred - before) - r->refused;
    RETURN_IF_ERROR(st);
  }
  if (plan.contents.gmail_target() && i == plan.contents.all_mail() &&
      !ctx.selector.just_folders()) {
    for (size_t j = 0; j < plan.folders.size(); ++j) {  // the labels must exist first
      if (plan.contents.IsLabelOnGmailTarget(j)) {
        RETURN_IF_ERROR(EnsureFolder(session, plan.target, plan.mapped[j].raw));
      }
    }
    // All Mail's messages again (`local` went to the comparison; these are in memory).
    ASSIGN_OR_RETURN(auto labelled, plan.contents.Messages(ctx, i));
    uint64_t labels = 0;
    RETURN_IF_ERROR(SetGmailLabels(ctx, session, mailbox, plan.contents, labelled, plan.mapped,
                                   plan.target, &labels));
  }
  ctx.progress.FolderDone(folder.meta.name);
  return absl::OkStatus();
}

// Rewrites the account's refusal record (layout.h) from `old` (the record as this run
// found it): this run's refusals and keyword drops; the earlier entries of folders that
// did not complete now; and the earlier keyword drops of messages still on B (not sent
// again now). A failure to write it is logged: validate then recognises only the refusals
// a known limit explains.
void UpdateRefusalRecord(Context& ctx, const std::vector<ExportedFolder>& folders,
                         const std::vector<FolderResult>& results,
                         const std::vector<absl::Status>& statuses,
                         const std::vector<FolderBases>& bases, absl::optional<RefusalRecord> old) {
  const std::string key = RefusedKey(ctx.email());
  RefusalRecord record;
  record.target = absl::StrCat(ctx.task.server.host, ":", ctx.task.server.port);
  record.updated_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  std::map<std::string, size_t> done;  // prefixes of folders completed now
  for (size_t i = 0; i < folders.size(); ++i) {
    if (!statuses[i].ok()) continue;
    done[folders[i].prefix] = i;
    const FolderResult& r = results[i];
    for (size_t k = 0; k < r.refused_messages.size() && k < bases[i].refused.size(); ++k) {
      record.entries.push_back(
          {folders[i].meta.name, folders[i].prefix, bases[i].refused[k], r.refused_messages[k]});
    }
    for (size_t k = 0; k < r.keywords_dropped.size() && k < bases[i].keywords.size(); ++k) {
      record.entries.push_back(
          {folders[i].meta.name, folders[i].prefix, bases[i].keywords[k], r.keywords_dropped[k]});
    }
  }
  if (old) {
    for (RefusedEntry& e : old->entries) {
      auto it = done.find(e.prefix);
      const bool still_on_b = it != done.end() && !e.message.keywords.empty() &&
                              !bases[it->second].retried.count(e.base);
      if (it == done.end() || still_on_b) record.entries.push_back(std::move(e));
    }
  }
  absl::Status st;
  if (!record.entries.empty()) {
    st = ctx.store.Put(key, RefusalRecordToJson(record));
  } else if (old) {
    st = ctx.store.Delete(key);
  }
  if (!st.ok()) {
    LOG(WARNING) << "account " << ctx.email() << ": cannot write the refusal record " << key << ": "
                 << st;
  }
}

// --strict: a refused message fails the account.
absl::Status StrictRefusals(const Context& ctx, const AccountResult& result) {
  if (!ctx.task.strict || result.refused == 0) return absl::OkStatus();
  for (const FolderResult& f : result.folders) {
    if (f.refused_messages.empty()) continue;
    const RefusedMessage& m = f.refused_messages[0];
    return absl::FailedPreconditionError(
        absl::StrCat("account ", ctx.email(), ": ", result.refused,
                     " message(s) refused by server B (--strict); first: folder '", f.name,
                     "' uid ", m.uid, " (", m.size, " bytes): ", m.reason));
  }
  return absl::FailedPreconditionError(absl::StrCat("account ", ctx.email(), ": ", result.refused,
                                                    " message(s) refused by server B (--strict)"));
}

}  // namespace

KnownLimit LimitOf(const config::ServerConfig& server, const imap::Session& session) {
  KnownLimit limit;
  if (auto cap = imap::AppendLimitOf(session.capabilities()); cap && *cap > 0) {
    limit = {*cap, absl::StrCat("APPENDLIMIT=", *cap, " of server B")};
  }
  if (server.max_message_size > 0 && (limit.bytes == 0 || server.max_message_size < limit.bytes)) {
    limit = {server.max_message_size,
             absl::StrCat("max_message_size ", server.max_message_size, " of the config")};
  }
  return limit;
}

AccountResult RunImport(Context& ctx) {
  AccountResult result;
  auto folders = ListSelectedFolders(ctx);
  // More connections open alongside the first one and log in once it has, while it reads
  // server B's folders.
  Prewarm more(ctx, folders.ok() ? ctx.Connections(folders->size()) - 1 : 0);
  // The first connection and B's folders, retried and paced like any step.
  std::unique_ptr<imap::Session> session;
  absl::StatusOr<TargetInfo> target = absl::UnknownError("not discovered");
  if (!folders.ok()) {
    target = folders.status();
  } else {
    StepState state;
    std::atomic<int> open{0};
    auto found = RunStep(ctx, &session, &state, &open, nullptr, [&](imap::Session& s) {
      more.Release(true);
      target = DiscoverTarget(s);
      return target.status();
    });
    if (!found->ok()) target = *found;
  }
  more.Release(false);  // no-op once released
  // Where every folder lands, checked before anything moves, and what each puts there.
  auto mapped = target.ok() ? MapFolders(ctx, *folders, *target) : target.status();
  auto contents = mapped.ok() ? FolderContents::Load(ctx, &*folders, target->gmail)
                              : absl::StatusOr<std::unique_ptr<FolderContents>>(mapped.status());
  if (!contents.ok()) {
    result.status = status::Annotate(contents.status(), absl::StrCat("account ", ctx.email()));
    return result;
  }
  result.notes = (*contents)->Notes();
  const ImportPlan plan{*folders, *mapped, *target, **contents};
  result.folders.resize(folders->size());
  ctx.progress.AddTotals(folders->size(), 0);
  std::vector<uint64_t> sizes;
  for (const ExportedFolder& f : *folders) sizes.push_back(f.bytes);
  const std::vector<size_t> order = LargestFirst(sizes);
  std::vector<absl::Status> statuses(folders->size());
  absl::optional<RefusalRecord> old;
  if (auto loaded = LoadRefusalRecord(ctx.store, ctx.email()); loaded.ok()) old = *loaded;
  std::vector<FolderBases> bases(folders->size());
  for (size_t i = 0; old && i < folders->size(); ++i) {
    for (const RefusedEntry& e : old->entries) {
      if (e.prefix == (*folders)[i].prefix && !e.message.keywords.empty()) {
        bases[i].watched.insert(e.base);
      }
    }
  }
  auto ran = ForEachItem(ctx, std::move(session), &more, folders->size(),
                         ctx.Connections(folders->size()), [&](imap::Session& s, size_t k) {
                           const size_t i = order[k];
                           const ExportedFolder& f = (*folders)[i];
                           result.folders[i] = FolderResult();
                           result.folders[i].name = f.meta.name;
                           result.folders[i].target = (*mapped)[i].name;
                           result.folders[i].mapping = (*mapped)[i].how;
                           bases[i].Clear();
                           absl::Status st =
                               TargetFolder(ctx, s, plan, i, &result.folders[i], &bases[i]);
                           return status::Annotate(st, absl::StrCat("folder '", f.meta.name, "'"));
                         });
  for (size_t k = 0; k < ran.size(); ++k) statuses[order[k]] = ran[k];
  for (size_t i = 0; i < statuses.size(); ++i) {
    FolderResult& f = result.folders[i];
    if (!statuses[i].ok() && !IsBudgetStop(statuses[i])) {
      f.error = std::string(statuses[i].message());
    }
    result.messages += f.transferred;
    result.bytes += f.bytes;
    result.refused += f.refused;
    result.repaired += f.repaired;
    result.skipped += f.source_messages - f.missing - f.transferred - f.refused;
  }
  result.skipped += plan.contents.left_out();
  UpdateRefusalRecord(ctx, *folders, result.folders, statuses, bases, std::move(old));
  result.status = FirstError(ctx.email(), statuses);
  if (result.status.ok()) result.status = StrictRefusals(ctx, result);
  return result;
}

}  // namespace engine::internal
