// What import and validate share: the export's folders and messages, server B's folder
// names (message identity: identity.h, identity_scan.cc).
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
#include "common/engine/gmail_labels.h"
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
    out[i].files = out[i].prefix;
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

imap::RepairOptions RepairOptionsOf(const config::ServerConfig& server) {
  return imap::RepairOptions{static_cast<size_t>(std::max(server.max_line_length, 0))};
}

absl::StatusOr<TargetInfo> DiscoverTarget(imap::Session& session) {
  TargetInfo t;
  ASSIGN_OR_RETURN(imap::MailboxList list, imap::ListAll(session, /*with_status=*/false));
  if (!list.namespaces.personal.empty()) {
    t.prefix = list.namespaces.personal[0].prefix;
    t.delimiter = list.namespaces.personal[0].delimiter;
  }
  t.folders = std::move(list.mailboxes);
  t.gmail = session.HasCapability(kGmailCapability);
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
