// APPEND and MULTIAPPEND (RFC 3502), with UIDPLUS results (RFC 4315).
#include <deque>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/imap/sequence_set.h"
#include "common/status/status_macros.h"

namespace imap {
namespace {

void AddMessage(Command& cmd, const AppendMessage& m) {
  std::string flags = "(";
  for (const std::string& f : m.flags) {
    if (absl::EqualsIgnoreCase(f, "\\Recent") || !IsFlagSafe(f)) continue;
    if (flags.size() > 1) flags.push_back(' ');
    flags += f;
  }
  flags.push_back(')');
  cmd.Atom(flags);
  if (!m.internaldate.empty()) cmd.String(m.internaldate);
  cmd.Literal(m.body);
}

// APPENDUID uidvalidity uid-set: one result per appended message.
absl::StatusOr<std::vector<AppendResult>> ParseAppendUid(const CommandResult& r, size_t count) {
  std::vector<AppendResult> out(count);
  if (!r.code || r.code->name != "APPENDUID" || r.code->args.size() < 2) return out;
  auto validity = r.code->args[0].AsNumber();
  if (!validity) return out;
  auto uids = ParseSequenceSet(r.code->args[1].text(), count);
  if (!uids.ok() || uids->size() != count) return out;  // unusable: act as without UIDPLUS
  for (size_t i = 0; i < count; ++i) out[i] = AppendResult{*validity, (*uids)[i]};
  return out;
}

absl::Status AppendFailure(const Session& s, const CommandResult& r, absl::string_view mailbox) {
  return status::Annotate(s.ResultToStatus(r, "APPEND"), absl::StrCat("mailbox '", mailbox, "'"));
}

}  // namespace

bool IsFlagSafe(absl::string_view flag) {
  if (flag.empty()) return false;
  absl::string_view body = flag[0] == '\\' ? flag.substr(1) : flag;
  return IsAtomSafe(body);
}

absl::StatusOr<AppendResult> Append(Session& session, absl::string_view mailbox,
                                    const AppendMessage& message) {
  Command cmd("APPEND");
  cmd.AString(mailbox);
  AddMessage(cmd, message);
  CommandResult r;
  ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
  ASSIGN_OR_RETURN(r, session.Wait(tag));
  if (r.status != StatusKind::kOk) return AppendFailure(session, r, mailbox);
  ASSIGN_OR_RETURN(std::vector<AppendResult> res, ParseAppendUid(r, 1));
  return res[0];
}

absl::StatusOr<std::vector<AppendResult>> AppendMany(Session& session, absl::string_view mailbox,
                                                     const std::vector<AppendMessage>& messages) {
  if (messages.empty()) return std::vector<AppendResult>();
  if (session.HasCapability("MULTIAPPEND")) {
    Command cmd("APPEND");
    cmd.AString(mailbox);
    for (const AppendMessage& m : messages) AddMessage(cmd, m);
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
    ASSIGN_OR_RETURN(CommandResult r, session.Wait(tag));
    if (r.status != StatusKind::kOk) return AppendFailure(session, r, mailbox);
    return ParseAppendUid(r, messages.size());
  }
  // Pipelined single APPENDs: every tag is collected even after a failure.
  std::vector<std::string> tags;
  tags.reserve(messages.size());
  for (const AppendMessage& m : messages) {
    Command cmd("APPEND");
    cmd.AString(mailbox);
    AddMessage(cmd, m);
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
    tags.push_back(std::move(tag));
  }
  std::vector<AppendResult> out;
  absl::Status first_error;
  for (const std::string& tag : tags) {
    ASSIGN_OR_RETURN(CommandResult r, session.Wait(tag));
    if (r.status != StatusKind::kOk && first_error.ok()) {
      first_error = AppendFailure(session, r, mailbox);
    }
    ASSIGN_OR_RETURN(std::vector<AppendResult> one, ParseAppendUid(r, 1));
    out.push_back(one[0]);
  }
  if (!first_error.ok()) return first_error;
  return out;
}

absl::StatusOr<std::vector<absl::Status>> AppendEach(Session& session, absl::string_view mailbox,
                                                     const std::vector<AppendMessage>& messages) {
  std::vector<std::string> tags;
  tags.reserve(messages.size());
  for (const AppendMessage& m : messages) {
    Command cmd("APPEND");
    cmd.AString(mailbox);
    AddMessage(cmd, m);
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
    tags.push_back(std::move(tag));
  }
  std::vector<absl::Status> out;
  out.reserve(tags.size());
  for (const std::string& tag : tags) {
    ASSIGN_OR_RETURN(CommandResult r, session.Wait(tag));
    out.push_back(r.status == StatusKind::kOk ? absl::OkStatus()
                                              : AppendFailure(session, r, mailbox));
  }
  return out;
}

}  // namespace imap
