#include "common/config/folder_map.h"

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace config {

std::vector<std::string> FolderMapProblems(const FolderMap& m) {
  std::vector<std::string> out;
  for (size_t i = 0; i < m.rules.size(); ++i) {
    const FolderRule& r = m.rules[i];
    const std::string at = absl::StrCat("rules[", i, "]");
    if (r.from.empty() == r.regex.empty()) out.push_back(at + ": give one of from and regex");
    if (r.to.empty()) out.push_back(at + ".to: missing");
    if (!r.regex.empty()) {
      RE2 re(r.regex, RE2::Quiet);
      std::string error;
      if (!re.ok()) {
        out.push_back(absl::StrCat(at, ".regex: not a valid regular expression: ", re.error()));
      } else if (!re.CheckRewriteString(r.to, &error)) {
        out.push_back(absl::StrCat(at, ".to: ", error));
      }
    }
  }
  if (m.target != "imap" && m.target != "exchange" && m.target != "gmail") {
    out.push_back("target: must be imap, exchange or gmail, got \"" + m.target + "\"");
  }
  return out;
}

}  // namespace config
