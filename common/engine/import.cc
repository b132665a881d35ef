// Import: per exported folder, compare the export with server B's folder by message
// identity (INTERNALDATE with Message-ID, or with size) and append what B lacks, so
// re-running it, or resuming after a crash anywhere (even between an APPEND and its OK),
// creates no duplicate. Validate (validate.cc) compares the same way without appending.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/engine/append_batches.h"
#include "common/engine/engine_internal.h"
#include "common/engine/message_source.h"
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

  absl::StatusOr<std::shared_ptr<imap::LiteralSource>> Body(size_t i) {
    const auto& [base, meta] = missing_[i];
    auto original =
        std::make_shared<StoreLiteralSource>(ctx_.store, folder_.prefix + base + ".eml", meta.size);
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
};

// The largest message `mailbox` takes, when known: LimitOf, and for a server with limits per
// mailbox (a bare APPENDLIMIT, RFC 7889) the mailbox's own (STATUS (APPENDLIMIT)), the
// smaller applying. A STATUS the server refuses leaves LimitOf's (with a warning).
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

// Appends `missing` to `mailbox` (selected as `box`) in MULTIAPPEND batches. A message B
// refuses, or that exceeds a known limit (never sent), is skipped and recorded in r (and
// its base name in *refused_bases); keywords B cannot keep are dropped with a warning.
absl::Status AppendMissing(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder, const imap::SelectedMailbox& box,
                           const std::vector<std::pair<std::string, MessageMeta>>& missing,
                           FolderResult* r, std::vector<std::string>* refused_bases) {
  auto refuse = [&](size_t i, RefusedMessage m) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name << "': message "
                 << m.uid << " (" << m.size << " bytes, " << m.internaldate
                 << ") refused by server B (" << m.kind << "): " << m.reason << "; skipped";
    r->refused += 1;
    r->refused_messages.push_back(std::move(m));
    refused_bases->push_back(missing[i].first);
  };
  // Known limits first: a message over them is never uploaded only to be refused.
  ASSIGN_OR_RETURN(const KnownLimit limit, MailboxLimit(ctx, session, mailbox, folder.meta.name));
  std::vector<size_t> send;  // indices into `missing`
  for (size_t i = 0; i < missing.size(); ++i) {
    const MessageMeta& meta = missing[i].second;
    if (limit.bytes > 0 && meta.size > limit.bytes) {
      refuse(i, Refused(meta, imap::RefusalName(imap::Refusal::kTooBig),
                        absl::StrCat("not sent: ", meta.size, " bytes exceed ", limit.source)));
    } else {
      send.push_back(i);
    }
  }
  uint64_t dropped = 0;  // flags B does not keep (PERMANENTFLAGS)
  std::vector<std::vector<std::string>> flags(send.size());
  std::vector<uint64_t> sizes(send.size());
  for (size_t k = 0; k < send.size(); ++k) {
    flags[k] = AllowedFlags(missing[send[k]].second.flags, box, &dropped);
    sizes[k] = missing[send[k]].second.size;
  }
  // Keywords: once B says the mailbox holds no more ("Too many user flags"), only those it
  // already has go along.
  bool keywords_full = false;
  std::set<std::string> known_keywords;
  for (const std::string& f : box.flags) {
    if (IsKeyword(f)) known_keywords.insert(absl::AsciiStrToLower(f));
  }
  std::set<size_t> stripped;  // items that lost keywords
  uint64_t keywords_dropped = 0;
  auto flags_of = [&](size_t k, bool count) {
    if (!keywords_full) return flags[k];
    std::vector<std::string> out;
    for (const std::string& f : flags[k]) {
      if (!IsKeyword(f) || known_keywords.count(absl::AsciiStrToLower(f))) {
        out.push_back(f);
      } else if (count) {
        stripped.insert(k);
        ++keywords_dropped;
      }
    }
    return out;
  };
  Bodies bodies(ctx, folder, missing);
  AppendCallbacks cb;
  cb.cancelled = [&] { return ctx.cancel.cancelled(); };
  cb.send = [&](const std::vector<size_t>& items, bool one_by_one) -> absl::StatusOr<SendResult> {
    std::vector<imap::AppendMessage> batch;
    for (size_t k : items) {
      imap::AppendMessage m;
      m.flags = flags_of(k, /*count=*/false);
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
  cb.appended = [&](size_t k) {
    const MessageMeta& meta = missing[send[k]].second;
    for (const std::string& f : flags_of(k, /*count=*/true)) {
      if (IsKeyword(f)) known_keywords.insert(absl::AsciiStrToLower(f));
    }
    r->transferred += 1;
    r->bytes += meta.size;
    bodies.Appended(send[k], r);
    ctx.progress.Message(folder.meta.name, meta.size);
  };
  cb.refused = [&](size_t k, const absl::Status& why) {
    auto info = imap::ReplyOf(why);
    refuse(send[k], Refused(missing[send[k]].second,
                            imap::RefusalName(info ? info->refusal : imap::Refusal::kContent),
                            ServerText(why) + bodies.RepairNote(send[k])));
  };
  cb.drop_keywords = [&](size_t k) {
    keywords_full = true;
    for (const std::string& f : flags[k]) {
      if (IsKeyword(f) && !known_keywords.count(absl::AsciiStrToLower(f))) return true;
    }
    return false;
  };
  absl::Status st = AppendInBatches(sizes, BatchLimits{kBatchMessages, kBatchBytes}, cb);
  if (dropped > 0) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name << "': " << dropped
                 << " flag(s) not kept by server B (PERMANENTFLAGS)";
  }
  if (keywords_dropped > 0) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name
                 << "': " << keywords_dropped << " keyword(s) of " << stripped.size()
                 << " message(s) dropped: server B keeps no more keywords in this mailbox";
  }
  return st;
}

// Selects the target folder (creating it when missing) and lists what the export has that
// B lacks, and what B has beyond the export.
absl::Status CompareFolder(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder,
                           const std::map<std::string, MessageMeta>& local,
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
  DiffFolder(local, &scan[0]->identities, missing, r);
  return MatchRepaired(ctx.store, folder.prefix, RepairOptionsOf(ctx.task.server),
                       &scan[0]->identities, missing, r);
}

absl::Status TargetFolder(Context& ctx, imap::Session& session, const MappedFolder& where,
                          const ExportedFolder& folder, FolderResult* r,
                          std::vector<std::string>* refused_bases) {
  const std::string& mailbox = where.raw;
  ASSIGN_OR_RETURN(auto local, ListSelectedMessages(ctx, folder.prefix));
  if (ctx.selector.just_folders()) local.clear();  // the folder is created, nothing appended
  r->source_messages = local.size();
  uint64_t local_bytes = 0;
  for (const auto& entry : local) local_bytes += entry.second.size;
  ctx.progress.AddMessages(local.size(), local_bytes);
  imap::SelectedMailbox box;
  std::vector<std::pair<std::string, MessageMeta>> missing;
  RETURN_IF_ERROR(CompareFolder(ctx, session, mailbox, folder, local, &box, &missing, r));
  if (!missing.empty()) {
    const uint64_t before = r->transferred;
    absl::Status st = AppendMissing(ctx, session, mailbox, folder, box, missing, r, refused_bases);
    r->target_messages += r->transferred - before;
    r->missing = missing.size() - (r->transferred - before) - r->refused;
    RETURN_IF_ERROR(st);
  }
  ctx.progress.FolderDone(folder.meta.name);
  return absl::OkStatus();
}

// Rewrites the account's refusal record (layout.h): this run's refusals, plus the earlier
// ones of folders that did not complete now. A failure to write it is logged: validate
// then recognises only the refusals a known limit explains.
void UpdateRefusalRecord(Context& ctx, const std::vector<ExportedFolder>& folders,
                         const std::vector<FolderResult>& results,
                         const std::vector<absl::Status>& statuses,
                         const std::vector<std::vector<std::string>>& refused_bases) {
  const std::string key = RefusedKey(ctx.email());
  auto old = LoadRefusalRecord(ctx.store, ctx.email());
  RefusalRecord record;
  record.target = absl::StrCat(ctx.task.server.host, ":", ctx.task.server.port);
  record.updated_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  std::set<std::string> done;  // prefixes of folders completed now
  for (size_t i = 0; i < folders.size(); ++i) {
    if (!statuses[i].ok()) continue;
    done.insert(folders[i].prefix);
    for (size_t k = 0; k < results[i].refused_messages.size() && k < refused_bases[i].size(); ++k) {
      record.entries.push_back({folders[i].meta.name, folders[i].prefix, refused_bases[i][k],
                                results[i].refused_messages[k]});
    }
  }
  bool had_old = false;
  if (old.ok() && old->has_value()) {
    had_old = true;
    for (RefusedEntry& e : (*old)->entries) {
      if (!done.count(e.prefix)) record.entries.push_back(std::move(e));
    }
  }
  absl::Status st;
  if (!record.entries.empty()) {
    st = ctx.store.Put(key, RefusalRecordToJson(record));
  } else if (had_old) {
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
  // Where every folder lands, checked before anything moves.
  auto mapped = target.ok() ? MapFolders(ctx, *folders, *target) : target.status();
  if (!mapped.ok()) {
    result.status = status::Annotate(mapped.status(), absl::StrCat("account ", ctx.email()));
    return result;
  }
  result.folders.resize(folders->size());
  ctx.progress.AddTotals(folders->size(), 0);
  std::vector<uint64_t> sizes;
  for (const ExportedFolder& f : *folders) sizes.push_back(f.bytes);
  const std::vector<size_t> order = LargestFirst(sizes);
  std::vector<absl::Status> statuses(folders->size());
  std::vector<std::vector<std::string>> refused_bases(folders->size());
  auto ran = ForEachItem(ctx, std::move(session), &more, folders->size(),
                         ctx.Connections(folders->size()), [&](imap::Session& s, size_t k) {
                           const size_t i = order[k];
                           const ExportedFolder& f = (*folders)[i];
                           result.folders[i] = FolderResult();
                           result.folders[i].name = f.meta.name;
                           result.folders[i].target = (*mapped)[i].name;
                           result.folders[i].mapping = (*mapped)[i].how;
                           refused_bases[i].clear();
                           absl::Status st = TargetFolder(ctx, s, (*mapped)[i], f,
                                                          &result.folders[i], &refused_bases[i]);
                           return status::Annotate(st, absl::StrCat("folder '", f.meta.name, "'"));
                         });
  for (size_t k = 0; k < ran.size(); ++k) statuses[order[k]] = ran[k];
  for (size_t i = 0; i < statuses.size(); ++i) {
    FolderResult& f = result.folders[i];
    if (!statuses[i].ok()) f.error = std::string(statuses[i].message());
    result.messages += f.transferred;
    result.bytes += f.bytes;
    result.refused += f.refused;
    result.repaired += f.repaired;
    result.skipped += f.source_messages - f.missing - f.transferred - f.refused;
  }
  UpdateRefusalRecord(ctx, *folders, result.folders, statuses, refused_bases);
  result.status = FirstError(ctx.email(), statuses);
  if (result.status.ok()) result.status = StrictRefusals(ctx, result);
  return result;
}

}  // namespace engine::internal
