// Where each source folder lands on server B: the import config's "folder_map".
//
//   "folder_map": {
//     "rules": [
//       {"from": "Sent Items", "to": "Sent"},                      // exact name
//       {"regex": "^INBOX/(.+)$", "to": "\\1"},                   // RE2, \1.. from the match
//       {"regex": "(?i)^archive(/.*)?$", "to": "Old\\1", "merge": true}
//     ],
//     "automap": true,        // special use (or a known localized name) → B's folder of that use
//     "target": "imap"        // "exchange" | "gmail": that server's naming rules
//   }
//
// Names in rules are UTF-8 with '/' between levels, whatever the servers' delimiters;
// the first rule that matches a folder decides. Without a matching rule a folder keeps
// its name (namespace prefix and delimiter converted), unless automap sends it to B's
// folder of its special use.
#ifndef MIGRATOR_COMMON_CONFIG_FOLDER_MAP_H_
#define MIGRATOR_COMMON_CONFIG_FOLDER_MAP_H_

#include <string>
#include <vector>

namespace config {

struct FolderRule {
  std::string from;    // exact source name, or
  std::string regex;   // RE2 searched in the source name (exactly one of the two)
  std::string to;      // the name on B ('/' between levels; \1.. with regex)
  bool merge = false;  // other folders may land in the same B folder
};

struct FolderMap {
  std::vector<FolderRule> rules;
  bool automap = true;
  // "imap" (default), "exchange" (names compared without case; "Files" is reserved),
  // "gmail" (no '^', no spaces around a level's name).
  std::string target = "imap";
  bool empty() const { return rules.empty() && automap && target == "imap"; }
};

// Problems of `m`, each "field: problem" ("rules[2].regex: not a valid regular expression:
// ...", "rules[0]: give one of from and regex", "target: must be imap, exchange or gmail").
std::vector<std::string> FolderMapProblems(const FolderMap& m);

}  // namespace config

#endif  // MIGRATOR_COMMON_CONFIG_FOLDER_MAP_H_
