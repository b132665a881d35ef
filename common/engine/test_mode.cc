// Test mode for one account: log in with our own client and summarise what the server
// offers (the environment checks run once in the coordinator); with --sizes, every
// folder's messages and bytes (sizes.cc).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/engine/engine_internal.h"
#include "common/status/status_macros.h"

namespace engine::internal {

AccountResult RunTest(Context& ctx) {
  AccountResult result;
  auto session = ctx.Connect();
  if (!session.ok()) {
    result.status = session.status();
    return result;
  }
  imap::Session& s = **session;
  std::vector<std::string> wanted = {"IMAP4rev1",        "IMAP4rev2",   "LITERAL+",  "MULTIAPPEND",
                                     "UIDPLUS",          "SPECIAL-USE", "NAMESPACE", "CONDSTORE",
                                     "COMPRESS=DEFLATE", "MOVE",        "ID"};
  std::vector<std::string> have, lack;
  for (const std::string& c : wanted) (s.HasCapability(c) ? have : lack).push_back(c);
  result.notes.push_back(absl::StrCat("login ok as ", ctx.email(), " at ", s.peer()));
  result.notes.push_back(
      absl::StrCat("capabilities: ", absl::StrJoin(have, " "),
                   lack.empty() ? "" : absl::StrCat(" (lacks ", absl::StrJoin(lack, " "), ")")));
  if (ctx.task.sizes) {
    result.status = ReportSizes(ctx, s, &result);
  } else {
    auto list = imap::List(s);
    size_t selectable = 0;
    for (const auto& f : list.ok() ? *list : std::vector<imap::MailboxInfo>()) {
      selectable += f.selectable() ? 1 : 0;
    }
    if (list.ok()) result.notes.push_back(absl::StrCat(selectable, " selectable folder(s)"));
    result.status = list.status();
  }
  if (!result.status.ok()) {
    result.status = status::Annotate(result.status, absl::StrCat("account ", ctx.email()));
    return result;
  }
  ctx.progress.AddTotals(1, 0);
  ctx.progress.FolderDone("");
  (void)imap::Logout(s);
  return result;
}

}  // namespace engine::internal
