// Gmail as server B (README "Gmail labels"): a Gmail export's messages go once into B's
// All Mail folder (the import of the export's All Mail folder appends what B lacks there),
// then each gets the labels of the folders it belongs to with UID STORE +X-GM-LABELS; a
// re-run compares B's labels first and stores only what is missing.
#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/engine/folder_contents.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

// B's messages in the mailbox: UID and labels by identity.
class LabelSink : public imap::FetchSink {
 public:
  struct Held {
    uint32_t uid;
    std::vector<std::string> labels;  // UTF-8
  };
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.uid == 0 || !seen_.insert(m.uid).second) return absl::OkStatus();
    by_identity.emplace(IdentityKey(m.message_id, m.size, m.internaldate),
                        Held{m.uid, GmailLabelsFromWire(m.gmail_labels)});
    return absl::OkStatus();
  }
  // Takes B's copy of `meta` (its identity; any date for one exported without a date, as
  // DiffFolder matches it); null when B has none left.
  const Held* Take(const MessageMeta& meta) {
    auto it = by_identity.end();
    if (meta.internaldate.empty()) {
      const std::string prefix = IdentityKey(meta.message_id, meta.size, "");
      it = by_identity.lower_bound(prefix);
      if (it != by_identity.end() && !absl::StartsWith(it->first, prefix)) it = by_identity.end();
    } else {
      it = by_identity.find(IdentityKey(meta.message_id, meta.size, meta.internaldate));
    }
    if (it == by_identity.end()) return nullptr;
    taken_.push_back(std::move(it->second));
    by_identity.erase(it);
    return &taken_.back();
  }
  std::multimap<std::string, Held> by_identity;

 private:
  std::set<uint32_t> seen_;
  std::deque<Held> taken_;
};

}  // namespace

absl::Status SetGmailLabels(Context& ctx, imap::Session& session, const std::string& mailbox,
                            const FolderContents& contents,
                            const std::map<std::string, MessageMeta>& local,
                            const std::vector<MappedFolder>& mapped, const TargetInfo& target,
                            uint64_t* labels_added) {
  std::vector<std::string> label_of(mapped.size());  // B's label of each folder
  for (size_t i = 0; i < mapped.size(); ++i) label_of[i] = GmailLabelOnTarget(mapped[i], target);
  LabelSink sink;
  imap::FetchOptions options;
  options.body = false;
  options.message_id = true;
  options.gmail = true;
  RETURN_IF_ERROR(
      imap::SelectAndFetch(session, mailbox, /*read_only=*/false, "1:*", options, &sink, nullptr)
          .status());
  std::vector<std::pair<uint32_t, std::vector<std::string>>> stores;
  uint64_t absent = 0;
  for (const auto& [base, meta] : local) {
    const LabelSink::Held* held = sink.Take(meta);
    if (held == nullptr) {
      ++absent;  // not on B (refused, or the append stopped): labelled by a later run
      continue;
    }
    std::vector<std::string> add;
    for (size_t i : contents.LabelFolders(meta)) {
      const std::string& label = label_of[i];
      auto same = [&](const std::string& l) { return SameGmailLabel(l, label); };
      if (label.empty() || std::any_of(held->labels.begin(), held->labels.end(), same) ||
          std::any_of(add.begin(), add.end(), same)) {
        continue;
      }
      add.push_back(label);
    }
    if (add.empty()) continue;
    for (std::string& l : add) l = GmailLabelToWire(l);
    stores.emplace_back(held->uid, std::move(add));
  }
  if (stores.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<absl::Status> stored, imap::AddGmailLabels(session, stores));
  for (size_t k = 0; k < stored.size(); ++k) {
    if (status::IsRetriable(stored[k])) return stored[k];  // retried; stored labels stay
    if (!stored[k].ok()) {  // B will not take the label: named; validate reports the copy
      LOG(WARNING) << "account " << ctx.email() << ": server B refused the labels of message UID "
                   << stores[k].first << " in '" << mailbox << "': " << stored[k];
      continue;
    }
    *labels_added += stores[k].second.size();
  }
  LOG(INFO) << "account " << ctx.email() << ": Gmail labels set on " << stores.size()
            << " message(s) of '" << mailbox << "' on server B (" << *labels_added << " label(s)); "
            << absent << " message(s) not on B";
  return absl::OkStatus();
}

}  // namespace engine::internal
