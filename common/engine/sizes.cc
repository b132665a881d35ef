// Test mode with --sizes: what a person needs to schedule a migration. Every selectable
// folder's messages and bytes on server A (those the selection keeps), by the cheapest
// means the server offers, and with an import config the folder each maps to on server B
// (import's own mapping: folder_map rules, special use, delimiter, namespace). Read-only on
// both servers.
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/engine/connect.h"
#include "common/engine/engine_internal.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace engine::internal {

absl::Status SizeSink::OnMessage(const imap::FetchedMessage& m) {
  if (m.uid == 0 || !m.has_size) return absl::OkStatus();  // a flag update
  if (filter_ != nullptr && !filter_->MessageSelected(m.internaldate, m.size)) {
    return absl::OkStatus();
  }
  if (per_uid_) {
    if (sizes.emplace(m.uid, m.size).second) bytes += m.size;
  } else if (seen_.insert(m.uid).second) {
    bytes += m.size;
  }
  return absl::OkStatus();
}

imap::MailboxFetch SizesFetch(const std::string& mailbox, SizeSink* sink, bool with_dates) {
  imap::MailboxFetch f;
  f.mailbox = mailbox;
  f.read_only = true;
  f.options.body = false;
  f.options.attributes = with_dates;
  f.sink = sink;
  return f;
}

std::vector<SourceFolder> SourceFolders(const Context& ctx, const imap::MailboxList& list) {
  const auto& personal = list.namespaces.personal;
  const std::string ns_prefix = personal.empty() ? "" : personal[0].prefix;
  std::vector<SourceFolder> out;
  for (const imap::MailboxInfo& mb : list.mailboxes) {
    if (!mb.selectable()) continue;
    std::string why;
    if (!ctx.selector.FolderSelected(mb.name, mb.special_use(), &why)) {
      LOG(INFO) << "account " << ctx.email() << ": folder '" << mb.name << "' left out (" << why
                << ")";
      continue;
    }
    FolderMeta meta;
    meta.name = mb.name;
    meta.raw_name = mb.raw_name;
    meta.delimiter = mb.delimiter ? std::string(1, mb.delimiter) : "";
    meta.special_use = mb.special_use();
    meta.attributes = mb.attributes;
    meta.namespace_prefix = ns_prefix;
    out.push_back(
        {mb, std::move(meta), FolderPrefix(ctx.email(), FolderPath(mb.name, mb.delimiter))});
  }
  return out;
}

namespace {

// STATUS (MESSAGES SIZE) for the folders of `todo` (indices into `folders`); those the
// server answers get their sizes and leave `todo`.
absl::Status SizesByStatus(imap::Session& session, const std::vector<SourceFolder>& folders,
                           std::vector<FolderResult>* results, std::vector<size_t>* todo) {
  std::vector<std::string> names;
  for (size_t i : *todo) names.push_back(folders[i].meta.raw_name);
  ASSIGN_OR_RETURN(auto statuses, imap::StatusEach(session, names, /*with_size=*/true));
  std::vector<size_t> left;
  for (size_t k = 0; k < todo->size(); ++k) {
    const auto& st = statuses[k];
    if (!st.ok() || !st->messages || !st->size) {
      left.push_back((*todo)[k]);
      continue;
    }
    (*results)[(*todo)[k]].source_messages = *st->messages;
    (*results)[(*todo)[k]].source_bytes = *st->size;
  }
  *todo = std::move(left);
  return absl::OkStatus();
}

// EXAMINE and UID FETCH 1:* (UID RFC822.SIZE), pipelined for every folder of `todo`; with
// message filters, their INTERNALDATE too, and only the messages the selection keeps count.
absl::Status SizesByFetch(const Context& ctx, imap::Session& session,
                          const std::vector<SourceFolder>& folders,
                          std::vector<FolderResult>* results, const std::vector<size_t>& todo) {
  const bool filtered = ctx.selector.filters_messages();
  std::vector<SizeSink> sinks(todo.size(),
                              SizeSink(/*per_uid=*/false, filtered ? &ctx.selector : nullptr));
  std::vector<imap::MailboxFetch> requests(todo.size());
  for (size_t k = 0; k < todo.size(); ++k) {
    requests[k] = SizesFetch(folders[todo[k]].meta.raw_name, &sinks[k], filtered);
  }
  RETURN_IF_ERROR(imap::SelectAndFetchMany(session, requests));
  for (size_t k = 0; k < todo.size(); ++k) {
    FolderResult& r = (*results)[todo[k]];
    if (!requests[k].result.ok()) {
      r.error = std::string(requests[k].result.status().message());
      continue;
    }
    r.source_messages = sinks[k].messages();
    r.source_bytes = sinks[k].bytes;
  }
  return absl::OkStatus();
}

// Fills each folder's messages and bytes; returns how they were learnt, for the notes.
// Message filters (since, before, sizes) need every message's date and size: FETCH.
absl::StatusOr<std::string> FolderSizes(const Context& ctx, imap::Session& session,
                                        const std::vector<SourceFolder>& folders,
                                        std::vector<FolderResult>* results) {
  std::vector<size_t> todo;
  std::set<std::string> how;
  const bool filtered = ctx.selector.filters_messages();
  for (size_t i = 0; i < folders.size(); ++i) {
    const imap::MailboxInfo& mb = folders[i].info;
    if (!filtered && mb.messages && (mb.size || *mb.messages == 0)) {
      (*results)[i].source_messages = *mb.messages;
      (*results)[i].source_bytes = mb.size.value_or(0);
      how.insert("LIST-STATUS");
    } else {
      todo.push_back(i);
    }
  }
  if (!todo.empty() && !filtered && session.HasCapability("STATUS=SIZE")) {
    const size_t before = todo.size();
    RETURN_IF_ERROR(SizesByStatus(session, folders, results, &todo));
    if (todo.size() < before) how.insert("STATUS");
  }
  if (!todo.empty()) {
    RETURN_IF_ERROR(SizesByFetch(ctx, session, folders, results, todo));
    how.insert(filtered ? "FETCH RFC822.SIZE, the message filters applied" : "FETCH RFC822.SIZE");
  }
  return how.empty() ? std::string("no folder to count") : absl::StrJoin(how, ", ");
}

// The folder each maps to on server B, as import maps them (the task's folder_map: the
// import config's), and whether B has it yet. Two folders landing in one without "merge"
// fail as import would, before anything moves.
absl::Status MapToTarget(Context& ctx, const std::vector<SourceFolder>& folders,
                         std::vector<FolderResult>* results) {
  const AccountTask::Target& b = *ctx.task.map_to;
  std::unique_ptr<SecretSource> secrets = SecretSource::ForAccount(b.account);
  auto session = ConnectAccount(b.server, b.account, *secrets);
  if (!session.ok()) return session.status();
  (*session)->set_read_only(true);
  ASSIGN_OR_RETURN(TargetInfo target, DiscoverTarget(**session));
  (void)imap::Logout(**session);
  std::vector<ExportedFolder> as_exported;
  for (const SourceFolder& f : folders) as_exported.push_back({f.prefix, f.meta});
  ASSIGN_OR_RETURN(std::vector<MappedFolder> mapped, MapFolders(ctx, as_exported, target));
  for (size_t i = 0; i < folders.size(); ++i) {
    (*results)[i].target = mapped[i].name;
    (*results)[i].mapping = mapped[i].how;
    (*results)[i].create = !TargetLists(target, mapped[i].raw);
  }
  return absl::OkStatus();
}

// Gmail (X-GM-EXT-1 and an \All folder): the label folders' messages are also in All Mail,
// and export downloads each once, from there (README "Gmail labels"). "" otherwise.
std::string GmailSizesNote(const Context& ctx, const imap::Session& session,
                           std::vector<SourceFolder> folders,
                           const std::vector<FolderResult>& results) {
  if (!MarkGmailFolders(ctx, session, &folders)) return "";
  uint64_t label_folders = 0, label_messages = 0, label_bytes = 0, messages = 0, bytes = 0;
  std::string all_mail;
  for (size_t i = 0; i < folders.size(); ++i) {
    if (folders[i].meta.gmail_all_mail) all_mail = folders[i].meta.name;
    if (folders[i].meta.gmail_label.empty()) {
      messages += results[i].source_messages;
      bytes += results[i].source_bytes;
    } else {
      ++label_folders;
      label_messages += results[i].source_messages;
      label_bytes += results[i].source_bytes;
    }
  }
  return absl::StrCat("Gmail: ", label_folders, " label folder(s) hold ", label_messages,
                      " message(s), ", label_bytes, " byte(s) that are also in '", all_mail,
                      "'; export downloads each message once, from there: ", messages,
                      " message(s), ", bytes, " byte(s) to move");
}

}  // namespace

absl::Status ReportSizes(Context& ctx, imap::Session& session, AccountResult* result) {
  ASSIGN_OR_RETURN(imap::MailboxList list,
                   imap::ListAll(session, /*with_status=*/true, /*with_size=*/true));
  const std::vector<SourceFolder> folders = SourceFolders(ctx, list);
  result->notes.push_back(absl::StrCat(folders.size(), " selectable folder(s)"));
  result->folders.resize(folders.size());
  for (size_t i = 0; i < folders.size(); ++i) result->folders[i].name = folders[i].meta.name;
  ASSIGN_OR_RETURN(std::string how, FolderSizes(ctx, session, folders, &result->folders));
  uint64_t messages = 0, bytes = 0;
  for (const FolderResult& f : result->folders) {
    messages += f.source_messages;
    bytes += f.source_bytes;
  }
  result->notes.push_back(absl::StrCat("sizes: ", messages, " message(s), ", bytes,
                                       " byte(s) on the server (from ", how, ")"));
  if (std::string gmail = GmailSizesNote(ctx, session, folders, result->folders); !gmail.empty()) {
    result->notes.push_back(std::move(gmail));
  }
  if (ctx.task.map_to) {
    absl::Status mapped = MapToTarget(ctx, folders, &result->folders);
    if (!mapped.ok()) return status::Annotate(mapped, "server B (the import config)");
    result->notes.push_back(absl::StrCat("folders mapped to server B ",
                                         ctx.task.map_to->server.host, ":",
                                         ctx.task.map_to->server.port));
  }
  return absl::OkStatus();
}

}  // namespace engine::internal
