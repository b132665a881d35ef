// Mailbox commands: NAMESPACE, LIST, STATUS, SELECT/EXAMINE, CREATE, UID SEARCH, NOOP,
// LOGOUT.
#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/collect_handler.h"
#include "common/imap/commands.h"
#include "common/imap/mutf7.h"
#include "common/status/status_macros.h"

namespace imap {
namespace {

const char* const kSpecialUse[] = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                   "\\Junk", "\\Sent",    "\\Trash",  "\\Important"};

char DelimiterOf(const Value& v) {
  if (v.is_nil() || v.text().empty()) return 0;
  return v.text()[0];
}

std::vector<std::string> AtomTexts(const Value& list) {
  std::vector<std::string> out;
  for (const Value& v : list.list) out.emplace_back(v.text());
  return out;
}

absl::Status Malformed(const Session& s, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("IMAP ", s.peer(), ": malformed ", what, " response"));
}

absl::StatusOr<MailboxInfo> ParseListResponse(const Session& s, const Response& r) {
  if (r.values.size() < 3 || !r.values[0].is_list()) return Malformed(s, "LIST");
  MailboxInfo info;
  info.attributes = AtomTexts(r.values[0]);
  info.delimiter = DelimiterOf(r.values[1]);
  info.raw_name = std::string(r.values[2].text());
  if (absl::EqualsIgnoreCase(info.raw_name, "INBOX")) info.raw_name = "INBOX";
  auto decoded = Mutf7ToUtf8(info.raw_name);
  info.name_decoded = decoded.ok();
  info.name = decoded.ok() ? *decoded : info.raw_name;
  return info;
}

}  // namespace

bool MailboxInfo::selectable() const {
  for (const std::string& a : attributes) {
    if (absl::EqualsIgnoreCase(a, "\\Noselect") || absl::EqualsIgnoreCase(a, "\\NonExistent")) {
      return false;
    }
  }
  return true;
}

std::string MailboxInfo::special_use() const {
  for (const std::string& a : attributes) {
    for (const char* su : kSpecialUse) {
      if (absl::EqualsIgnoreCase(a, su)) return su;
    }
  }
  return "";
}

absl::StatusOr<std::string> EncodeMailboxName(absl::string_view utf8) {
  if (absl::EqualsIgnoreCase(utf8, "INBOX")) return std::string("INBOX");
  return Utf8ToMutf7(utf8);
}

namespace {

Command ListCommand(const Session& session, absl::string_view pattern, bool with_status,
                    bool with_size) {
  Command cmd("LIST");
  cmd.String("").String(pattern);
  const bool special = session.HasCapability("SPECIAL-USE");
  const bool status = with_status && session.HasCapability("LIST-STATUS");
  const bool size = status && with_size && session.HasCapability("STATUS=SIZE");
  if (special || status) {
    cmd.Atom(absl::StrCat("RETURN (", special ? "SPECIAL-USE" : "", special && status ? " " : "",
                          status ? "STATUS (MESSAGES UIDVALIDITY" : "", size ? " SIZE" : "",
                          status ? ")" : "", ")"));
  }
  return cmd;
}

// The attribute list of a STATUS response ("(MESSAGES 3 UIDVALIDITY 7)").
void ParseStatusItems(const Value& list, MailboxStatus* st) {
  const auto& l = list.list;
  for (size_t i = 0; i + 1 < l.size(); i += 2) {
    auto n = l[i + 1].AsNumber();
    if (!n) continue;
    if (l[i].IsAtom("MESSAGES")) st->messages = n;
    if (l[i].IsAtom("UIDNEXT")) st->uidnext = n;
    if (l[i].IsAtom("UIDVALIDITY")) st->uidvalidity = n;
    if (l[i].IsAtom("UNSEEN")) st->unseen = n;
    if (l[i].IsAtom("HIGHESTMODSEQ")) st->highestmodseq = n;
    if (l[i].IsAtom("SIZE")) st->size = n;
  }
}

// Keeps LIST and STATUS responses (LIST-STATUS sends both for one command).
class ListHandler : public ResponseHandler {
 public:
  absl::Status OnUntagged(const Response& r) override {
    if (r.status != StatusKind::kNone) return absl::OkStatus();
    if (r.name == "LIST") lists.push_back(r);
    if (r.name == "STATUS") statuses.push_back(r);
    return absl::OkStatus();
  }
  std::vector<Response> lists, statuses;
};

absl::StatusOr<std::vector<MailboxInfo>> ParseList(const Session& session, const ListHandler& h) {
  std::vector<MailboxInfo> out;
  out.reserve(h.lists.size());
  std::map<std::string, size_t> by_name;
  for (const Response& r : h.lists) {
    ASSIGN_OR_RETURN(MailboxInfo info, ParseListResponse(session, r));
    by_name[info.raw_name] = out.size();
    out.push_back(std::move(info));
  }
  for (const Response& r : h.statuses) {
    if (r.values.size() < 2 || !r.values[1].is_list()) return Malformed(session, "STATUS");
    std::string name(r.values[0].text());
    if (absl::EqualsIgnoreCase(name, "INBOX")) name = "INBOX";
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;  // STATUS for a mailbox the LIST did not return
    MailboxStatus st;
    ParseStatusItems(r.values[1], &st);
    out[it->second].messages = st.messages;
    out[it->second].uidvalidity = st.uidvalidity;
    out[it->second].size = st.size;
  }
  return out;
}

absl::StatusOr<Namespaces> ParseNamespaces(const Session& session, const CollectHandler& h) {
  Namespaces ns;
  if (h.responses.empty() || h.responses[0].values.size() < 3) {
    return Malformed(session, "NAMESPACE");
  }
  std::vector<NamespaceEntry>* dest[] = {&ns.personal, &ns.other, &ns.shared};
  for (int i = 0; i < 3; ++i) {
    const Value& v = h.responses[0].values[i];
    if (!v.is_list()) continue;  // NIL
    for (const Value& e : v.list) {
      if (!e.is_list() || e.list.size() < 2) return Malformed(session, "NAMESPACE");
      dest[i]->push_back(NamespaceEntry{std::string(e.list[0].text()), DelimiterOf(e.list[1])});
    }
  }
  return ns;
}

// RFC 3501 §6.3.8: without NAMESPACE, LIST "" "" gives the hierarchy delimiter
// of the one personal namespace "".
Namespaces FlatNamespaces(const CollectHandler& h) {
  Namespaces ns;
  char delim = h.responses.empty() || h.responses[0].values.size() < 2
                   ? 0
                   : DelimiterOf(h.responses[0].values[1]);
  ns.personal.push_back(NamespaceEntry{"", delim});
  return ns;
}

}  // namespace

absl::StatusOr<std::vector<MailboxInfo>> List(Session& session, absl::string_view pattern) {
  ListHandler h;
  RETURN_IF_ERROR(session.Execute(ListCommand(session, pattern, false, false), &h));
  return ParseList(session, h);
}

absl::StatusOr<Namespaces> GetNamespaces(Session& session) {
  const bool has_ns = session.HasCapability("NAMESPACE");
  CollectHandler h(has_ns ? "NAMESPACE" : "LIST");
  if (!has_ns) {
    Command cmd("LIST");
    cmd.String("").String("");
    RETURN_IF_ERROR(session.Execute(cmd, &h));
    return FlatNamespaces(h);
  }
  RETURN_IF_ERROR(session.Execute(Command("NAMESPACE"), &h));
  return ParseNamespaces(session, h);
}

absl::StatusOr<MailboxList> ListAll(Session& session, bool with_status, bool with_size) {
  const bool has_ns = session.HasCapability("NAMESPACE");
  CollectHandler nh(has_ns ? "NAMESPACE" : "LIST");
  Command ns_cmd(has_ns ? "NAMESPACE" : "LIST");
  if (!has_ns) ns_cmd.String("").String("");
  ASSIGN_OR_RETURN(std::string ns_tag, session.Send(ns_cmd, &nh));
  ListHandler lh;
  auto list_tag = session.Send(ListCommand(session, "*", with_status, with_size), &lh);
  // Both complete before either result is used, so the session is left with
  // nothing in flight whatever happens.
  auto ns_result = session.Wait(ns_tag);
  auto list_result = list_tag.ok() ? session.Wait(*list_tag) : list_tag.status();
  if (!ns_result.ok()) return ns_result.status();
  if (!list_result.ok()) return list_result.status();
  RETURN_IF_ERROR(session.ResultToStatus(*ns_result, ns_cmd.name()));
  RETURN_IF_ERROR(session.ResultToStatus(*list_result, "LIST"));
  MailboxList out;
  if (has_ns) {
    ASSIGN_OR_RETURN(out.namespaces, ParseNamespaces(session, nh));
  } else {
    out.namespaces = FlatNamespaces(nh);
  }
  ASSIGN_OR_RETURN(out.mailboxes, ParseList(session, lh));
  return out;
}

absl::StatusOr<MailboxStatus> Status(Session& session, absl::string_view mailbox) {
  Command cmd("STATUS");
  cmd.AString(mailbox).Raw(" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN");
  if (session.HasCapability("CONDSTORE")) cmd.Raw(" HIGHESTMODSEQ");
  cmd.Raw(")");
  CollectHandler h("STATUS");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  MailboxStatus st;
  for (const Response& r : h.responses) {
    if (r.values.size() < 2 || !r.values[1].is_list()) return Malformed(session, "STATUS");
    ParseStatusItems(r.values[1], &st);
  }
  return st;
}

absl::StatusOr<std::vector<absl::StatusOr<MailboxStatus>>> StatusEach(
    Session& session, const std::vector<std::string>& mailboxes, bool with_size) {
  const bool size = with_size && session.HasCapability("STATUS=SIZE");
  std::vector<CollectHandler> handlers(mailboxes.size(), CollectHandler("STATUS"));
  std::vector<std::string> tags;
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    Command cmd("STATUS");
    cmd.AString(mailboxes[i])
        .Raw(size ? " (MESSAGES UIDVALIDITY SIZE)" : " (MESSAGES UIDVALIDITY)");
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd, &handlers[i]));
    tags.push_back(std::move(tag));
  }
  std::vector<absl::StatusOr<MailboxStatus>> out;
  for (size_t i = 0; i < tags.size(); ++i) {
    ASSIGN_OR_RETURN(CommandResult result, session.Wait(tags[i]));
    absl::Status st = session.ResultToStatus(result, "STATUS");
    if (!st.ok()) {
      out.push_back(status::Annotate(st, absl::StrCat("mailbox '", mailboxes[i], "'")));
      continue;
    }
    MailboxStatus ms;
    for (const Response& r : handlers[i].responses) {
      if (r.values.size() < 2 || !r.values[1].is_list()) return Malformed(session, "STATUS");
      ParseStatusItems(r.values[1], &ms);
    }
    out.push_back(ms);
  }
  return out;
}

absl::StatusOr<absl::optional<uint64_t>> MailboxAppendLimit(Session& session,
                                                            absl::string_view mailbox) {
  Command cmd("STATUS");
  cmd.AString(mailbox).Raw(" (APPENDLIMIT)");
  CollectHandler h("STATUS");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  absl::optional<uint64_t> limit;
  for (const Response& r : h.responses) {
    if (r.values.size() < 2 || !r.values[1].is_list()) return Malformed(session, "STATUS");
    const auto& l = r.values[1].list;
    for (size_t i = 0; i + 1 < l.size(); i += 2) {
      if (l[i].IsAtom("APPENDLIMIT")) limit = l[i + 1].AsNumber();  // NIL: none
    }
  }
  return limit;
}

absl::StatusOr<SelectedMailbox> Select(Session& session, absl::string_view mailbox,
                                       bool read_only) {
  Command cmd(read_only ? "EXAMINE" : "SELECT");
  cmd.AString(mailbox);
  SelectHandler h(read_only);
  ASSIGN_OR_RETURN(std::string tag, session.Send(cmd, &h));
  ASSIGN_OR_RETURN(CommandResult result, session.Wait(tag));
  return h.Finish(session, mailbox, result);
}

absl::StatusOr<SelectedMailbox> SelectHandler::Finish(const Session& session,
                                                      absl::string_view mailbox,
                                                      const CommandResult& result) {
  absl::Status st = session.ResultToStatus(result, read_only_ ? "EXAMINE" : "SELECT");
  if (!st.ok()) return status::Annotate(st, absl::StrCat("mailbox '", mailbox, "'"));
  box.read_only = read_only_ || (result.code && result.code->name == "READ-ONLY");
  if (box.uidvalidity == 0) {
    return absl::DataLossError(
        absl::StrCat("IMAP ", session.peer(), ": mailbox '", mailbox, "' has no UIDVALIDITY"));
  }
  return box;
}

absl::Status SelectHandler::OnUntagged(const Response& r) {
  if (r.status == StatusKind::kNone) {
    if (r.name == "EXISTS" && r.number) box.exists = *r.number;
    if (r.name == "FLAGS" && !r.values.empty()) box.flags = AtomTexts(r.values[0]);
    return absl::OkStatus();
  }
  if (r.status != StatusKind::kOk || !r.code) return absl::OkStatus();
  const ResponseCode& c = *r.code;
  auto num = [&]() -> absl::optional<uint64_t> {
    return c.args.empty() ? absl::nullopt : c.args[0].AsNumber();
  };
  if (c.name == "UIDVALIDITY" && num()) box.uidvalidity = *num();
  if (c.name == "UIDNEXT" && num()) box.uidnext = *num();
  if (c.name == "HIGHESTMODSEQ" && num()) box.highestmodseq = num();
  if (c.name == "PERMANENTFLAGS" && !c.args.empty()) box.permanent_flags = AtomTexts(c.args[0]);
  return absl::OkStatus();
}

absl::Status Create(Session& session, absl::string_view mailbox) {
  Command cmd("CREATE");
  cmd.AString(mailbox);
  absl::Status st = session.Execute(cmd);
  return status::Annotate(st, absl::StrCat("mailbox '", mailbox, "'"));
}

absl::StatusOr<std::vector<uint32_t>> UidSearch(Session& session, absl::string_view criteria) {
  Command cmd("UID SEARCH");
  cmd.Atom(criteria);
  CollectHandler h("SEARCH");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  std::vector<uint32_t> uids;
  for (const Response& r : h.responses) {
    for (const Value& v : r.values) {
      auto n = v.AsNumber();
      if (!n || *n == 0 || *n > UINT32_MAX) return Malformed(session, "SEARCH");
      uids.push_back(static_cast<uint32_t>(*n));
    }
  }
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  return uids;
}

absl::Status Noop(Session& session) { return session.Execute(Command("NOOP")); }

absl::Status Logout(Session& session) {
  if (session.closed()) return absl::OkStatus();
  auto tag = session.Send(Command("LOGOUT"));
  absl::Status st = tag.ok() ? session.Wait(*tag).status() : tag.status();
  session.Close();
  // A server that closes right after BYE may cut the tagged OK: that is a clean logout.
  return absl::IsUnavailable(st) ? absl::OkStatus() : st;
}

}  // namespace imap
