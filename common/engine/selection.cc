#include "common/engine/selection.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "re2/re2.h"

namespace engine {
namespace {

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "2020-01-31" → "31-Jan-2020" (an IMAP date).
std::string ImapDate(const std::string& day) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(day.c_str(), "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12) return day;
  return absl::StrCat(d, "-", kMonths[m - 1], "-", y);
}

// The day of an IMAP date-time ("7-Feb-2021 10:00:00 +0100", leading space or not) as
// "2021-02-07", or "" when it is not one.
std::string DayOf(absl::string_view internaldate) {
  internaldate = absl::StripLeadingAsciiWhitespace(internaldate);
  size_t dash1 = internaldate.find('-');
  if (dash1 == absl::string_view::npos) return "";
  size_t dash2 = internaldate.find('-', dash1 + 1);
  if (dash2 == absl::string_view::npos || dash2 + 5 > internaldate.size()) return "";
  int day = 0, year = 0;
  if (!absl::SimpleAtoi(internaldate.substr(0, dash1), &day) ||
      !absl::SimpleAtoi(internaldate.substr(dash2 + 1, 4), &year)) {
    return "";
  }
  absl::string_view month = internaldate.substr(dash1 + 1, dash2 - dash1 - 1);
  for (int m = 0; m < 12; ++m) {
    if (absl::EqualsIgnoreCase(month, kMonths[m])) {
      char out[16];
      std::snprintf(out, sizeof(out), "%04d-%02d-%02d", year, m + 1, day);
      return out;
    }
  }
  return "";
}

}  // namespace

Selector::Selector(const config::Selection& selection) : selection_(selection) {
  if (!selection.include_folders.empty()) {
    include_ = std::make_unique<re2::RE2>(selection.include_folders, re2::RE2::Quiet);
  }
  if (!selection.exclude_folders.empty()) {
    exclude_ = std::make_unique<re2::RE2>(selection.exclude_folders, re2::RE2::Quiet);
  }
}

Selector::~Selector() = default;

bool Selector::FolderSelected(absl::string_view name, absl::string_view special_use,
                              std::string* why) const {
  auto no = [why](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
  };
  if (include_ != nullptr &&
      !re2::RE2::PartialMatch(re2::StringPiece(name.data(), name.size()), *include_)) {
    return no("not matched by include_folders");
  }
  if (exclude_ != nullptr &&
      re2::RE2::PartialMatch(re2::StringPiece(name.data(), name.size()), *exclude_)) {
    return no("matched by exclude_folders");
  }
  for (const std::string& use : selection_.skip_special_use) {
    if (!special_use.empty() && absl::EqualsIgnoreCase(use, special_use)) {
      return no(absl::StrCat("special use ", special_use, " is skipped"));
    }
  }
  return true;
}

std::string Selector::SearchCriteria() const {
  std::vector<std::string> terms;
  if (!selection_.since.empty()) terms.push_back("SINCE " + ImapDate(selection_.since));
  if (!selection_.before.empty()) terms.push_back("BEFORE " + ImapDate(selection_.before));
  if (selection_.min_size > 0) terms.push_back(absl::StrCat("LARGER ", selection_.min_size - 1));
  if (selection_.max_size > 0) terms.push_back(absl::StrCat("SMALLER ", selection_.max_size + 1));
  return terms.empty() ? "ALL" : absl::StrJoin(terms, " ");
}

bool Selector::MessageSelected(absl::string_view internaldate, uint64_t size) const {
  if (selection_.min_size > 0 && size < selection_.min_size) return false;
  if (selection_.max_size > 0 && size > selection_.max_size) return false;
  if (selection_.since.empty() && selection_.before.empty()) return true;
  const std::string day = DayOf(internaldate);
  if (day.empty()) return true;
  if (!selection_.since.empty() && day < selection_.since) return false;
  if (!selection_.before.empty() && day >= selection_.before) return false;
  return true;
}

namespace {
int CrossDuplicateRank(const RankedFolder& f) {
  if (absl::EqualsIgnoreCase(f.name, "INBOX")) return 0;
  const std::string use = absl::AsciiStrToLower(f.special_use);
  if (use == "\\sent" || use == "\\drafts") return 1;
  if (use == "\\flagged" || use == "\\important") return 3;
  if (use == "\\all") return 4;
  if (use == "\\junk" || use == "\\trash") return 5;
  return 2;  // no special use, \Archive, any other
}
}  // namespace

std::vector<size_t> CrossDuplicateOrder(const std::vector<RankedFolder>& folders) {
  std::vector<size_t> order(folders.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return std::make_tuple(CrossDuplicateRank(folders[x]), folders[x].name) <
           std::make_tuple(CrossDuplicateRank(folders[y]), folders[y].name);
  });
  return order;
}

}  // namespace engine
