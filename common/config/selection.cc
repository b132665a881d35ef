#include "common/config/selection.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace config {
namespace {

bool IsDay(const std::string& text) {
  absl::Time t;
  std::string error;
  return text.size() == 10 && absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error);
}

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

void CheckRegex(const char* field, const std::string& pattern, std::vector<std::string>* out) {
  if (pattern.empty()) return;
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok())
    out->push_back(absl::StrCat(field, ": not a valid regular expression: ", re.error()));
}

}  // namespace

std::vector<std::string> SelectionProblems(const Selection& s) {
  std::vector<std::string> out;
  CheckRegex("include_folders", s.include_folders, &out);
  CheckRegex("exclude_folders", s.exclude_folders, &out);
  for (const std::string& use : s.skip_special_use) {
    if (use.size() < 2 || use[0] != '\\' || !absl::ascii_isalpha(use[1])) {
      out.push_back(absl::StrCat("skip_special_use: \"", use,
                                 "\" is not a special use (\\Junk, \\Trash, \\Sent, ...)"));
    }
  }
  if (!s.since.empty() && !IsDay(s.since))
    out.push_back("since: must be YYYY-MM-DD, got " + s.since);
  if (!s.before.empty() && !IsDay(s.before)) {
    out.push_back("before: must be YYYY-MM-DD, got " + s.before);
  }
  if (s.max_age_days < 0 || s.min_age_days < 0)
    out.push_back("max_age_days/min_age_days: negative");
  if (s.max_size > 0 && s.min_size > s.max_size) {
    out.push_back(absl::StrCat("min_size (", s.min_size, ") is above max_size (", s.max_size, ")"));
  }
  return out;
}

Selection ResolveSelection(Selection s, absl::Time now) {
  if (s.max_age_days > 0) {
    std::string since = Day(now - absl::Hours(24) * s.max_age_days);
    if (s.since.empty() || since > s.since) s.since = since;  // the later start wins
    s.max_age_days = 0;
  }
  if (s.min_age_days > 0) {
    std::string before = Day(now - absl::Hours(24) * (s.min_age_days - 1));
    if (s.before.empty() || before < s.before) s.before = before;  // the earlier end wins
    s.min_age_days = 0;
  }
  return s;
}

}  // namespace config
