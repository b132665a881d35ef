// Which folders and messages a run moves: the config's "selection" object, or the
// coordinator's flags (--include-folders, --since, ...; a flag replaces the field).
//
//   "selection": {
//     "include_folders": "^(INBOX|Projects/.*)$",   // RE2, searched in the UTF-8 name
//     "exclude_folders": "(?i)^archive/20(0|1)",    // applied after include
//     "skip_special_use": ["\\Junk", "\\Trash"],    // by RFC 6154 attribute
//     "just_folders": false,                        // import: the folder tree, no message
//     "since": "2020-01-01", "before": "2025-01-01",// INTERNALDATE's day (as IMAP SEARCH)
//     "max_age_days": 365, "min_age_days": 30,      // relative to the job's start
//     "min_size": 1, "max_size": 26214400,          // bytes (RFC822.SIZE / the .eml)
//     "skip_cross_duplicates": false                // import, validate: a message in several
//   }                                               // folders goes to the first only
//
// Folder rules see a folder's name as server A listed it (decoded from modified UTF-7,
// with its own delimiter). Non-selectable folders are never moved nor an error.
#ifndef MIGRATOR_COMMON_CONFIG_SELECTION_H_
#define MIGRATOR_COMMON_CONFIG_SELECTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace config {

struct Selection {
  std::string include_folders;                // RE2; empty: every folder
  std::string exclude_folders;                // RE2; empty: none
  std::vector<std::string> skip_special_use;  // "\\Junk", ... (case-insensitive)
  bool just_folders = false;
  std::string since, before;               // "YYYY-MM-DD" or ""
  int max_age_days = 0, min_age_days = 0;  // 0: none; folded into since/before by Resolve
  uint64_t min_size = 0, max_size = 0;     // 0: none
  // Import and validate: a message (by identity) exported in several folders of the account
  // goes to server B in the first of them only, in the order of CrossDuplicateOrder
  // (engine/selection.h); the export keeps every copy.
  bool skip_cross_duplicates = false;

  bool selects_folders() const {
    return !include_folders.empty() || !exclude_folders.empty() || !skip_special_use.empty();
  }
  bool filters_messages() const {
    return !since.empty() || !before.empty() || max_age_days > 0 || min_age_days > 0 ||
           min_size > 0 || max_size > 0;
  }
};

// Problems of `s`, each "field: problem" (a regex that does not compile, a date that is not
// YYYY-MM-DD, a special use without its backslash, min_size above max_size, ...).
std::vector<std::string> SelectionProblems(const Selection& s);

// `s` with max_age_days / min_age_days turned into since / before days counted back from
// `now` (UTC), the narrower of each pair kept: what the workers get, so every worker and
// every attempt of the job select the same messages.
Selection ResolveSelection(Selection s, absl::Time now);

}  // namespace config

#endif  // MIGRATOR_COMMON_CONFIG_SELECTION_H_
