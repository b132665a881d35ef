// Mailbox commands: NAMESPACE, LIST, STATUS, SELECT/EXAMINE, CREATE, UID SEARCH, NOOP,
// LOGOUT.
#include <algorithm>

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

absl::StatusOr<std::vector<MailboxInfo>> List(Session& session, absl::string_view pattern) {
  Command cmd("LIST");
  cmd.String("").String(pattern);
  if (session.HasCapability("SPECIAL-USE")) cmd.Atom("RETURN (SPECIAL-USE)");
  CollectHandler h("LIST");
  RETURN_IF_ERROR(session.Execute(cmd, &h));
  std::vector<MailboxInfo> out;
  out.reserve(h.responses.size());
  for (const Response& r : h.responses) {
    ASSIGN_OR_RETURN(MailboxInfo info, ParseListResponse(session, r));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<Namespaces> GetNamespaces(Session& session) {
  Namespaces ns;
  if (!session.HasCapability("NAMESPACE")) {
    // RFC 3501 §6.3.8: LIST "" "" gives the hierarchy delimiter.
    Command cmd("LIST");
    cmd.String("").String("");
    CollectHandler h("LIST");
    RETURN_IF_ERROR(session.Execute(cmd, &h));
    char delim = h.responses.empty() || h.responses[0].values.size() < 2
                     ? 0
                     : DelimiterOf(h.responses[0].values[1]);
    ns.personal.push_back(NamespaceEntry{"", delim});
    return ns;
  }
  CollectHandler h("NAMESPACE");
  RETURN_IF_ERROR(session.Execute(Command("NAMESPACE"), &h));
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
    const auto& l = r.values[1].list;
    for (size_t i = 0; i + 1 < l.size(); i += 2) {
      auto n = l[i + 1].AsNumber();
      if (!n) continue;
      if (l[i].IsAtom("MESSAGES")) st.messages = n;
      if (l[i].IsAtom("UIDNEXT")) st.uidnext = n;
      if (l[i].IsAtom("UIDVALIDITY")) st.uidvalidity = n;
      if (l[i].IsAtom("UNSEEN")) st.unseen = n;
      if (l[i].IsAtom("HIGHESTMODSEQ")) st.highestmodseq = n;
    }
  }
  return st;
}

namespace {

class SelectHandler : public ResponseHandler {
 public:
  absl::Status OnUntagged(const Response& r) override {
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
  SelectedMailbox box;
};

}  // namespace

absl::StatusOr<SelectedMailbox> Select(Session& session, absl::string_view mailbox,
                                       bool read_only) {
  Command cmd(read_only ? "EXAMINE" : "SELECT");
  cmd.AString(mailbox);
  SelectHandler h;
  CommandResult result;
  absl::Status st = session.Execute(cmd, &h, &result);
  if (!st.ok()) return status::Annotate(st, absl::StrCat("mailbox '", mailbox, "'"));
  h.box.read_only = read_only || (result.code && result.code->name == "READ-ONLY");
  if (h.box.uidvalidity == 0) {
    return absl::DataLossError(absl::StrCat("IMAP ", session.peer(), ": mailbox '", mailbox,
                                            "' has no UIDVALIDITY"));
  }
  return h.box;
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
