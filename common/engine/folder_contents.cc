#include "common/engine/folder_contents.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

bool FromAllMail(const FolderMeta& meta) {
  return meta.gmail_all_mail || !meta.gmail_label.empty();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FolderContents>> FolderContents::Load(
    Context& ctx, std::vector<ExportedFolder>* folders, bool gmail_target) {
  std::unique_ptr<FolderContents> c(new FolderContents());
  c->placed_.resize(folders->size());
  c->left_out_of_.resize(folders->size());
  for (ExportedFolder& f : *folders) {
    f.files = f.prefix;
    c->own_.push_back(f);
    c->gmail_ = c->gmail_ || FromAllMail(f.meta);
  }
  if (c->gmail_) RETURN_IF_ERROR(c->LoadGmail(ctx, folders, gmail_target));
  if (ctx.selector.skip_cross_duplicates()) {
    RETURN_IF_ERROR(c->LeaveOutCrossDuplicates(ctx, *folders));
  }
  return c;
}

absl::Status FolderContents::LoadGmail(Context& ctx, std::vector<ExportedFolder>* folders,
                                       bool gmail_target) {
  std::string all_prefix;
  const ExportedFolder* all_folder = nullptr;
  placement_.labels.assign(folders->size(), "");
  for (size_t i = 0; i < folders->size(); ++i) {
    const FolderMeta& m = (*folders)[i].meta;
    placement_.labels[i] = m.gmail_label;
    if (m.gmail_all_mail) {
      placement_.all_mail = i;
      all_prefix = (*folders)[i].prefix;
      all_folder = &own_[i];
    }
  }
  std::vector<ExportedFolder> every;
  if (all_prefix.empty()) {  // left out by the selection: it still fills the label folders
    ASSIGN_OR_RETURN(every, ListExportedFolders(ctx.store, ctx.email()));
    for (const ExportedFolder& f : every) {
      if (f.meta.gmail_all_mail) {
        all_prefix = f.prefix;
        all_folder = &f;
      }
    }
  }
  placement_.gmail_target = gmail_target && placement_.all_mail != SIZE_MAX;
  if (all_prefix.empty()) return absl::OkStatus();  // nothing exported in All Mail (yet)
  ASSIGN_OR_RETURN(all_, ListSelectedMessages(ctx, *all_folder));
  for (ExportedFolder& f : *folders) {
    if (!FromAllMail(f.meta)) continue;
    f.files = all_prefix;
    f.messages = f.bytes = 0;
  }
  for (const auto& [base, meta] : all_) {
    for (size_t i : placement_.Place(meta.gmail_labels.value_or(std::vector<std::string>()))) {
      placed_[i].push_back(base);
      (*folders)[i].messages += 1;
      (*folders)[i].bytes += meta.size;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, MessageMeta>> FolderContents::Own(Context& ctx,
                                                                       size_t i) const {
  const bool from_all = gmail_ && (i == placement_.all_mail || !placement_.labels[i].empty());
  if (!from_all) return ListSelectedMessages(ctx, own_[i]);
  std::map<std::string, MessageMeta> out;
  for (const std::string& base : placed_[i]) out.emplace(base, all_.at(base));
  return out;
}

absl::StatusOr<std::map<std::string, MessageMeta>> FolderContents::Messages(Context& ctx,
                                                                            size_t i) const {
  ASSIGN_OR_RETURN(auto out, Own(ctx, i));
  for (const std::string& base : left_out_of_[i]) out.erase(base);
  return out;
}

absl::Status FolderContents::LeaveOutCrossDuplicates(Context& ctx,
                                                     const std::vector<ExportedFolder>& folders) {
  std::vector<RankedFolder> ranked;
  for (const ExportedFolder& f : folders) ranked.push_back({f.meta.name, f.meta.special_use});
  std::map<std::string, size_t> first;  // identity -> the folder that keeps it
  for (size_t i : CrossDuplicateOrder(ranked)) {
    if (IsLabelOnGmailTarget(i)) continue;  // a label on the message, not a copy
    ASSIGN_OR_RETURN(auto messages, Own(ctx, i));
    std::map<size_t, uint64_t> kept_in;
    for (const auto& [base, m] : messages) {
      auto [it, inserted] = first.emplace(IdentityKey(m.message_id, m.size, m.internaldate), i);
      if (inserted || it->second == i) continue;  // copies within one folder all stay
      left_out_of_[i].insert(base);
      kept_in[it->second] += 1;
    }
    for (const auto& [j, n] : kept_in) {
      LOG(INFO) << "account " << ctx.email() << ": folder '" << folders[i].meta.name << "': " << n
                << " message(s) left out, also in folder '" << folders[j].meta.name
                << "', which keeps them (--skip-cross-duplicates)";
      left_out_ += n;
    }
  }
  return absl::OkStatus();
}

std::vector<size_t> FolderContents::LabelFolders(const MessageMeta& message) const {
  std::vector<size_t> out;
  for (size_t i : placement_.Place(message.gmail_labels.value_or(std::vector<std::string>()))) {
    if (i != placement_.all_mail) out.push_back(i);
  }
  return out;
}

bool FolderContents::IsLabelOnGmailTarget(size_t i) const {
  return gmail_target() && i != placement_.all_mail && !placement_.labels[i].empty();
}

std::vector<std::string> FolderContents::Notes() const {
  std::vector<std::string> notes;
  if (gmail_) {
    uint64_t copies = 0;
    for (size_t i = 0; i < placed_.size(); ++i) {
      if (i != placement_.all_mail) copies += placed_[i].size();
    }
    notes.push_back(
        gmail_target()
            ? absl::StrCat("Gmail labels: ", all_.size(),
                           " message(s) of the export's All Mail kept once in server B's All "
                           "Mail, their labels set there (",
                           copies, " label(s) in all)")
            : absl::StrCat(
                  "Gmail labels: ", all_.size(), " message(s) of the export's All Mail: ", copies,
                  " copies in their label folders, ",
                  placement_.all_mail == SIZE_MAX ? 0 : placed_[placement_.all_mail].size(),
                  " without one in the All Mail folder"));
  }
  if (left_out_ > 0) {
    notes.push_back(absl::StrCat("skip-cross-duplicates: ", left_out_,
                                 " message(s) left out, already in an earlier folder"));
  }
  return notes;
}

std::string GmailLabelOnTarget(const MappedFolder& mapped, const TargetInfo& target) {
  absl::string_view rel = mapped.name;
  absl::ConsumePrefix(&rel, target.prefix);
  std::vector<std::string> levels;
  if (target.delimiter == 0) {
    levels.emplace_back(rel);
  } else {
    levels = absl::StrSplit(rel, target.delimiter);
  }
  std::string use;
  for (const imap::MailboxInfo& f : target.folders) {
    if (f.raw_name == mapped.raw) use = f.special_use();
  }
  return GmailLabelOf(levels, use);
}

}  // namespace engine::internal
