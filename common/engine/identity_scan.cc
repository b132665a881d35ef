// Server B's side of message identity (identity.h): the scan of its folders (coarse
// identities, every SELECT and FETCH pipelined) and, only for the coarse identities under
// which the export holds different messages, what tells those apart: the header digests
// and sizes of B's messages of those identities, then the bytes of those whose digest and
// size two exported messages share; and the export's digests an older export did not
// record (read from the .eml).
#include <memory>
#include <set>

#include "common/crypto/sha256.h"
#include "common/engine/engine_internal.h"
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

// B's answers to a disambiguation: each message's header digest and size, or the sha256 of
// its bytes, into `match`. Unsolicited FETCH responses (no RFC822.SIZE) are left out.
class DisambiguationSink : public imap::FetchSink {
 public:
  DisambiguationSink(IdentityMatch* match, bool bytes) : match_(match), bytes_(bytes) {}
  absl::Status BodyBegin(uint64_t, uint64_t) override {
    sha_.clear();
    return absl::OkStatus();
  }
  absl::Status BodyData(absl::string_view chunk) override {
    hash_.Update(chunk);
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
    } else if (m.has_body) {
      match_->SetTargetSha256(m.uid, sha_);
    }
    return absl::OkStatus();
  }

 private:
  IdentityMatch* match_;
  bool bytes_;
  crypto::Sha256 hash_;
  std::string sha_;
};

// The header digest of the exported message `key` (.eml), read up to its header's end.
absl::StatusOr<std::string> StoredDigest(storage::Store& store, const std::string& key) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Reader> reader, store.Open(key));
  std::string head;
  char buf[64 * 1024];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buf, sizeof(buf)));
    if (n == 0) return HeaderDigest(head);
    head.append(buf, n);
    bool ended = false;
    std::string digest = HeaderDigest(head, &ended);
    if (ended) return digest;
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
    if (!f->status.ok() || !f->match.ambiguous()) continue;
    for (const std::string& base : f->match.LocalDigestsNeeded()) {
      auto digest = StoredDigest(store, f->prefix + base + ".eml");
      if (!digest.ok()) {
        f->status = digest.status();
        break;
      }
      f->match.SetLocalDigest(base, *std::move(digest));
    }
    ambiguous.push_back(f);
  }
  RETURN_IF_ERROR(AskB(session, read_only, ambiguous, /*bytes=*/false));
  return AskB(session, read_only, ambiguous, /*bytes=*/true);
}

}  // namespace engine::internal
