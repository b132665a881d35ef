// Message identity for idempotent import and validation (README "Data format": identity).
// Pure: no I/O (identity_scan.cc reads server B and the store for it).
//
// Every folder is compared as a multiset: import appends, per identity, what the export
// holds beyond what server B holds, never more; validate counts the same difference.
//   - The coarse identity (IdentityKey) is what B's scan reads of every message: the
//     INTERNALDATE instant with the Message-ID, or with the size for a message without one.
//     It ignores how B stored the bytes (with a Message-ID, B may rewrite the message).
//   - Byte-identical copies (the same sha256) are one identity counted as often as they are
//     exported.
//   - When the export holds different messages (different sha256) under one coarse
//     identity that B also holds, the coarse identity cannot tell them apart. For those
//     only, B's messages are asked more (identity_scan.cc): the digest of a few header
//     fields (HeaderDigest, normalised so that a rewrite on APPEND keeps it) and their
//     RFC822.SIZE; and their bytes when two exported messages of that identity agree in
//     both. A message of B counts for one exported message of its coarse identity with the
//     same bytes, else the same digest (the closest size first); one that matches none is
//     extra, and an exported message left over is missing.
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

// A message of server B's folder as the scan read it.
struct TargetMessage {
  uint32_t uid = 0;
  uint64_t size = 0;  // RFC822.SIZE
  std::string key;    // IdentityKey
  // When asked for (ambiguous coarse identities only): HeaderDigest of its fields, and the
  // sha256 of its bytes.
  absl::optional<std::string> digest, sha256;
};

// Takes the coarse identity of `meta` (as `size` bytes) out of `present`; false when it is
// not there. A message exported without a date (server A's INTERNALDATE unusable, no
// Date: header field) was appended without one: server B chose its date, so any date
// matches.
bool TakeIdentity(std::multiset<std::string>* present, const MessageMeta& meta, uint64_t size);

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
  // After the digests: B's messages (UIDs, ascending) whose digest and size two different
  // exported messages of their identity share, for SetTargetSha256.
  std::vector<uint32_t> TargetBytesNeeded() const;
  void SetTargetSha256(uint32_t uid, std::string sha256);

  // The comparison: `missing` gets the exported messages B lacks (sorted by base name),
  // `extra` the coarse identities of B's messages the export does not match; r gets
  // target_messages, missing and extra.
  void Diff(std::vector<std::pair<std::string, MessageMeta>>* missing,
            std::multiset<std::string>* extra, FolderResult* r) const;

 private:
  // Exported messages of one ambiguous coarse identity: indices into local_ and target_.
  struct Group {
    std::vector<size_t> local, target;
  };
  // Matches one group's messages of B to its exported ones: *matched gets the matched
  // indices into target_, *missing the exported messages left over.
  void MatchGroup(const Group& g, std::set<size_t>* matched,
                  std::vector<std::pair<std::string, MessageMeta>>* missing) const;
  TargetMessage* FindTarget(uint32_t uid);  // among ambiguous_'s; null when not there

  std::vector<std::pair<std::string, MessageMeta>> local_;  // by base name
  std::vector<TargetMessage> target_;
  std::map<std::string, Group> ambiguous_;  // by coarse identity
  std::map<uint32_t, size_t> by_uid_;       // B's messages of ambiguous_: UID -> index
};

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_IDENTITY_H_
