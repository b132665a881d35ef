// The run's selection (config::Selection) applied: which folders a run moves, the UID
// SEARCH that picks a folder's messages on server A, and the same test on an exported
// message's metadata (import, validate). I/O-free.
#ifndef MIGRATOR_COMMON_ENGINE_SELECTION_H_
#define MIGRATOR_COMMON_ENGINE_SELECTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/config/selection.h"

namespace re2 {
class RE2;
}

namespace engine {

class Selector {
 public:
  // `selection` must be valid (config::SelectionProblems empty) and resolved
  // (config::ResolveSelection: no ages left).
  explicit Selector(const config::Selection& selection);
  ~Selector();
  Selector(const Selector&) = delete;
  Selector& operator=(const Selector&) = delete;

  // Whether a folder is moved: its UTF-8 name matches include_folders (when given), does
  // not match exclude_folders, and its special use is not skipped. When not, `why` says
  // which rule left it out.
  bool FolderSelected(absl::string_view name, absl::string_view special_use,
                      std::string* why = nullptr) const;
  bool filters_messages() const { return selection_.filters_messages(); }
  bool just_folders() const { return selection_.just_folders; }
  bool skip_cross_duplicates() const { return selection_.skip_cross_duplicates; }
  // The UID SEARCH criteria for the selected messages ("ALL" without a filter), e.g.
  // "SINCE 1-Jan-2020 BEFORE 1-Jan-2025 LARGER 0 SMALLER 26214401".
  std::string SearchCriteria() const;
  // The same test on an exported message: its INTERNALDATE's day (as SEARCH SINCE/BEFORE:
  // the date as written, time and zone disregarded) and its size. A message without a
  // usable date is selected (a date filter never drops what it cannot judge).
  bool MessageSelected(absl::string_view internaldate, uint64_t size) const;

 private:
  const config::Selection selection_;
  std::unique_ptr<re2::RE2> include_, exclude_;
};

// --skip-cross-duplicates: the order in which an account's folders are given a message
// found in several of them (the first keeps it): INBOX; the folders of special use \Sent
// and \Drafts; the folders of no special use and \Archive; the views \Flagged and
// \Important; \All; \Junk and \Trash last. Within each group by UTF-8 name (byte order),
// then in the given order. Returns indices into `folders`.
struct RankedFolder {
  std::string name;  // UTF-8
  std::string special_use;
};
std::vector<size_t> CrossDuplicateOrder(const std::vector<RankedFolder>& folders);

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_SELECTION_H_
