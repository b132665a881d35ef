#include "common/imap/sequence_set.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace imap {

std::string FormatSequenceSet(const std::vector<uint32_t>& uids) {
  std::string out;
  size_t i = 0;
  while (i < uids.size()) {
    size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out.push_back(',');
    absl::StrAppend(&out, uids[i]);
    if (j > i) absl::StrAppend(&out, ":", uids[j]);
    i = j + 1;
  }
  return out;
}

absl::StatusOr<std::vector<uint32_t>> ParseSequenceSet(absl::string_view set, size_t max_count) {
  std::vector<uint32_t> out;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad sequence set '", set.substr(0, 60), "': ", why));
  };
  if (set.empty()) return bad("empty");
  for (absl::string_view item : absl::StrSplit(set, ',')) {
    std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(item, ':');
    uint32_t a = 0, b = 0;
    if (!absl::SimpleAtoi(range.first, &a) || a == 0) return bad("not a number");
    b = a;
    if (!range.second.empty() && (!absl::SimpleAtoi(range.second, &b) || b == 0)) {
      return bad("not a number");
    }
    const uint64_t lo = std::min(a, b), hi = std::max(a, b);
    if (out.size() + (hi - lo + 1) > max_count) return bad("too many numbers");
    for (uint64_t v = lo; v <= hi; ++v) out.push_back(static_cast<uint32_t>(v));
  }
  return out;
}

}  // namespace imap
