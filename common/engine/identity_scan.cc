// Server B's side of message identity (identity.h): the scan of its folders (coarse
// identities, every SELECT and FETCH pipelined) and, only for the coarse identities under
// which the export holds different messages, what tells those apart: the header digests
// and sizes of B's messages of those identities, then the bytes of those still close to
// several exported messages; and from the export, the header digests an older export did
// not record and the body digests the comparison needs (read from the .eml).
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "common/crypto/sha256.h"
#include "common/engine/engine_internal.h"
#include "common/engine/message_source.h"
#include "common/imap/sequence_set.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {

// UIDs per UID FETCH of a disambiguation (a sequence set of at most a few KB).
constexpr size_t kUidsPerRequest = 500;

class IdentitySink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.uid != 0 && seen_.insert(m.uid).second) {
      TargetMessage t;
      t.uid = m.uid;
      t.size = m.size;
      t.key = IdentityKey(m.message_id, m.size, m.internaldate);
      messages.push_back(std::move(t));
    }
    return absl::OkStatus();
  }
  std::vector<TargetMessage> messages;

 private:
  std::set<uint32_t> seen_;
};

// B's answers to a disambiguation: each message's header digest and size, or the sha256
// and TextDigest of its bytes, into `match`. Unsolicited FETCH responses (no RFC822.SIZE)
// are left out.
class DisambiguationSink : public imap::FetchSink {
 public:
  DisambiguationSink(IdentityMatch* match, bool bytes) : match_(match), bytes_(bytes) {}
  absl::Status BodyBegin(uint64_t, uint64_t) override {
    text_ = std::make_unique<TextDigester>();
    sha_.clear();
    return absl::OkStatus();
  }
  absl::Status BodyData(absl::string_view chunk) override {
    hash_.Update(chunk);
    text_->Update(chunk);
    return absl::OkStatus();
  }
  absl::Status BodyEnd() override {
    sha_ = hash_.HexDigest();
    return absl::OkStatus();
  }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.uid == 0 || !m.has_size) return absl::OkStatus();
    if (!bytes_) {
      match_->SetTargetDigest(m.uid, HeaderDigest(m.header_fields), m.size);
    } else if (m.has_body && text_) {
      match_->SetTargetBytes(m.uid, sha_, text_->Finish());
      text_.reset();
    }
    return absl::OkStatus();
  }

 private:
  IdentityMatch* match_;
  bool bytes_;
  crypto::Sha256 hash_;
  std::unique_ptr<TextDigester> text_;  // of the message being received
  std::string sha_;
};

// The exported message `key` (.eml) read through `consume` until it returns true (or the
// end).
absl::Status ReadStored(storage::Store& store, const std::string& key,
                        const std::function<bool(absl::string_view)>& consume) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Reader> reader, store.Open(key));
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0 || consume(absl::string_view(buf.data(), n))) return absl::OkStatus();
  }
}

// The header digest of the exported message `key`, read up to its header's end.
absl::StatusOr<std::string> StoredDigest(storage::Store& store, const std::string& key) {
  std::string head, digest;
  RETURN_IF_ERROR(ReadStored(store, key, [&](absl::string_view chunk) {
    head.append(chunk.data(), chunk.size());
    bool ended = false;
    digest = HeaderDigest(head, &ended);
    return ended;
  }));
  return digest;
}

absl::StatusOr<std::string> StoredText(storage::Store& store, const std::string& key) {
  TextDigester text;
  RETURN_IF_ERROR(ReadStored(store, key, [&](absl::string_view chunk) {
    text.Update(chunk);
    return false;
  }));
  return text.Finish();
}

// Reads from the store what `folders`' matches ask of the export (`texts`: body digests,
// else header digests); a failure goes to the folder's status.
void ReadExport(storage::Store& store, const std::vector<FolderComparison*>& folders, bool texts) {
  for (FolderComparison* f : folders) {
    if (!f->status.ok()) continue;
    for (const std::string& base :
         texts ? f->match.LocalTextsNeeded() : f->match.LocalDigestsNeeded()) {
      const std::string key = f->prefix + base + ".eml";
      auto digest = texts ? StoredText(store, key) : StoredDigest(store, key);
      if (!digest.ok()) {
        f->status = digest.status();
        break;
      }
      if (texts) {
        f->match.SetLocalText(base, *std::move(digest));
      } else {
        f->match.SetLocalDigest(base, *std::move(digest));
      }
    }
  }
}

// One pipelined round on B: for every folder still fine, its SELECT/EXAMINE and the UID
// FETCH of what its match asks (digests, or with `bytes` the messages' bytes).
absl::Status AskB(imap::Session& session, bool read_only,
                  const std::vector<FolderComparison*>& folders, bool bytes) {
  std::vector<imap::MailboxFetch> requests;
  std::vector<std::unique_ptr<DisambiguationSink>> sinks;
  std::vector<FolderComparison*> asked;  // of each request
  for (FolderComparison* f : folders) {
    if (!f->status.ok()) continue;
    const std::vector<uint32_t> uids =
        bytes ? f->match.TargetBytesNeeded() : f->match.TargetDigestsNeeded();
    sinks.push_back(std::make_unique<DisambiguationSink>(&f->match, bytes));
    for (size_t i = 0; i < uids.size(); i += kUidsPerRequest) {
      imap::MailboxFetch r;
      r.mailbox = f->mailbox;
      r.read_only = read_only;
      r.uid_set = imap::FormatSequenceSet(std::vector<uint32_t>(
          uids.begin() + i, uids.begin() + std::min(uids.size(), i + kUidsPerRequest)));
      r.options.body = bytes;
      r.options.attributes = false;
      if (!bytes) r.options.header_fields = kDigestFields;
      r.sink = sinks.back().get();
      requests.push_back(std::move(r));
      asked.push_back(f);
    }
  }
  if (requests.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(imap::SelectAndFetchMany(session, requests));
  for (size_t k = 0; k < requests.size(); ++k) {
    if (!requests[k].result.ok() && asked[k]->status.ok()) {
      asked[k]->status = requests[k].result.status();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ScanIdentities(imap::Session& session, const std::vector<std::string>& mailboxes,
                            bool read_only, std::vector<absl::StatusOr<ScannedFolder>>* out) {
  std::vector<IdentitySink> sinks(mailboxes.size());
  std::vector<imap::MailboxFetch> requests(mailboxes.size());
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    requests[i].mailbox = mailboxes[i];
    requests[i].read_only = read_only;
    requests[i].options.body = false;
    requests[i].options.message_id = true;
    requests[i].sink = &sinks[i];
  }
  RETURN_IF_ERROR(imap::SelectAndFetchMany(session, requests));
  out->clear();
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    if (requests[i].result.ok()) {
      out->push_back(ScannedFolder{*requests[i].result, std::move(sinks[i].messages)});
    } else {
      out->push_back(requests[i].result.status());
    }
  }
  return absl::OkStatus();
}

absl::Status Disambiguate(storage::Store& store, imap::Session& session, bool read_only,
                          const std::vector<FolderComparison*>& folders) {
  std::vector<FolderComparison*> ambiguous;
  for (FolderComparison* f : folders) {
    if (f->status.ok() && f->match.ambiguous()) ambiguous.push_back(f);
  }
  ReadExport(store, ambiguous, /*texts=*/false);
  RETURN_IF_ERROR(AskB(session, read_only, ambiguous, /*bytes=*/false));
  RETURN_IF_ERROR(AskB(session, read_only, ambiguous, /*bytes=*/true));
  ReadExport(store, ambiguous, /*texts=*/true);
  return absl::OkStatus();
}

namespace {
// Whether `meta` (missing on B) can be one of B's extra messages repaired: no Message-ID,
// and a date one of them has (`dates`, as IdentityKey writes them), or none.
bool RepairCandidate(const MessageMeta& meta, const std::set<std::string>& dates) {
  if (!meta.message_id.empty()) return false;
  if (meta.internaldate.empty()) return true;
  const std::string key = IdentityKey("", 0, meta.internaldate);
  return dates.count(key.substr(key.rfind('\x1f') + 1)) > 0;
}
}  // namespace

absl::Status MatchRepaired(storage::Store& store, imap::Session& session, bool read_only,
                           const std::string& mailbox, const std::string& prefix,
                           const imap::RepairOptions& options, std::vector<TargetMessage>* extra,
                           std::vector<std::pair<std::string, MessageMeta>>* missing,
                           FolderResult* r) {
  std::set<std::string> dates;  // of B's extra messages known by size
  for (const TargetMessage& t : *extra) {
    if (absl::StartsWith(t.key, "size\x1f")) dates.insert(t.key.substr(t.key.rfind('\x1f') + 1));
  }
  if (dates.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, MessageMeta>> still;
  std::map<std::string, MessageMeta> repaired, originals;  // candidates, by base name
  for (auto& [base, meta] : *missing) {
    if (RepairCandidate(meta, dates)) {
      StoreLiteralSource body(store, prefix + base + ".eml", meta.size, meta.uid);
      ASSIGN_OR_RETURN(RepairScan scan, ScanRepair(body, options));
      if (scan.counts.changed()) {
        repaired[base] = meta;
        repaired[base].size = scan.size;
        originals[base] = std::move(meta);
        continue;
      }
    }
    still.emplace_back(base, std::move(meta));
  }
  if (!repaired.empty()) {
    FolderComparison c{mailbox, prefix, IdentityMatch(std::move(repaired), std::move(*extra)), {}};
    RETURN_IF_ERROR(Disambiguate(store, session, read_only, {&c}));
    RETURN_IF_ERROR(c.status);
    std::vector<std::pair<std::string, MessageMeta>> unmatched;
    FolderResult sub;
    c.match.Diff(&unmatched, extra, &sub);
    for (auto& entry : unmatched)
      still.emplace_back(entry.first, std::move(originals[entry.first]));
    std::sort(still.begin(), still.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  *missing = std::move(still);
  r->missing = missing->size();
  r->extra = extra->size();
  return absl::OkStatus();
}

}  // namespace engine::internal
