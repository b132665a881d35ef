// What each exported folder puts on server B (import, validate and their dry runs): its own
// messages; for a Gmail export (README "Gmail labels") the All Mail folder's messages, by
// their labels; with --skip-cross-duplicates, a message found in several folders only in the
// first (selection.h: CrossDuplicateOrder). Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_FOLDER_CONTENTS_H_
#define MIGRATOR_COMMON_ENGINE_FOLDER_CONTENTS_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/engine_internal.h"
#include "common/engine/gmail_labels.h"

namespace engine::internal {

class FolderContents {
 public:
  // Reads what deciding needs: a Gmail export's All Mail messages (also when the selection
  // leaves that folder out), and with skip_cross_duplicates every folder's identities.
  // `folders`: the selected exported folders; their `files`, and for a Gmail export their
  // `messages` and `bytes`, are set here. `gmail_target`: server B offers X-GM-EXT-1 (then a
  // Gmail export's All Mail folder gets every message and the labels are set on them).
  static absl::StatusOr<std::unique_ptr<FolderContents>> Load(Context& ctx,
                                                              std::vector<ExportedFolder>* folders,
                                                              bool gmail_target);

  // The messages folder i puts on server B, by base name (the selection's message filters
  // applied); their files are under folders[i].files.
  absl::StatusOr<std::map<std::string, MessageMeta>> Messages(Context& ctx, size_t i) const;

  // A Gmail export to a Gmail target: the All Mail folder (its import sets the labels) and
  // the folders whose labels a message of it gets besides (indices into the folders).
  bool gmail_target() const { return gmail_ && placement_.gmail_target; }
  size_t all_mail() const { return placement_.all_mail; }
  std::vector<size_t> LabelFolders(const MessageMeta& message) const;
  // A Gmail target: folder i stands for a label; its import only creates it.
  bool IsLabelOnGmailTarget(size_t i) const;

  // Messages --skip-cross-duplicates left out (already in an earlier folder), in all.
  uint64_t left_out() const { return left_out_; }
  // For the account's notes (the JSON report): how the folders were filled.
  std::vector<std::string> Notes() const;

 private:
  FolderContents() = default;
  absl::StatusOr<std::map<std::string, MessageMeta>> Own(Context& ctx, size_t i) const;
  absl::Status LoadGmail(Context& ctx, std::vector<ExportedFolder>* folders, bool gmail_target);
  absl::Status LeaveOutCrossDuplicates(Context& ctx, const std::vector<ExportedFolder>& folders);

  std::vector<ExportedFolder> own_;  // each folder as listed (its own prefix and objects)
  bool gmail_ = false;
  GmailPlacement placement_;
  std::map<std::string, MessageMeta> all_;          // the Gmail export's messages (selected)
  std::vector<std::vector<std::string>> placed_;    // per folder: base names of all_ there
  std::vector<std::set<std::string>> left_out_of_;  // per folder: cross duplicates
  uint64_t left_out_ = 0;
};

// Server B's label for folder `mapped` of it (a Gmail target): GmailLabelOf its name.
std::string GmailLabelOnTarget(const MappedFolder& mapped, const TargetInfo& target);

// Gmail as server B (gmail_target.cc): after the All Mail folder's import appended every
// message once to `mailbox` (selected), gives each of `local` the labels of the folders it
// belongs to that it lacks on B (UID STORE +X-GM-LABELS); counts them in `labels_added`.
absl::Status SetGmailLabels(Context& ctx, imap::Session& session, const std::string& mailbox,
                            const FolderContents& contents,
                            const std::map<std::string, MessageMeta>& local,
                            const std::vector<MappedFolder>& mapped, const TargetInfo& target,
                            uint64_t* labels_added);

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_FOLDER_CONTENTS_H_
