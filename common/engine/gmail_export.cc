// Export from Gmail (README "Gmail labels"): when server A offers X-GM-EXT-1, every message
// is exported once, from the \All folder ("[Gmail]/All Mail"), with its X-GM-MSGID and
// X-GM-LABELS in its .json; the folders that stand for labels are recorded (their
// .folder.json says which label) and their messages are not fetched again.
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/engine/engine_internal.h"
#include "common/engine/gmail_labels.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {

std::vector<std::string> GmailLabelsFromWire(const std::vector<std::string>& wire) {
  std::vector<std::string> out;
  for (const std::string& label : wire) out.push_back(GmailLabelFromWire(label));
  return out;
}

bool MarkGmailFolders(const Context& ctx, const imap::Session& session,
                      std::vector<SourceFolder>* folders) {
  if (!session.HasCapability(kGmailCapability)) return false;
  SourceFolder* all = nullptr;
  for (SourceFolder& f : *folders) {
    if (absl::EqualsIgnoreCase(f.meta.special_use, "\\All")) all = &f;
  }
  if (all == nullptr) {
    LOG(INFO) << "account " << ctx.email() << ": server A offers " << kGmailCapability
              << " but no \\All folder is selected: every folder is exported as it is";
    return false;
  }
  for (SourceFolder& f : *folders) {
    if (&f == all) {
      f.meta.gmail_all_mail = true;
      continue;
    }
    absl::string_view rel = f.meta.name;
    absl::ConsumePrefix(&rel, f.meta.namespace_prefix);
    std::vector<std::string> levels;
    if (f.meta.delimiter.empty()) {
      levels.emplace_back(rel);
    } else {
      levels = absl::StrSplit(rel, f.meta.delimiter[0]);
    }
    f.meta.gmail_label = GmailLabelOf(levels, f.meta.special_use);
  }
  LOG(INFO) << "account " << ctx.email() << ": Gmail (" << kGmailCapability
            << "): every message exported once from '" << all->meta.name
            << "' with its labels; label folders recorded without their messages";
  return true;
}

namespace {

// X-GM-MSGID and X-GM-LABELS by UID (a fetch without bodies).
class GmailIdSink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.uid != 0 && m.has_gmail_labels) by_uid[m.uid] = m;
    return absl::OkStatus();
  }
  std::map<uint32_t, imap::FetchedMessage> by_uid;
};

// The recorded meta of `base`: from `known` (the folder's messages, read once) when it has
// it, else from its .json.
absl::StatusOr<MessageMeta> RecordedMeta(Context& ctx, const std::string& prefix,
                                         const std::string& base, const FolderMessages* known) {
  if (known != nullptr) {
    if (auto it = known->find(base); it != known->end()) return it->second;
  }
  const std::string key = prefix + base + ".json";
  ASSIGN_OR_RETURN(std::string json, ctx.store.Get(key));
  auto meta = MessageMetaFromJson(json);
  if (!meta.ok()) return status::Annotate(meta.status(), key);
  return meta;
}

// Rewrites the .json of `base` when A's labels (or id) differ from what it records (and
// its entry in `known`); true when it did.
absl::StatusOr<bool> UpdateLabels(Context& ctx, const std::string& prefix, const std::string& base,
                                  const imap::FetchedMessage& now, FolderMessages* known) {
  ASSIGN_OR_RETURN(MessageMeta meta, RecordedMeta(ctx, prefix, base, known));
  std::vector<std::string> labels = GmailLabelsFromWire(now.gmail_labels);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  if (meta.gmail_labels && sorted(*meta.gmail_labels) == sorted(labels) &&
      meta.gmail_msgid == now.gmail_msgid) {
    return false;
  }
  meta.gmail_labels = std::move(labels);
  meta.gmail_msgid = now.gmail_msgid;
  RETURN_IF_ERROR(ctx.store.Put(prefix + base + ".json", MessageMetaToJson(meta)));
  if (known != nullptr) (*known)[base] = std::move(meta);
  return true;
}

}  // namespace

absl::StatusOr<uint64_t> RefreshGmailLabels(Context& ctx, imap::Session& session,
                                            const std::string& prefix, FolderMeta* meta,
                                            const std::vector<uint32_t>& uids,
                                            const std::set<uint32_t>& current,
                                            const std::vector<std::string>& others,
                                            FolderMessages* known) {
  if (uids.empty() || (current.empty() && others.empty() && meta->claimed.empty())) {
    return uint64_t{0};
  }
  GmailIdSink sink;
  imap::FetchOptions options;
  options.body = false;
  options.attributes = false;
  options.gmail = true;
  options.uids_per_command = 1000;  // no body: small responses
  RETURN_IF_ERROR(imap::UidFetch(session, uids, options, &sink));
  // Messages stored under an older UIDVALIDITY, by X-GM-MSGID (not claimed yet).
  std::set<std::string> taken;
  for (const auto& [uid, base] : meta->claimed) taken.insert(base);
  std::map<uint64_t, std::string> older;
  for (const std::string& base : others) {
    if (taken.count(base)) continue;
    auto m = RecordedMeta(ctx, prefix, base, known);
    if (m.ok() && m->gmail_msgid) older.emplace(*m->gmail_msgid, base);
  }
  uint64_t updated = 0, claimed = 0;
  for (const auto& [uid, now] : sink.by_uid) {
    if (ctx.cancel.cancelled()) return absl::CancelledError("cancelled");
    std::string base;
    if (current.count(uid)) {
      base = MessageBase(meta->uidvalidity, uid);
    } else if (auto it = meta->claimed.find(uid); it != meta->claimed.end()) {
      base = it->second;
    } else if (auto old = now.gmail_msgid ? older.find(*now.gmail_msgid) : older.end();
               old != older.end()) {
      base = meta->claimed[uid] = old->second;  // the same message: nothing to download
      older.erase(old);
      ++claimed;
    } else {
      continue;  // new: fetched with its body and labels
    }
    ASSIGN_OR_RETURN(bool changed, UpdateLabels(ctx, prefix, base, now, known));
    updated += changed ? 1 : 0;
  }
  if (updated > 0 || claimed > 0) {
    LOG(INFO) << "account " << ctx.email() << " folder '" << meta->name << "': labels changed on "
              << updated << " message(s) (their .json rewritten); " << claimed
              << " message(s) of an earlier UIDVALIDITY found by X-GM-MSGID";
  }
  return updated;
}

}  // namespace engine::internal
