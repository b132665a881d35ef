#include "common/engine/identity.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/sha256.h"
#include "common/imap/date.h"

namespace engine {

std::string IdentityKey(absl::string_view message_id, uint64_t size,
                        absl::string_view internaldate) {
  auto t = imap::ParseInternalDate(internaldate);
  std::string date = t.ok() ? absl::StrCat(absl::ToUnixSeconds(*t)) : std::string(internaldate);
  // With a Message-ID the size is left out: servers may rewrite a message slightly (line
  // endings, a trailing CR) and it must still count as present, or every --resync-missing
  // would append it again.
  if (!message_id.empty()) return absl::StrCat("id\x1f", message_id, "\x1f", date);
  return absl::StrCat("size\x1f", size, "\x1f", date);
}

namespace {

bool IsDigestField(absl::string_view name) {
  static const char* const kNames[] = {"date", "from",    "sender",      "to",
                                       "cc",   "subject", "in-reply-to", "references"};
  for (const char* n : kNames) {
    if (absl::EqualsIgnoreCase(name, n)) return true;
  }
  return false;
}

// Appends the bytes of `value` that are not white space (nor line ends, nor NUL).
void AppendCompact(absl::string_view value, std::string* out) {
  for (char c : value) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0') out->push_back(c);
  }
}

// The next line of `text` at *pos, without its end, and *pos past that end. A line ends at
// a LF, at a run of CRs followed by a LF, or at a CR followed by anything else: as the
// repair (imap/message_repair.h) turns each of those into one CRLF.
absl::string_view NextLine(absl::string_view text, size_t* pos) {
  const size_t start = *pos;
  const size_t eol = text.find_first_of("\r\n", start);
  if (eol == absl::string_view::npos) {
    *pos = text.size();
    return text.substr(start);
  }
  size_t p = eol;
  while (p < text.size() && text[p] == '\r') ++p;
  *pos = p < text.size() && text[p] == '\n' ? p + 1 : eol + 1;
  return text.substr(start, eol - start);
}

}  // namespace

std::string HeaderDigest(absl::string_view text, bool* ended) {
  std::vector<std::string> fields;
  std::string field;  // the digest field being read ("" when the current one is not)
  size_t pos = 0;
  bool end = false;
  while (pos < text.size() && !end) {
    std::string line(NextLine(text, &pos));
    line.erase(std::remove(line.begin(), line.end(), '\0'), line.end());
    if (line.empty()) {
      end = true;
    } else if (line[0] == ' ' || line[0] == '\t') {
      if (!field.empty()) AppendCompact(line, &field);
    } else {
      if (!field.empty()) fields.push_back(std::move(field));
      field.clear();
      // "Name: value"; a name with white space before its colon is not a field name.
      const size_t colon = line.find(':');
      absl::string_view name = absl::string_view(line).substr(0, colon);
      if (colon != std::string::npos && colon > 0 && !absl::ascii_isspace(name.back()) &&
          IsDigestField(name)) {
        field = absl::StrCat(absl::AsciiStrToLower(name), ":");
        AppendCompact(absl::string_view(line).substr(colon + 1), &field);
      }
    }
  }
  if (!field.empty()) fields.push_back(std::move(field));
  if (ended != nullptr) *ended = end;
  std::sort(fields.begin(), fields.end());
  return crypto::Sha256Hex(absl::StrJoin(fields, "\n"));
}

namespace {
constexpr int kUnrelated = 3;
// How B's message `t` relates to the exported content `m` (bytes `sha`) of its coarse
// identity: 0 the same bytes, 1 the same digest and size, 2 the same digest (B rewrote
// it), kUnrelated none of these. A message is only ever taken for its closest contents.
int Closeness(const TargetMessage& t, const std::string& sha, const MessageMeta& m) {
  if (t.sha256 && *t.sha256 == sha) return 0;
  if (!t.digest || *t.digest != m.header_digest) return kUnrelated;
  return t.size == m.size ? 1 : 2;
}
}  // namespace

bool TakeIdentity(std::multiset<std::string>* present, const MessageMeta& meta, uint64_t size) {
  if (meta.internaldate.empty()) {
    // The key without its date: every key of that message starts with it.
    const std::string prefix = IdentityKey(meta.message_id, size, "");
    auto it = present->lower_bound(prefix);
    if (it == present->end() || !absl::StartsWith(*it, prefix)) return false;
    present->erase(it);
    return true;
  }
  auto it = present->find(IdentityKey(meta.message_id, size, meta.internaldate));
  if (it == present->end()) return false;
  present->erase(it);
  return true;
}

IdentityMatch::IdentityMatch(std::map<std::string, MessageMeta> local,
                             std::vector<TargetMessage> target)
    : target_(std::move(target)) {
  local_.reserve(local.size());
  while (!local.empty()) {
    auto node = local.extract(local.begin());
    local_.emplace_back(std::move(node.key()), std::move(node.mapped()));
  }
  std::map<std::string, std::vector<size_t>> by_key;  // dated exported messages
  for (size_t i = 0; i < local_.size(); ++i) {
    const MessageMeta& m = local_[i].second;
    if (!m.internaldate.empty())
      by_key[IdentityKey(m.message_id, m.size, m.internaldate)].push_back(i);
  }
  for (auto& [key, indices] : by_key) {
    std::set<std::string> contents;
    for (size_t i : indices) contents.insert(local_[i].second.sha256);
    if (contents.size() > 1) ambiguous_[key].local = std::move(indices);
  }
  if (ambiguous_.empty()) return;
  for (size_t j = 0; j < target_.size(); ++j) {
    auto it = ambiguous_.find(target_[j].key);
    if (it == ambiguous_.end()) continue;
    it->second.target.push_back(j);
    by_uid_[target_[j].uid] = j;
  }
  // An identity B does not hold at all is missing whole: nothing to tell apart.
  for (auto it = ambiguous_.begin(); it != ambiguous_.end();) {
    it = it->second.target.empty() ? ambiguous_.erase(it) : std::next(it);
  }
}

std::vector<std::string> IdentityMatch::LocalDigestsNeeded() const {
  std::vector<std::string> out;
  for (const auto& [key, g] : ambiguous_) {
    for (size_t i : g.local) {
      if (local_[i].second.header_digest.empty()) out.push_back(local_[i].first);
    }
  }
  return out;
}

void IdentityMatch::SetLocalDigest(const std::string& base, std::string digest) {
  auto it =
      std::lower_bound(local_.begin(), local_.end(), base,
                       [](const auto& entry, const std::string& b) { return entry.first < b; });
  if (it != local_.end() && it->first == base) it->second.header_digest = std::move(digest);
}

std::vector<uint32_t> IdentityMatch::TargetDigestsNeeded() const {
  std::vector<uint32_t> out;
  for (const auto& [key, g] : ambiguous_) {
    for (size_t j : g.target) out.push_back(target_[j].uid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TargetMessage* IdentityMatch::FindTarget(uint32_t uid) {
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : &target_[it->second];
}

void IdentityMatch::SetTargetDigest(uint32_t uid, std::string digest, uint64_t size) {
  if (TargetMessage* t = FindTarget(uid)) {
    t->digest = std::move(digest);
    t->size = size;
  }
}

void IdentityMatch::SetTargetSha256(uint32_t uid, std::string sha256) {
  if (TargetMessage* t = FindTarget(uid)) t->sha256 = std::move(sha256);
}

std::vector<uint32_t> IdentityMatch::TargetBytesNeeded() const {
  std::vector<uint32_t> out;
  for (const auto& [key, g] : ambiguous_) {
    // (digest, size) -> the different contents exported with them.
    std::map<std::pair<std::string, uint64_t>, std::set<std::string>> shared;
    for (size_t i : g.local) {
      const MessageMeta& m = local_[i].second;
      shared[{m.header_digest, m.size}].insert(m.sha256);
    }
    for (size_t j : g.target) {
      const TargetMessage& t = target_[j];
      if (!t.digest) continue;
      auto it = shared.find({*t.digest, t.size});
      if (it != shared.end() && it->second.size() > 1) out.push_back(t.uid);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void IdentityMatch::MatchGroup(const Group& g, std::set<size_t>* matched,
                               std::vector<std::pair<std::string, MessageMeta>>* missing) const {
  // The group's exported contents (by sha256), each with its copies and how many B holds.
  struct Content {
    const MessageMeta* meta;
    std::vector<size_t> copies;
    size_t held = 0;
  };
  std::map<std::string, Content> contents;
  for (size_t i : g.local) {
    Content& c =
        contents.emplace(local_[i].second.sha256, Content{&local_[i].second, {}, 0}).first->second;
    c.copies.push_back(i);
  }
  // Each B message with the exported contents it is closest to (see Closeness), the
  // closest pairs first, then the closest sizes.
  std::vector<std::tuple<int, uint64_t, size_t, Content*>> pairs;
  for (size_t j : g.target) {
    const TargetMessage& t = target_[j];
    int best = kUnrelated;
    for (const auto& [sha, c] : contents) best = std::min(best, Closeness(t, sha, *c.meta));
    for (auto& [sha, c] : contents) {
      if (best == kUnrelated || Closeness(t, sha, *c.meta) != best) continue;
      const uint64_t distance =
          t.size > c.meta->size ? t.size - c.meta->size : c.meta->size - t.size;
      pairs.emplace_back(best, distance, j, &c);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) {
    return std::tie(std::get<0>(x), std::get<1>(x), std::get<2>(x)) <
           std::tie(std::get<0>(y), std::get<1>(y), std::get<2>(y));
  });
  for (const auto& [level, distance, j, c] : pairs) {
    if (matched->count(j) || c->held == c->copies.size()) continue;
    matched->insert(j);
    c->held += 1;
  }
  for (const auto& [sha, c] : contents) {
    for (size_t k = c.held; k < c.copies.size(); ++k) missing->push_back(local_[c.copies[k]]);
  }
}

void IdentityMatch::Diff(std::vector<std::pair<std::string, MessageMeta>>* missing,
                         std::multiset<std::string>* extra, FolderResult* r) const {
  r->target_messages = target_.size();
  missing->clear();
  std::set<size_t> matched, grouped;
  for (const auto& [key, g] : ambiguous_) {
    MatchGroup(g, &matched, missing);
    grouped.insert(g.local.begin(), g.local.end());
  }
  std::multiset<std::string> present;
  for (size_t j = 0; j < target_.size(); ++j) {
    if (!matched.count(j)) present.insert(target_[j].key);
  }
  // Undated messages are matched after every dated one, so they never take a dated one's
  // match.
  std::vector<size_t> undated;
  for (size_t i = 0; i < local_.size(); ++i) {
    const MessageMeta& meta = local_[i].second;
    if (grouped.count(i)) continue;
    if (meta.internaldate.empty()) {
      undated.push_back(i);
    } else if (!TakeIdentity(&present, meta, meta.size)) {
      missing->push_back(local_[i]);
    }
  }
  for (size_t i : undated) {
    if (!TakeIdentity(&present, local_[i].second, local_[i].second.size)) {
      missing->push_back(local_[i]);
    }
  }
  std::sort(missing->begin(), missing->end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  r->missing = missing->size();
  r->extra = present.size();
  *extra = std::move(present);
}

}  // namespace engine
