// Gmail labels (README "Gmail labels"), I/O-free: which label a folder of a Gmail server
// stands for, labels between their wire form (X-GM-LABELS, modified UTF-7) and the export's
// (UTF-8), and where an exported message goes on server B by its labels.
#ifndef MIGRATOR_COMMON_ENGINE_GMAIL_LABELS_H_
#define MIGRATOR_COMMON_ENGINE_GMAIL_LABELS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace engine {

// The capability of Gmail's IMAP extensions (X-GM-MSGID, X-GM-LABELS, X-GM-THRID).
inline constexpr char kGmailCapability[] = "X-GM-EXT-1";

// The label a folder of a Gmail server stands for: "\Inbox" for INBOX; "\Sent", "\Draft",
// "\Important", "\Starred" for the folders of special use \Sent, \Drafts, \Important,
// \Flagged; "" for \All, \Trash and \Junk (no label: All Mail holds every message but those
// in Trash and Spam, which are folders of their own); else the folder's name, its levels
// below the namespace prefix joined by '/' ("Work/2024"). `levels`: UTF-8.
std::string GmailLabelOf(const std::vector<std::string>& levels, absl::string_view special_use);

// A label as X-GM-LABELS sends it, in UTF-8: a system label ("\Inbox") as it is, a user
// label decoded from modified UTF-7 (as sent when it is not valid modified UTF-7).
std::string GmailLabelFromWire(absl::string_view label);
// The other way, for STORE +X-GM-LABELS (a label that is not valid UTF-8 goes as it is).
std::string GmailLabelToWire(absl::string_view label);

// Whether two labels are the same: system labels ("\Inbox") compare without case, user
// labels exactly.
bool SameGmailLabel(absl::string_view a, absl::string_view b);

// Where the messages of a Gmail export go on server B: one copy in each folder whose label
// the message carries; a message with none of them (archived, or its labels' folders not
// imported) in the All Mail folder. On a Gmail target the All Mail folder gets every
// message (appended once there; its labels are set, not copied).
struct GmailPlacement {
  std::vector<std::string> labels;  // per folder of the import: the label it stands for, or ""
  size_t all_mail = SIZE_MAX;       // the All Mail folder among them; SIZE_MAX: not imported
  bool gmail_target = false;
  // The folders (indices, ascending) a message with `message_labels` goes to.
  std::vector<size_t> Place(const std::vector<std::string>& message_labels) const;
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_GMAIL_LABELS_H_
