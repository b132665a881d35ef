// The folder index (see folder_index.h).
#include "common/engine/folder_index.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/storage/request_pool.h"
#include "nlohmann/json.hpp"

namespace engine::internal {
namespace {

constexpr int kIndexVersion = 1;

// The name of `o` directly under `prefix` ("" for a key of a subfolder).
absl::string_view NameIn(const std::string& prefix, const storage::ObjectInfo& o) {
  absl::string_view name = absl::string_view(o.key).substr(prefix.size());
  return absl::StrContains(name, '/') ? absl::string_view() : name;
}

}  // namespace

std::string FolderIndexToJson(const FolderMessages& messages) {
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [base, meta] : messages) {
    entries[base] = nlohmann::json::parse(MessageMetaToJson(meta));
  }
  nlohmann::json j = {{"version", kIndexVersion}, {"messages", std::move(entries)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<FolderMessages> FolderIndexFromJson(absl::string_view json) {
  FolderMessages out;
  try {
    const nlohmann::json j = nlohmann::json::parse(json.begin(), json.end());
    if (j.at("version").get<int>() != kIndexVersion) {
      return absl::DataLossError(absl::StrCat("folder index of version ", j.at("version").dump(),
                                              ", this program reads ", kIndexVersion));
    }
    for (const auto& [base, entry] : j.at("messages").items()) {
      uint64_t v;
      uint32_t uid;
      if (!ParseMessageBase(base, &v, &uid)) {
        return absl::DataLossError(absl::StrCat("folder index names '", base, "'"));
      }
      ASSIGN_OR_RETURN(MessageMeta meta, MessageMetaFromJson(entry.dump()));
      out.emplace(base, std::move(meta));
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("corrupt folder index: ", e.what()));
  }
  return out;
}

std::vector<std::string> RecordedBases(const std::string& prefix,
                                       const std::vector<storage::ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view name = NameIn(prefix, o);
    uint64_t v;
    uint32_t uid;
    if (absl::ConsumeSuffix(&name, ".json") && ParseMessageBase(name, &v, &uid)) {
      out.emplace_back(name);
    }
  }
  return out;
}

std::string IndexStaleness(const FolderMessages& index, const storage::ObjectInfo& index_info,
                           const std::string& prefix,
                           const std::vector<storage::ObjectInfo>& objects) {
  size_t named = 0, unnamed = 0;
  absl::Time newest = absl::InfinitePast();
  for (const storage::ObjectInfo& o : objects) {
    absl::string_view name = NameIn(prefix, o);
    uint64_t v;
    uint32_t uid;
    if (!absl::ConsumeSuffix(&name, ".json") || !ParseMessageBase(name, &v, &uid)) continue;
    newest = std::max(newest, o.modified);
    (index.count(std::string(name)) ? named : unnamed) += 1;
  }
  if (unnamed > 0) return absl::StrCat(unnamed, " .json it does not name");
  if (named < index.size()) return absl::StrCat(index.size() - named, " message(s) it names gone");
  if (index_info.modified < newest) return "older than the newest .json";
  return "";
}

absl::StatusOr<FolderMessages> ReadMessageMetas(storage::Store& store, const std::string& prefix,
                                                const std::vector<std::string>& bases) {
  std::vector<absl::StatusOr<MessageMeta>> metas(bases.size(), absl::UnknownError("not read"));
  {
    storage::TaskGroup group(storage::RequestPool::Shared());
    for (size_t i = 0; i < bases.size(); ++i) {
      group.Run([&store, &metas, key = prefix + bases[i] + ".json", i] {
        absl::StatusOr<std::string> json = store.Get(key);
        if (!json.ok()) {
          metas[i] = json.status();
        } else if (metas[i] = MessageMetaFromJson(*json); !metas[i].ok()) {
          metas[i] = status::Annotate(metas[i].status(), key);
        }
        return absl::OkStatus();
      });
    }
  }
  FolderMessages out;
  for (size_t i = 0; i < bases.size(); ++i) {
    if (!metas[i].ok()) return metas[i].status();
    out.emplace(bases[i], std::move(*metas[i]));
  }
  return out;
}

absl::StatusOr<FolderMessages> LoadFolderMessages(storage::Store& store, const std::string& prefix,
                                                  const std::vector<storage::ObjectInfo>& objects,
                                                  bool rewrite, bool* current) {
  if (current != nullptr) *current = false;
  const std::string index_key = prefix + kFolderIndexName;
  auto it = std::find_if(objects.begin(), objects.end(),
                         [&](const storage::ObjectInfo& o) { return o.key == index_key; });
  std::string why = "none";
  if (it != objects.end()) {
    absl::StatusOr<std::string> json = store.Get(index_key);
    absl::StatusOr<FolderMessages> index =
        json.ok() ? FolderIndexFromJson(*json) : absl::StatusOr<FolderMessages>(json.status());
    why = index.ok() ? IndexStaleness(*index, *it, prefix, objects)
                     : std::string(index.status().message());
    if (why.empty()) {
      if (current != nullptr) *current = true;
      return index;
    }
  }
  const std::vector<std::string> bases = RecordedBases(prefix, objects);
  if (bases.empty() && it == objects.end()) {
    if (current != nullptr) *current = true;  // nothing recorded, nothing to index
    return FolderMessages();
  }
  LOG(INFO) << store.Describe() << ": " << index_key << ": " << why
            << "; reading the folder's .json (" << bases.size() << ")";
  ASSIGN_OR_RETURN(FolderMessages messages, ReadMessageMetas(store, prefix, bases));
  if (rewrite) {
    absl::Status written = WriteFolderIndex(store, prefix, messages);
    if (!written.ok()) LOG(DEBUG) << "not rewritten: " << written;
  }
  return messages;
}

absl::Status WriteFolderIndex(storage::Store& store, const std::string& prefix,
                              const FolderMessages& messages) {
  return store.Put(prefix + kFolderIndexName, FolderIndexToJson(messages));
}

}  // namespace engine::internal
