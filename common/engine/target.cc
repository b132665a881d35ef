// What import and validate share: the export's folders and messages, server B's folder
// names, and message identities.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/imap/date.h"
#include "common/imap/mutf7.h"
#include "common/engine/engine_internal.h"
#include "common/status/status_macros.h"

namespace engine::internal {

absl::StatusOr<std::vector<ExportedFolder>> ListExportedFolders(storage::Store& store,
                                                                const std::string& email) {
  ASSIGN_OR_RETURN(auto objects, store.List(email + "/"));
  std::vector<ExportedFolder> out;
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view key = o.key;
    if (!absl::ConsumeSuffix(&key, kFolderMetaName) || !absl::EndsWith(key, "/")) continue;
    ASSIGN_OR_RETURN(std::string json, store.Get(o.key));
    auto meta = FolderMetaFromJson(json);
    if (!meta.ok()) return status::Annotate(meta.status(), o.key);
    out.push_back({std::string(key), std::move(*meta)});
  }
  return out;
}

absl::StatusOr<std::map<std::string, MessageMeta>> ListExportedMessages(
    storage::Store& store, const std::string& prefix) {
  ASSIGN_OR_RETURN(auto objects, store.List(prefix));
  std::map<std::string, MessageMeta> out;
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view name = absl::string_view(o.key).substr(prefix.size());
    uint64_t v;
    uint32_t uid;
    if (absl::StrContains(name, '/') || !absl::ConsumeSuffix(&name, ".json") ||
        !ParseMessageBase(name, &v, &uid)) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string json, store.Get(o.key));
    auto meta = MessageMetaFromJson(json);
    if (!meta.ok()) return status::Annotate(meta.status(), o.key);
    out.emplace(std::string(name), std::move(*meta));
  }
  return out;
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

absl::StatusOr<std::multiset<std::string>> ScanSelectedIdentities(imap::Session& session) {
  ASSIGN_OR_RETURN(std::vector<uint32_t> uids, imap::UidSearch(session, "ALL"));
  IdentitySink sink;
  imap::FetchOptions fo;
  fo.body = false;
  fo.message_id = true;
  fo.uids_per_command = 256;
  RETURN_IF_ERROR(imap::UidFetch(session, uids, fo, &sink));
  return std::move(sink.keys);
}

absl::StatusOr<TargetInfo> DiscoverTarget(imap::Session& session) {
  TargetInfo t;
  ASSIGN_OR_RETURN(imap::Namespaces ns, imap::GetNamespaces(session));
  if (!ns.personal.empty()) {
    t.prefix = ns.personal[0].prefix;
    t.delimiter = ns.personal[0].delimiter;
  }
  ASSIGN_OR_RETURN(t.folders, imap::List(session));
  return t;
}

absl::StatusOr<std::string> TargetMailboxName(const FolderMeta& meta, const TargetInfo& target) {
  if (absl::EqualsIgnoreCase(meta.name, "INBOX")) return std::string("INBOX");
  if (!meta.special_use.empty()) {
    for (const imap::MailboxInfo& f : target.folders) {
      if (absl::EqualsIgnoreCase(f.special_use(), meta.special_use)) return f.raw_name;
    }
  }
  // A name that is not canonical modified UTF-7 was kept raw: map it without re-encoding.
  const bool raw = !imap::Mutf7ToUtf8(meta.raw_name).ok();
  absl::string_view rel = raw ? meta.raw_name : meta.name;
  if (!meta.namespace_prefix.empty()) absl::ConsumePrefix(&rel, meta.namespace_prefix);
  std::vector<std::string> parts;
  if (meta.delimiter.empty()) {
    parts.emplace_back(rel);
  } else {
    parts = absl::StrSplit(rel, meta.delimiter[0]);
  }
  if (target.delimiter != 0) {
    // A component holding B's delimiter would become hierarchy on B: replace it.
    for (std::string& p : parts) std::replace(p.begin(), p.end(), target.delimiter, '_');
  }
  const char delim = target.delimiter ? target.delimiter : '/';
  std::string joined = absl::StrCat(target.prefix, absl::StrJoin(parts, std::string(1, delim)));
  if (raw) return joined;
  return imap::EncodeMailboxName(joined);
}

}  // namespace engine::internal
