// The folder index (README "Data format"): one object per exported folder,
// <folder path>/.index.json, listing the MessageMeta of every message recorded in the
// folder (every <V>-<UID>.json), by base name. Export writes it at the end of each pass over
// the folder; import and validate read it instead of one .json per message. The per-message
// .json stay the source of truth: an index that is missing, unreadable or not current is
// not used (the .json are read, in parallel) and is written again.
//
// Current means: it names exactly the .json files the folder's listing has (none missing,
// none gone), and it is not older than the newest of them (when the store gives dates).
//
//   {"version": 1,
//    "messages": {"1700000000-0000000042": {<the message's .json object>}, ...}}
//
// Its name begins with '.', which no folder path component and no message base name can
// (layout.h), so listings never take it for a message or a folder.
#ifndef MIGRATOR_COMMON_ENGINE_FOLDER_INDEX_H_
#define MIGRATOR_COMMON_ENGINE_FOLDER_INDEX_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/engine/layout.h"
#include "common/storage/store.h"

namespace engine::internal {

inline constexpr char kFolderIndexName[] = ".index.json";

using FolderMessages = std::map<std::string, MessageMeta>;  // by base name

std::string FolderIndexToJson(const FolderMessages& messages);
absl::StatusOr<FolderMessages> FolderIndexFromJson(absl::string_view json);

// The message base names of a folder's listing (`objects` of store.List(prefix); keys of
// subfolders are left out): every "<V>-<UID>.json" directly under `prefix`.
std::vector<std::string> RecordedBases(const std::string& prefix,
                                       const std::vector<storage::ObjectInfo>& objects);

// Why `index` (read from the object `index_info`) is not current for the listing
// `objects` of `prefix`; "" when it is.
std::string IndexStaleness(const FolderMessages& index, const storage::ObjectInfo& index_info,
                           const std::string& prefix,
                           const std::vector<storage::ObjectInfo>& objects);

// Reads every "<V>-<UID>.json" of `bases` under `prefix`, in parallel (RequestPool::Shared).
absl::StatusOr<FolderMessages> ReadMessageMetas(storage::Store& store, const std::string& prefix,
                                                const std::vector<std::string>& bases);

// The recorded messages of the folder `prefix` whose listing is `objects`: from its index
// when current, else from the .json (then, with `rewrite`, the index is written again; a
// store that refuses, as a dry run's, is no error). `current`, when given, says whether the
// index was current.
absl::StatusOr<FolderMessages> LoadFolderMessages(storage::Store& store, const std::string& prefix,
                                                  const std::vector<storage::ObjectInfo>& objects,
                                                  bool rewrite, bool* current = nullptr);

absl::Status WriteFolderIndex(storage::Store& store, const std::string& prefix,
                              const FolderMessages& messages);

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_FOLDER_INDEX_H_
