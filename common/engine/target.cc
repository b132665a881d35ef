// What import and validate share: the export's folders and messages, server B's folder
// names, and message identities.
#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/engine/engine_internal.h"
#include "common/engine/folder_index.h"
#include "common/engine/message_source.h"
#include "common/imap/date.h"
#include "common/imap/mutf7.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/storage/request_pool.h"

namespace engine::internal {

absl::StatusOr<std::vector<ExportedFolder>> ListExportedFolders(storage::Store& store,
                                                                const std::string& email) {
  ASSIGN_OR_RETURN(auto objects, store.List(email + "/"));
  std::vector<ExportedFolder> out;
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view key = o.key;
    if (!absl::ConsumeSuffix(&key, kFolderMetaName) || !absl::EndsWith(key, "/")) continue;
    out.push_back({std::string(key), FolderMeta()});
  }
  // Every folder's metadata, read in parallel.
  std::vector<std::string> json(out.size());
  storage::TaskGroup group(storage::RequestPool::Shared());
  for (size_t i = 0; i < out.size(); ++i) {
    group.Run([&store, &json, key = out[i].prefix + kFolderMetaName, i]() -> absl::Status {
      ASSIGN_OR_RETURN(json[i], store.Get(key));
      return absl::OkStatus();
    });
  }
  RETURN_IF_ERROR(group.Wait());
  std::map<std::string, size_t, std::less<>> by_prefix;
  for (size_t i = 0; i < out.size(); ++i) {
    auto meta = FolderMetaFromJson(json[i]);
    if (!meta.ok()) return status::Annotate(meta.status(), out[i].prefix + kFolderMetaName);
    out[i].meta = std::move(*meta);
    by_prefix[out[i].prefix] = i;
  }
  for (const storage::ObjectInfo& o : objects) {  // sizes, to schedule the largest first
    absl::string_view key = o.key;
    const size_t slash = key.rfind('/');
    auto it = by_prefix.find(key.substr(0, slash + 1));
    if (slash == absl::string_view::npos || it == by_prefix.end()) continue;
    absl::string_view name = key.substr(slash + 1);
    uint64_t v;
    uint32_t uid;
    ExportedFolder& folder = out[it->second];
    folder.objects.push_back(o);
    if (absl::ConsumeSuffix(&name, ".json") && ParseMessageBase(name, &v, &uid)) {
      folder.messages += 1;
    } else if (absl::EndsWith(key, ".eml")) {
      folder.bytes += o.size;
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, MessageMeta>> ListExportedMessages(storage::Store& store,
                                                                        const std::string& prefix) {
  ASSIGN_OR_RETURN(auto objects, store.List(prefix));
  return LoadFolderMessages(store, prefix, objects, /*rewrite=*/true);
}

absl::StatusOr<std::vector<ExportedFolder>> ListSelectedFolders(Context& ctx) {
  ASSIGN_OR_RETURN(std::vector<ExportedFolder> all, ListExportedFolders(ctx.store, ctx.email()));
  if (all.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no export found for it in ", ctx.store.Describe(), " (run export first)"));
  }
  std::vector<ExportedFolder> out;
  for (ExportedFolder& f : all) {
    std::string why;
    if (ctx.selector.FolderSelected(f.meta.name, f.meta.special_use, &why)) {
      out.push_back(std::move(f));
    } else {
      LOG(INFO) << "account " << ctx.email() << ": folder '" << f.meta.name << "' left out (" << why
                << ")";
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, MessageMeta>> ListSelectedMessages(
    Context& ctx, const ExportedFolder& folder) {
  ASSIGN_OR_RETURN(auto all,
                   LoadFolderMessages(ctx.store, folder.prefix, folder.objects, /*rewrite=*/true));
  if (!ctx.selector.filters_messages()) return all;
  for (auto it = all.begin(); it != all.end();) {
    const MessageMeta& m = it->second;
    it = ctx.selector.MessageSelected(m.internaldate, m.size) ? std::next(it) : all.erase(it);
  }
  return all;
}

std::string RefusedKey(const std::string& email) { return email + "/" + kRefusedName; }

absl::StatusOr<absl::optional<RefusalRecord>> LoadRefusalRecord(storage::Store& store,
                                                                const std::string& email) {
  auto json = store.Get(RefusedKey(email));
  if (absl::IsNotFound(json.status())) return absl::optional<RefusalRecord>();
  if (!json.ok()) return json.status();
  auto record = RefusalRecordFromJson(*json);
  if (!record.ok()) return status::Annotate(record.status(), RefusedKey(email));
  return absl::optional<RefusalRecord>(std::move(*record));
}

std::string IdentityKey(absl::string_view message_id, uint64_t size,
                        absl::string_view internaldate) {
  auto t = imap::ParseInternalDate(internaldate);
  std::string date = t.ok() ? absl::StrCat(absl::ToUnixSeconds(*t)) : std::string(internaldate);
  // With a Message-ID the size is left out: servers may rewrite a message slightly (line
  // endings, a trailing CR) and it must still count as present, or every --resync-missing
  // would append it again.
  if (!message_id.empty()) return absl::StrCat("id\x1f", message_id, "\x1f", date);
  return absl::StrCat("size\x1f", size, "\x1f", date);
}

namespace {
class IdentitySink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.uid != 0 && seen.insert(m.uid).second) {
      keys.insert(IdentityKey(m.message_id, m.size, m.internaldate));
    }
    return absl::OkStatus();
  }
  std::set<uint32_t> seen;
  std::multiset<std::string> keys;
};
}  // namespace

absl::Status ScanIdentities(imap::Session& session, const std::vector<std::string>& mailboxes,
                            bool read_only, std::vector<absl::StatusOr<ScannedFolder>>* out) {
  std::vector<IdentitySink> sinks(mailboxes.size());
  std::vector<imap::MailboxFetch> requests(mailboxes.size());
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    requests[i].mailbox = mailboxes[i];
    requests[i].read_only = read_only;
    requests[i].options.body = false;
    requests[i].options.message_id = true;
    requests[i].sink = &sinks[i];
  }
  RETURN_IF_ERROR(imap::SelectAndFetchMany(session, requests));
  out->clear();
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    if (requests[i].result.ok()) {
      out->push_back(ScannedFolder{*requests[i].result, std::move(sinks[i].keys)});
    } else {
      out->push_back(requests[i].result.status());
    }
  }
  return absl::OkStatus();
}

namespace {
// Takes the identity of `meta` (as `size` bytes) out of `present`; false when it is not
// there. A message exported without a date (server A's INTERNALDATE unusable, no Date:
// header field) was appended without one: server B chose its date, so any date matches.
bool TakeIdentity(std::multiset<std::string>* present, const MessageMeta& meta, uint64_t size) {
  if (meta.internaldate.empty()) {
    // The key without its date: every key of that message starts with it.
    const std::string prefix = IdentityKey(meta.message_id, size, "");
    auto it = present->lower_bound(prefix);
    if (it == present->end() || !absl::StartsWith(*it, prefix)) return false;
    present->erase(it);
    return true;
  }
  auto it = present->find(IdentityKey(meta.message_id, size, meta.internaldate));
  if (it == present->end()) return false;
  present->erase(it);
  return true;
}
}  // namespace

void DiffFolder(const std::map<std::string, MessageMeta>& local,
                std::multiset<std::string>* present,
                std::vector<std::pair<std::string, MessageMeta>>* missing, FolderResult* r) {
  r->target_messages = present->size();
  missing->clear();
  // Undated messages are matched after every dated one, so they never take a dated one's
  // match.
  std::vector<std::pair<std::string, const MessageMeta*>> undated;
  for (const auto& [base, meta] : local) {
    if (meta.internaldate.empty()) {
      undated.emplace_back(base, &meta);
    } else if (!TakeIdentity(present, meta, meta.size)) {
      missing->emplace_back(base, meta);
    }
  }
  for (const auto& [base, meta] : undated) {
    if (!TakeIdentity(present, *meta, meta->size)) missing->emplace_back(base, *meta);
  }
  std::sort(missing->begin(), missing->end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  r->missing = missing->size();
  r->extra = present->size();
}

imap::RepairOptions RepairOptionsOf(const config::ServerConfig& server) {
  return imap::RepairOptions{static_cast<size_t>(std::max(server.max_line_length, 0))};
}

absl::Status MatchRepaired(storage::Store& store, const std::string& prefix,
                           const imap::RepairOptions& options, std::multiset<std::string>* extra,
                           std::vector<std::pair<std::string, MessageMeta>>* missing,
                           FolderResult* r) {
  // The dates of B's extra messages known by size: only a message of such a date (or of
  // none) can be one of them repaired.
  std::set<std::string> dates;
  for (const std::string& key : *extra) {
    if (absl::StartsWith(key, "size\x1f")) dates.insert(key.substr(key.rfind('\x1f') + 1));
  }
  if (dates.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, MessageMeta>> still;
  for (auto& entry : *missing) {
    const MessageMeta& meta = entry.second;
    bool candidate = meta.message_id.empty() && !extra->empty();
    if (candidate && !meta.internaldate.empty()) {
      // Its date as IdentityKey writes it: the last field of its key.
      const std::string key = IdentityKey("", 0, meta.internaldate);
      candidate = dates.count(key.substr(key.rfind('\x1f') + 1)) > 0;
    }
    if (candidate) {
      StoreLiteralSource body(store, prefix + entry.first + ".eml", meta.size, meta.uid);
      ASSIGN_OR_RETURN(RepairScan scan, ScanRepair(body, options));
      if (scan.counts.changed() && TakeIdentity(extra, meta, scan.size)) {
        r->missing -= 1;
        r->extra -= 1;
        continue;
      }
    }
    still.push_back(std::move(entry));
  }
  *missing = std::move(still);
  return absl::OkStatus();
}

absl::StatusOr<TargetInfo> DiscoverTarget(imap::Session& session) {
  TargetInfo t;
  ASSIGN_OR_RETURN(imap::MailboxList list, imap::ListAll(session, /*with_status=*/false));
  if (!list.namespaces.personal.empty()) {
    t.prefix = list.namespaces.personal[0].prefix;
    t.delimiter = list.namespaces.personal[0].delimiter;
  }
  t.folders = std::move(list.mailboxes);
  return t;
}

absl::StatusOr<std::vector<MappedFolder>> MapFolders(Context& ctx,
                                                     const std::vector<ExportedFolder>& folders,
                                                     const TargetInfo& target) {
  std::vector<FolderMeta> metas;
  for (const ExportedFolder& f : folders) metas.push_back(f.meta);
  ASSIGN_OR_RETURN(std::vector<MappedFolder> mapped,
                   FolderMapper(ctx.task.folder_map).MapAll(metas, target));
  for (size_t i = 0; i < mapped.size(); ++i) {
    LOG(INFO) << "account " << ctx.email() << ": folder '" << folders[i].meta.name << "' -> '"
              << mapped[i].name << "' on server B (" << mapped[i].how << ")";
  }
  return mapped;
}

bool TargetLists(const TargetInfo& target, const std::string& raw_name) {
  for (const imap::MailboxInfo& f : target.folders) {
    const bool same = f.raw_name == raw_name ||
                      (absl::EqualsIgnoreCase(raw_name, "INBOX") && f.raw_name == "INBOX");
    if (same && f.selectable()) return true;
  }
  return false;
}

}  // namespace engine::internal
