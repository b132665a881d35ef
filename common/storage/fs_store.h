// The filesystem Store: objects are files under a root directory, keys map to relative
// paths ("a@x/INBOX/1.eml" → "<root>/a@x/INBOX/1.eml").
//
// Writes: a Writer streams into "<dir>/.tmp.<name>.<random>" (created O_EXCL with
// `file_mode`) in the object's own directory, so the rename is atomic and same-filesystem.
// Commit() flushes, fsyncs the file (when `fsync`), then renames it into place; an
// uncommitted or failed writer removes its temporary. Names beginning with ".tmp." are
// reserved (ValidateKey rejects them) and never listed.
//
// Durability: with `fsync` the content of a visible object is never torn. The rename's
// directory entry is made durable per commit only when `fsync_dir` is set; otherwise the
// directories touched since the last Sync() are remembered and fsynced, once each, by
// Sync() (batched: one directory fsync per folder per checkpoint instead of per message).
//
// Symlinks inside the root are followed (an operator may place an account on another
// disk by symlinking its directory); keys themselves can never name anything outside the
// root (no absolute paths, no "..").
//
// Errors: ENOSPC/EDQUOT → kResourceExhausted "... disk full ..."; EACCES/EPERM/EROFS →
// kPermissionDenied; ENOENT → kNotFound; key vs directory clashes → kFailedPrecondition.
// Messages name the key and the root, never the content.
//
// Thread-safety: FsStore is thread-safe; Writers and Readers are not (one thread each).
// A Writer/Reader must not outlive its FsStore.
#ifndef MIGRATOR_COMMON_STORAGE_FS_STORE_H_
#define MIGRATOR_COMMON_STORAGE_FS_STORE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/storage/store.h"

namespace storage {

struct FsStoreOptions {
  bool fsync = true;        // fsync each object before renaming it into place
  bool fsync_dir = false;   // also fsync its directory after each rename (else: Sync())
  mode_t file_mode = 0600;  // objects hold private mail (umask still applies)
  mode_t dir_mode = 0700;
  size_t buffer_bytes = 64 * 1024;  // Writer buffer: fewer write(2) calls for small appends
};

// The Status for a failed filesystem call: `op` ("write", "rename", ...) and `key` name
// what failed, `root` where. E.g. ErrnoStatus(ENOSPC, "commit", "a@x/1.eml", "/data") →
// kResourceExhausted "dir:/data: commit a@x/1.eml: disk full (No space left on device)".
absl::Status ErrnoStatus(int err, absl::string_view op, absl::string_view key,
                         absl::string_view root);

class FsStore : public Store {
 public:
  // Creates `root` (with parents, `dir_mode`) when missing. A relative root is made
  // absolute against the current directory.
  static absl::StatusOr<std::unique_ptr<FsStore>> Create(const std::string& root,
                                                         FsStoreOptions options = {});

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const std::string& key) override;
  absl::StatusOr<std::string> Get(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& key) override;
  // True for a regular file; false when absent or a directory.
  absl::StatusOr<bool> Exists(const std::string& key) override;
  // Regular files only (symlinked directories are followed, symlinked files listed).
  // A missing prefix lists nothing.
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  // Idempotent: deleting an absent key is OK (as on S3). Empty directories are kept.
  absl::Status Delete(const std::string& key) override;
  int64_t FreeBytes() override;
  std::string Describe() const override;
  absl::Status Sync() override;

  const std::string& root() const { return root_; }
  // Get() refuses objects larger than this (use Open()): kFailedPrecondition.
  static constexpr uint64_t kMaxGetBytes = 256ull << 20;

 private:
  friend class FsWriter;
  FsStore(std::string root, FsStoreOptions options);
  std::string PathOf(absl::string_view key) const { return root_ + "/" + std::string(key); }
  absl::Status Err(int err, absl::string_view op, absl::string_view key) const {
    return ErrnoStatus(err, op, key, root_);
  }
  absl::Status MakeParents(absl::string_view key);
  // After a successful rename of `key`: fsync its directory now or remember it.
  absl::Status Committed(absl::string_view key);
  absl::Status ListDir(const std::string& rel, std::vector<ObjectInfo>* out);

  const std::string root_;
  const FsStoreOptions options_;
  absl::Mutex mu_;
  std::set<std::string> dirty_dirs_ ABSL_GUARDED_BY(mu_);  // relative; "" is the root
};

}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_FS_STORE_H_
