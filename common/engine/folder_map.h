// Where each exported folder lands on server B (the import config's "folder_map",
// config/folder_map.h): rules in order, then special-use automapping (also for folders
// whose name is a known localized special-use name, "[Gmail]/Gesendet" or "Éléments
// envoyés"), then the same name; B's naming rules ("exchange", "gmail") last. I/O-free.
#ifndef MIGRATOR_COMMON_ENGINE_FOLDER_MAP_H_
#define MIGRATOR_COMMON_ENGINE_FOLDER_MAP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/folder_map.h"
#include "common/engine/layout.h"
#include "common/imap/commands.h"

namespace re2 {
class RE2;
}

namespace engine {

// What import knows of server B's folders.
struct TargetInfo {
  char delimiter = '/';
  std::string prefix;  // B's personal namespace prefix
  std::vector<imap::MailboxInfo> folders;
  bool gmail = false;  // B offers Gmail's X-GM-EXT-1 (README "Gmail labels")
};

struct MappedFolder {
  std::string raw;   // B's name as sent (modified UTF-7 unless the source name was raw)
  std::string name;  // the same in UTF-8
  std::string how;   // "same name", "rule 2", "special use \Sent", "localized name of \Sent",
                    // ", renamed: Files is reserved on exchange" appended when B's rules renamed it
  bool merge = false;  // a rule allows other folders into the same B folder
};

// The special use a folder's name stands for in common clients' languages ("\Sent" for
// "Sent Items", "Gesendet", "[Gmail]/Sent Mail"), or "" (the last level only, at the top,
// under INBOX or under [Gmail] / [Google Mail]).
std::string LocalizedSpecialUse(const std::vector<std::string>& levels);

class FolderMapper {
 public:
  explicit FolderMapper(const config::FolderMap& map);  // `map` valid (FolderMapProblems)
  ~FolderMapper();
  FolderMapper(const FolderMapper&) = delete;
  FolderMapper& operator=(const FolderMapper&) = delete;

  // Every folder's B name, in order. A localized name is automapped only when no folder
  // of `folders` has that special use itself. kFailedPrecondition, before anything moves,
  // when two folders land in one B folder (compared without case for "exchange") and the
  // rule of neither says merge: "folders 'Work' and 'work' would both land in 'Work' on
  // server B (exchange compares names without case); give a folder_map rule ...".
  absl::StatusOr<std::vector<MappedFolder>> MapAll(const std::vector<FolderMeta>& folders,
                                                   const TargetInfo& target) const;

 private:
  absl::StatusOr<MappedFolder> Map(const FolderMeta& meta, const TargetInfo& target,
                                   bool localized) const;
  void ApplyTargetRules(std::vector<std::string>* levels, std::string* how) const;

  const config::FolderMap map_;
  std::vector<std::unique_ptr<re2::RE2>> regex_;  // per rule (null for "from" rules)
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_FOLDER_MAP_H_
