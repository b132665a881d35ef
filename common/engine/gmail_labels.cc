#include "common/engine/gmail_labels.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/imap/mutf7.h"

namespace engine {

std::string GmailLabelOf(const std::vector<std::string>& levels, absl::string_view special_use) {
  if (levels.size() == 1 && absl::EqualsIgnoreCase(levels[0], "INBOX")) return "\\Inbox";
  static const std::pair<const char*, const char*> kSystem[] = {
      {"\\Sent", "\\Sent"},
      {"\\Drafts", "\\Draft"},
      {"\\Important", "\\Important"},
      {"\\Flagged", "\\Starred"},
      {"\\All", ""},
      {"\\Trash", ""},
      {"\\Junk", ""},
  };
  for (const auto& [use, label] : kSystem) {
    if (absl::EqualsIgnoreCase(special_use, use)) return label;
  }
  return absl::StrJoin(levels, "/");
}

std::string GmailLabelFromWire(absl::string_view label) {
  if (absl::StartsWith(label, "\\")) return std::string(label);
  auto utf8 = imap::Mutf7ToUtf8(label);
  return utf8.ok() ? *utf8 : std::string(label);
}

std::string GmailLabelToWire(absl::string_view label) {
  if (absl::StartsWith(label, "\\")) return std::string(label);
  auto wire = imap::Utf8ToMutf7(label);
  return wire.ok() ? *wire : std::string(label);
}

bool SameGmailLabel(absl::string_view a, absl::string_view b) {
  if (absl::StartsWith(a, "\\") && absl::StartsWith(b, "\\")) return absl::EqualsIgnoreCase(a, b);
  return a == b;
}

std::vector<size_t> GmailPlacement::Place(const std::vector<std::string>& message_labels) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].empty() || i == all_mail) continue;
    for (const std::string& l : message_labels) {
      if (SameGmailLabel(l, labels[i])) {
        out.push_back(i);
        break;
      }
    }
  }
  if (all_mail != SIZE_MAX && (gmail_target || out.empty())) {
    out.insert(std::lower_bound(out.begin(), out.end(), all_mail), all_mail);
  }
  return out;
}

}  // namespace engine
