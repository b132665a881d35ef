#include "common/engine/identity.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
  for (absl::string_view f : absl::StrSplit(kDigestFields, ' ')) {
    if (absl::EqualsIgnoreCase(name, f)) return true;
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
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }
}  // namespace

void TextDigester::Body(char c) {
  if (IsBlank(c)) return;
  body_.push_back(c);
  if (body_.size() >= 64 * 1024) {
    hash_.Update(body_);
    body_.clear();
  }
}

// The header's end as HeaderDigest's NextLine reads line ends: LF, CRs then LF (one end),
// or a CR before anything else (each CR one end, so a second one ends an empty line).
void TextDigester::Update(absl::string_view chunk) {
  for (char c : chunk) {
    if (in_body_) {
      Body(c);
    } else if (c == '\r') {
      ++crs_;
    } else if (c == '\n') {
      in_body_ = line_ == 0;  // an empty line ends the header
      line_ = crs_ = 0;
    } else if (c != '\0') {
      if (crs_ > 0 && (line_ == 0 || crs_ > 1)) {
        in_body_ = true;
        Body(c);
        continue;
      }
      line_ = crs_ > 0 ? 1 : line_ + 1;
      crs_ = 0;
    }
  }
}

std::string TextDigester::Finish() {
  hash_.Update(body_);
  body_.clear();
  return hash_.HexDigest();
}

std::string TextDigest(absl::string_view message) {
  TextDigester d;
  d.Update(message);
  return d.Finish();
}

namespace {
// B's messages not matched yet: coarse identity (a view of the target's key) -> index.
using Present = std::multimap<absl::string_view, size_t>;

// Takes a message of B with the coarse identity `key` out of `present`; false when there is
// none. With `any_date` (a message exported without a date), `key` is the identity without
// its date, which starts every key of that message.
bool TakeIdentity(Present* present, absl::string_view key, bool any_date) {
  auto it = any_date ? present->lower_bound(key) : present->find(key);
  if (it == present->end() || (any_date && !absl::StartsWith(it->first, key))) return false;
  present->erase(it);
  return true;
}
}  // namespace

IdentityMatch::IdentityMatch(std::map<std::string, MessageMeta> local,
                             std::vector<TargetMessage> target)
    : target_(std::move(target)) {
  local_.reserve(local.size());
  while (!local.empty()) {
    auto node = local.extract(local.begin());
    local_.emplace_back(std::move(node.key()), std::move(node.mapped()));
  }
  std::vector<size_t> dated;  // sorted by identity: the copies of one identity adjacent
  keys_.resize(local_.size());
  for (size_t i = 0; i < local_.size(); ++i) {
    const MessageMeta& m = local_[i].second;
    keys_[i] = IdentityKey(m.message_id, m.size, m.internaldate);
    if (!m.internaldate.empty()) dated.push_back(i);
  }
  std::stable_sort(dated.begin(), dated.end(),
                   [&](size_t x, size_t y) { return keys_[x] < keys_[y]; });
  for (size_t at = 0, end = 0; at < dated.size(); at = end) {
    bool different = false;  // contents within the identity
    for (end = at + 1; end < dated.size() && keys_[dated[end]] == keys_[dated[at]]; ++end) {
      different |= local_[dated[end]].second.sha256 != local_[dated[at]].second.sha256;
    }
    if (!different) continue;
    Group& g = ambiguous_[keys_[dated[at]]];
    for (size_t k = at; k < end; ++k)
      g.contents[local_[dated[k]].second.sha256].push_back(dated[k]);
  }
  if (ambiguous_.empty()) return;
  for (size_t j = 0; j < target_.size(); ++j) {
    auto it = ambiguous_.find(target_[j].key);
    if (it == ambiguous_.end()) continue;
    it->second.target.push_back(j);
    by_uid_[target_[j].uid] = j;
    asked_[j].size = target_[j].size;
  }
  // An identity B does not hold at all is missing whole: nothing to tell apart.
  for (auto it = ambiguous_.begin(); it != ambiguous_.end();) {
    it = it->second.target.empty() ? ambiguous_.erase(it) : std::next(it);
  }
}

std::vector<std::string> IdentityMatch::LocalDigestsNeeded() const {
  std::vector<std::string> out;
  for (const auto& [key, g] : ambiguous_) {
    for (const auto& [sha, copies] : g.contents) {
      for (size_t i : copies) {
        if (local_[i].second.header_digest.empty()) out.push_back(local_[i].first);
      }
    }
  }
  return out;
}

MessageMeta* IdentityMatch::FindLocal(const std::string& base) {
  auto it =
      std::lower_bound(local_.begin(), local_.end(), base,
                       [](const auto& entry, const std::string& b) { return entry.first < b; });
  return it != local_.end() && it->first == base ? &it->second : nullptr;
}

void IdentityMatch::SetLocalDigest(const std::string& base, std::string digest) {
  if (MessageMeta* m = FindLocal(base)) m->header_digest = std::move(digest);
}

std::vector<uint32_t> IdentityMatch::TargetDigestsNeeded() const {
  std::vector<uint32_t> out;
  for (const auto& [key, g] : ambiguous_) {
    for (size_t j : g.target) out.push_back(target_[j].uid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

IdentityMatch::Asked* IdentityMatch::FindAsked(uint32_t uid) {
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : &asked_[it->second];
}

void IdentityMatch::SetTargetDigest(uint32_t uid, std::string digest, uint64_t size) {
  if (Asked* t = FindAsked(uid)) {
    t->digest = std::move(digest);
    t->size = size;
  }
}

void IdentityMatch::SetTargetBytes(uint32_t uid, std::string sha256, std::string text) {
  if (Asked* t = FindAsked(uid)) {
    t->sha256 = std::move(sha256);
    t->text = std::move(text);
  }
}

void IdentityMatch::SetLocalText(const std::string& base, std::string text) {
  if (MessageMeta* m = FindLocal(base)) texts_[m->sha256] = std::move(text);
}

int IdentityMatch::Closeness(const Asked& t, const std::string& sha, size_t copy) const {
  const MessageMeta& m = local_[copy].second;
  if (t.sha256 && *t.sha256 == sha) return 0;
  if (!t.digest || *t.digest != m.header_digest) return kUnrelated;
  auto text = texts_.find(sha);
  const bool same_text = t.text && text != texts_.end() && text->second == *t.text;
  if (t.size == m.size) return same_text ? 1 : 2;
  return same_text ? 3 : 4;
}

int IdentityMatch::Closest(const Group& g, const Asked& t,
                           std::vector<const std::string*>* shas) const {
  int best = kUnrelated;
  for (const auto& [sha, copies] : g.contents) {
    const int c = Closeness(t, sha, copies[0]);
    if (c < best) shas->clear();
    if (c <= best && c < kUnrelated) shas->push_back(&sha);
    best = std::min(best, c);
  }
  return best;
}

std::vector<uint32_t> IdentityMatch::TargetBytesNeeded() const {
  std::vector<uint32_t> out;
  for (const auto& [key, g] : ambiguous_) {
    for (size_t j : g.target) {
      std::vector<const std::string*> shas;
      const Asked& t = asked_.at(j);
      if (!t.sha256 && Closest(g, t, &shas) < kUnrelated && shas.size() > 1) {
        out.push_back(target_[j].uid);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> IdentityMatch::LocalTextsNeeded() const {
  std::set<std::string> out;
  for (const auto& [key, g] : ambiguous_) {
    for (size_t j : g.target) {
      const Asked& t = asked_.at(j);
      std::vector<const std::string*> closest;
      if (!t.text || Closest(g, t, &closest) == 0) continue;  // no text, or its very bytes
      for (const auto& [sha, copies] : g.contents) {
        if (Closeness(t, sha, copies[0]) < kUnrelated && !texts_.count(sha)) {
          out.insert(local_[copies[0]].first);
        }
      }
    }
  }
  return std::vector<std::string>(out.begin(), out.end());
}

void IdentityMatch::MatchGroup(const Group& g, std::set<size_t>* matched,
                               std::vector<std::pair<std::string, MessageMeta>>* missing) const {
  // Each B message with the contents it is closest to: the closest pairs first, then the
  // closest sizes. One related to none (B rewrote the compared fields) may be any of them,
  // as the coarse identity alone would say: it fills a copy the others left over.
  std::vector<std::tuple<int, uint64_t, size_t, const std::string*>> pairs;
  for (size_t j : g.target) {
    const Asked& t = asked_.at(j);
    std::vector<const std::string*> shas;
    const int level = Closest(g, t, &shas);
    if (level == kUnrelated) {
      for (const auto& [sha, copies] : g.contents) shas.push_back(&sha);
    }
    for (const std::string* sha : shas) {
      const uint64_t size = local_[g.contents.at(*sha)[0]].second.size;
      pairs.emplace_back(level, t.size > size ? t.size - size : size - t.size, j, sha);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::map<std::string, size_t> held;  // copies of each content B holds
  for (const auto& [level, distance, j, sha] : pairs) {
    if (matched->count(j) || held[*sha] == g.contents.at(*sha).size()) continue;
    matched->insert(j);
    held[*sha] += 1;
  }
  for (const auto& [sha, copies] : g.contents) {
    for (size_t k = held[sha]; k < copies.size(); ++k) missing->push_back(local_[copies[k]]);
  }
}

void IdentityMatch::Diff(std::vector<std::pair<std::string, MessageMeta>>* missing,
                         std::vector<TargetMessage>* extra, FolderResult* r) const {
  r->target_messages = target_.size();
  missing->clear();
  std::set<size_t> matched, grouped;
  for (const auto& [key, g] : ambiguous_) {
    MatchGroup(g, &matched, missing);
    for (const auto& [sha, copies] : g.contents) grouped.insert(copies.begin(), copies.end());
  }
  Present present;
  for (size_t j = 0; j < target_.size(); ++j) {
    if (!matched.count(j)) present.emplace(target_[j].key, j);
  }
  std::vector<size_t> undated;
  for (size_t i = 0; i < local_.size(); ++i) {
    if (grouped.count(i)) continue;
    if (local_[i].second.internaldate.empty()) {
      undated.push_back(i);
    } else if (!TakeIdentity(&present, keys_[i], /*any_date=*/false)) {
      missing->push_back(local_[i]);
    }
  }
  for (size_t i : undated) {
    if (!TakeIdentity(&present, keys_[i], /*any_date=*/true)) missing->push_back(local_[i]);
  }
  std::sort(missing->begin(), missing->end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  r->missing = missing->size();
  r->extra = present.size();
  extra->clear();
  for (const auto& [key, j] : present) extra->push_back(target_[j]);
}

}  // namespace engine
