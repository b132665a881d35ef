// Message identity for idempotent import and validation (README "Message identity").
// Pure: no I/O (identity_scan.cc reads server B and the store for it).
//
// Every folder is compared as a multiset: import appends, per identity, what the export
// holds beyond what server B holds, never more; validate counts the same difference.
//   - The coarse identity (IdentityKey) is what B's scan reads of every message: the
//     INTERNALDATE instant with the Message-ID, or with the size for a message without one.
//     It ignores how B stored the bytes (with a Message-ID, B may rewrite the message).
//   - Byte-identical copies (the same sha256) are one content counted as often as they are
//     exported.
//   - When the export holds different contents under one coarse identity that B also
//     holds, the coarse identity cannot tell them apart. For those identities only, B's
//     messages are asked more (identity_scan.cc): the digest of a few header fields
//     (HeaderDigest, normalised so that a rewrite on APPEND keeps it) and their RFC822.SIZE;
//     then, for those still closest to several contents, their bytes (sha256, and
//     TextDigest: the body without white space). A message of B counts for one exported
//     content of its coarse identity, the closest: the same bytes; else the same digest,
//     size and body text; the same digest and size; the same digest and body text (B
//     rewrote it: a header added or removed, line ends or long lines repaired); the same
//     digest, closest size first. One that is a surplus copy of a content it is close to is
//     extra; one related to no content at all (B rewrote the compared fields too) fills a
//     copy left over, as the coarse identity would; exported copies left over are missing.
#ifndef MIGRATOR_COMMON_ENGINE_IDENTITY_H_
#define MIGRATOR_COMMON_ENGINE_IDENTITY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "common/crypto/sha256.h"
#include "common/engine/engine.h"
#include "common/engine/layout.h"

namespace engine {

// The coarse identity: the INTERNALDATE instant with the Message-ID, or with the size for
// a message without one.
std::string IdentityKey(absl::string_view message_id, uint64_t size,
                        absl::string_view internaldate);

// The header fields HeaderDigest covers, as a HEADER.FIELDS list.
inline constexpr char kDigestFields[] = "DATE FROM SENDER TO CC SUBJECT IN-REPLY-TO REFERENCES";

// SHA-256 (hex) of the kDigestFields fields of the header section at the start of `text`
// (a whole message, or the block a FETCH BODY[HEADER.FIELDS (...)] returns): each field
// as its lower-cased name and its value without any white space, the fields sorted. So
// what servers do to a message on APPEND keeps it: line ends (CRLF, bare LF or CR), folding
// (also inserted folds), NUL bytes removed, other fields added, removed or reordered.
// `ended`, when given, says whether the header section ended (an empty line) inside `text`.
std::string HeaderDigest(absl::string_view text, bool* ended = nullptr);

// SHA-256 (hex) of the body of a message (after the header section's empty line, line ends
// read as HeaderDigest reads them) without white space, line ends and NUL bytes: what a
// server adding or removing header fields, or repairing line ends and long lines, keeps.
// Fed in pieces (a streamed message).
class TextDigester {
 public:
  void Update(absl::string_view chunk);
  std::string Finish();  // the digest; the digester is spent

 private:
  void Body(char c);
  crypto::Sha256 hash_;
  std::string body_;      // compacted body bytes not hashed yet
  bool in_body_ = false;  // the header section ended
  uint64_t line_ = 0;     // bytes of the current header line (without CR and NUL)
  uint64_t crs_ = 0;      // CRs just read in the header, not followed by anything yet
};
std::string TextDigest(absl::string_view message);

// A message of server B's folder as the scan read it.
struct TargetMessage {
  uint32_t uid = 0;
  uint64_t size = 0;  // RFC822.SIZE
  std::string key;    // IdentityKey
};

// One folder's export (by base name) against server B's messages.
class IdentityMatch {
 public:
  IdentityMatch(std::map<std::string, MessageMeta> local, std::vector<TargetMessage> target);

  // The export's messages, by base name (sorted).
  const std::vector<std::pair<std::string, MessageMeta>>& local() const { return local_; }

  // Whether some coarse identity holds different exported messages and is on B: only then
  // is more asked of either side.
  bool ambiguous() const { return !ambiguous_.empty(); }
  // Exported messages of ambiguous identities without a header digest in their .json (an
  // older export): base names, for SetLocalDigest.
  std::vector<std::string> LocalDigestsNeeded() const;
  void SetLocalDigest(const std::string& base, std::string digest);
  // B's messages of ambiguous identities (UIDs, ascending), for SetTargetDigest.
  std::vector<uint32_t> TargetDigestsNeeded() const;
  void SetTargetDigest(uint32_t uid, std::string digest, uint64_t size);
  // After the digests: B's messages (UIDs, ascending) still closest to several different
  // exported contents (the same digest and size, or the same digest), for SetTargetBytes.
  std::vector<uint32_t> TargetBytesNeeded() const;
  void SetTargetBytes(uint32_t uid, std::string sha256, std::string text);
  // After the bytes: one exported message (base name) of each content whose TextDigest
  // the comparison needs, for SetLocalText.
  std::vector<std::string> LocalTextsNeeded() const;
  void SetLocalText(const std::string& base, std::string text);

  // The comparison: `missing` gets the exported messages B lacks (sorted by base name),
  // `extra` B's messages the export does not match; r gets target_messages, missing and
  // extra. A message exported without a date (server A's INTERNALDATE unusable, no Date:
  // header field) was appended without one: server B chose its date, so any date matches
  // (after every dated message, so it never takes a dated one's match).
  void Diff(std::vector<std::pair<std::string, MessageMeta>>* missing,
            std::vector<TargetMessage>* extra, FolderResult* r) const;

 private:
  // One ambiguous coarse identity: its exported contents (sha256 -> the copies, indices
  // into local_) and B's messages (indices into target_).
  struct Group {
    std::map<std::string, std::vector<size_t>> contents;
    std::vector<size_t> target;
  };
  // How close B's message `t` is to the exported content `sha` (0 the closest; see the
  // top of this file); kUnrelated when it cannot be it.
  static constexpr int kUnrelated = 5;
  // What B told of one of its messages of an ambiguous identity: its RFC822.SIZE; when
  // asked for, HeaderDigest of its fields, the sha256 and TextDigest of its bytes.
  struct Asked {
    uint64_t size = 0;
    absl::optional<std::string> digest, sha256, text;
  };
  int Closeness(const Asked& t, const std::string& sha, size_t copy) const;
  // The contents of g that B's message t is closest to, and how close (kUnrelated: none).
  int Closest(const Group& g, const Asked& t, std::vector<const std::string*>* shas) const;
  // Matches one group's messages of B to its exported ones: *matched gets the matched
  // indices into target_, *missing the exported messages left over.
  void MatchGroup(const Group& g, std::set<size_t>* matched,
                  std::vector<std::pair<std::string, MessageMeta>>* missing) const;
  Asked* FindAsked(uint32_t uid);  // among ambiguous_'s; null when not there
  MessageMeta* FindLocal(const std::string& base);

  std::vector<std::pair<std::string, MessageMeta>> local_;  // by base name
  std::vector<std::string> keys_;                           // IdentityKey of each
  std::vector<TargetMessage> target_;
  std::map<std::string, Group> ambiguous_;    // by coarse identity
  std::map<uint32_t, size_t> by_uid_;         // B's messages of ambiguous_: UID -> index
  std::map<size_t, Asked> asked_;             // what B told of them, by index into target_
  std::map<std::string, std::string> texts_;  // TextDigest of exported contents, by sha256
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_IDENTITY_H_
