// Import: per exported folder, compare the export with server B's folder by message
// identity (INTERNALDATE with Message-ID, or with size) and append what B lacks, so
// re-running it, or resuming after a crash anywhere (even between an APPEND and its OK),
// creates no duplicate. Validate (validate.cc) compares the same way without appending.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/engine/engine_internal.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

constexpr size_t kBatchMessages = 50;
constexpr uint64_t kBatchBytes = 8 * 1024 * 1024;

// A message body read from the store on demand (sequentially; a rewind reopens).
class StoreLiteralSource : public imap::LiteralSource {
 public:
  StoreLiteralSource(storage::Store& store, std::string key, uint64_t size)
      : store_(store), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override {
    if (!reader_ || offset != pos_) {
      ASSIGN_OR_RETURN(reader_, store_.Open(key_));
      pos_ = 0;
      if (reader_->size() != size_) {
        return absl::DataLossError(absl::StrCat(key_, ": size ", reader_->size(),
                                                " differs from its metadata (", size_, ")"));
      }
      std::vector<char> skip(64 * 1024);
      while (pos_ < offset) {
        ASSIGN_OR_RETURN(
            size_t n, reader_->Read(skip.data(), std::min<uint64_t>(skip.size(), offset - pos_)));
        if (n == 0) break;
        pos_ += n;
      }
    }
    ASSIGN_OR_RETURN(size_t n, reader_->Read(buf, max));
    pos_ += n;
    return n;
  }

 private:
  storage::Store& store_;
  std::string key_;
  uint64_t size_;
  mutable std::unique_ptr<storage::Reader> reader_;
  mutable uint64_t pos_ = 0;
};

// Flags server B keeps (PERMANENTFLAGS); all when it did not say.
std::vector<std::string> AllowedFlags(const std::vector<std::string>& flags,
                                      const imap::SelectedMailbox& box, uint64_t* dropped) {
  if (box.permanent_flags.empty()) return flags;
  std::set<std::string> perm;
  for (const auto& f : box.permanent_flags) perm.insert(absl::AsciiStrToLower(f));
  const bool any_keyword = perm.count("\\*") > 0;
  std::vector<std::string> out;
  for (const std::string& f : flags) {
    const bool system = absl::StartsWith(f, "\\");
    if (perm.count(absl::AsciiStrToLower(f)) || (!system && any_keyword)) {
      out.push_back(f);
    } else {
      ++*dropped;
    }
  }
  return out;
}

absl::Status AppendMissing(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder, const imap::SelectedMailbox& box,
                           const std::vector<std::pair<std::string, MessageMeta>>& missing,
                           FolderResult* r) {
  uint64_t dropped = 0;
  size_t i = 0;
  while (i < missing.size()) {
    if (ctx.cancel.cancelled()) return absl::CancelledError("cancelled");
    std::vector<imap::AppendMessage> batch;
    uint64_t bytes = 0;
    for (; i < missing.size() && batch.size() < kBatchMessages &&
           (batch.empty() || bytes + missing[i].second.size <= kBatchBytes);
         ++i) {
      const auto& [base, meta] = missing[i];
      imap::AppendMessage m;
      m.flags = AllowedFlags(meta.flags, box, &dropped);
      m.internaldate = meta.internaldate;
      m.body =
          std::make_shared<StoreLiteralSource>(ctx.store, folder.prefix + base + ".eml", meta.size);
      bytes += meta.size;
      batch.push_back(std::move(m));
    }
    RETURN_IF_ERROR(imap::AppendMany(session, mailbox, batch).status());
    r->transferred += batch.size();
    r->bytes += bytes;
    for (size_t k = 0; k < batch.size(); ++k) {
      ctx.progress.Message(folder.meta.name, missing[i - batch.size() + k].second.size);
    }
  }
  if (dropped > 0) {
    LOG(WARNING) << "account " << ctx.email() << " folder '" << folder.meta.name << "': " << dropped
                 << " flag(s) not kept by server B (PERMANENTFLAGS)";
  }
  return absl::OkStatus();
}

// Selects the target folder (creating it when missing) and lists what the export has that
// B lacks, and what B has beyond the export.
absl::Status CompareFolder(Context& ctx, imap::Session& session, const std::string& mailbox,
                           const ExportedFolder& folder,
                           const std::map<std::string, MessageMeta>& local,
                           imap::SelectedMailbox* box,
                           std::vector<std::pair<std::string, MessageMeta>>* missing,
                           FolderResult* r) {
  std::vector<absl::StatusOr<ScannedFolder>> scan;
  RETURN_IF_ERROR(ScanIdentities(session, {mailbox}, /*read_only=*/false, &scan));
  if (!scan[0].ok() && !status::IsRetriable(scan[0].status())) {
    absl::Status c = imap::Create(session, mailbox);
    if (!c.ok() && !absl::IsAlreadyExists(c)) return c;
    RETURN_IF_ERROR(ScanIdentities(session, {mailbox}, /*read_only=*/false, &scan));
  }
  if (!scan[0].ok()) return scan[0].status();
  *box = scan[0]->box;
  DiffFolder(local, std::move(scan[0]->identities), missing, r);
  return absl::OkStatus();
}

absl::Status TargetFolder(Context& ctx, imap::Session& session, const TargetInfo& target,
                          const ExportedFolder& folder, FolderResult* r) {
  ASSIGN_OR_RETURN(std::string mailbox, TargetMailboxName(folder.meta, target));
  ASSIGN_OR_RETURN(auto local, ListExportedMessages(ctx.store, folder.prefix));
  r->source_messages = local.size();
  uint64_t local_bytes = 0;
  for (const auto& entry : local) local_bytes += entry.second.size;
  ctx.progress.AddMessages(local.size(), local_bytes);
  imap::SelectedMailbox box;
  std::vector<std::pair<std::string, MessageMeta>> missing;
  RETURN_IF_ERROR(CompareFolder(ctx, session, mailbox, folder, local, &box, &missing, r));
  if (!missing.empty()) {
    RETURN_IF_ERROR(AppendMissing(ctx, session, mailbox, folder, box, missing, r));
    r->target_messages += missing.size();
    r->missing = 0;
  }
  ctx.progress.FolderDone(folder.meta.name);
  return absl::OkStatus();
}

}  // namespace

AccountResult RunImport(Context& ctx) {
  AccountResult result;
  auto folders = ListExportedFolders(ctx.store, ctx.email());
  if (folders.ok() && folders->empty()) {
    folders = absl::NotFoundError(
        absl::StrCat("no export found for it in ", ctx.store.Describe(), " (run export first)"));
  }
  // More connections open alongside the first one and log in once it has, while it reads
  // server B's folders.
  Prewarm more(ctx, folders.ok() ? ctx.Connections(folders->size()) - 1 : 0);
  auto session = folders.ok() ? ctx.Connect() : folders.status();
  more.Release(session.ok());
  auto target = session.ok() ? DiscoverTarget(**session) : session.status();
  if (!target.ok()) {
    result.status = status::Annotate(target.status(), absl::StrCat("account ", ctx.email()));
    return result;
  }
  result.folders.resize(folders->size());
  ctx.progress.AddTotals(folders->size(), 0);
  std::vector<uint64_t> sizes;
  for (const ExportedFolder& f : *folders) sizes.push_back(f.bytes);
  const std::vector<size_t> order = LargestFirst(sizes);
  std::vector<absl::Status> statuses(folders->size());
  auto ran = ForEachItem(ctx, std::move(*session), &more, folders->size(),
                         ctx.Connections(folders->size()), [&](imap::Session& s, size_t k) {
                           const size_t i = order[k];
                           const ExportedFolder& f = (*folders)[i];
                           result.folders[i] = FolderResult();
                           result.folders[i].name = f.meta.name;
                           absl::Status st = TargetFolder(ctx, s, *target, f, &result.folders[i]);
                           return status::Annotate(st, absl::StrCat("folder '", f.meta.name, "'"));
                         });
  for (size_t k = 0; k < ran.size(); ++k) statuses[order[k]] = ran[k];
  for (size_t i = 0; i < statuses.size(); ++i) {
    FolderResult& f = result.folders[i];
    if (!statuses[i].ok()) f.error = std::string(statuses[i].message());
    result.messages += f.transferred;
    result.bytes += f.bytes;
    result.skipped += f.source_messages - f.missing - f.transferred;
  }
  result.status = FirstError(ctx.email(), statuses);
  return result;
}

}  // namespace engine::internal
