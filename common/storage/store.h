// The storage seam: where exported messages live. Keys are relative, '/'-separated paths
// ("a@example.com/INBOX/1700000000-0000000042.eml"). Implementations: the filesystem
// (a directory root) and S3-compatible object stores ("s3://bucket/prefix").
//
// Thread-safety: every Store method may be called concurrently from many threads.
#ifndef MIGRATOR_COMMON_STORAGE_STORE_H_
#define MIGRATOR_COMMON_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace storage {

// Streams one object in; nothing is visible under the key until Commit() succeeds
// (temporary file + rename on a filesystem, durable at once or after Store::Sync(): see
// fs_store.h; one PUT on S3: there is no multipart upload, so an S3 object over 5 GiB is
// refused with kResourceExhausted). Destroying an uncommitted writer discards it. Not
// thread-safe.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual absl::Status Append(absl::string_view data) = 0;
  virtual absl::Status Commit() = 0;
  // Commits under `key` instead of the key given to NewWriter (a name known only once
  // the content has been seen, e.g. a message whose UID arrives after its body).
  virtual absl::Status CommitAs(const std::string& key) = 0;
  virtual uint64_t bytes_written() const = 0;
};

// Streams one object out. Not thread-safe.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual uint64_t size() const = 0;
  // Up to `max` bytes; 0 at the end.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t max) = 0;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  // When it was last written (the file's mtime, S3's LastModified); InfinitePast when the
  // store did not say.
  absl::Time modified = absl::InfinitePast();
};

class Store {
 public:
  virtual ~Store() = default;
  // Errors: kResourceExhausted (disk full / quota), kPermissionDenied, kUnavailable
  // (object store unreachable), kInvalidArgument (bad key).
  virtual absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const std::string& key) = 0;
  // Whole small object (metadata). kNotFound when absent.
  virtual absl::StatusOr<std::string> Get(const std::string& key) = 0;
  virtual absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& key) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& key) = 0;
  // Every key under `prefix` (which ends with '/' or is empty), recursively, sorted.
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual absl::Status Delete(const std::string& key) = 0;
  // Free bytes where this store writes, when knowable (filesystem); nullopt-like -1 else.
  virtual int64_t FreeBytes() { return -1; }
  // "dir:/path" or "s3://bucket/prefix" for messages.
  virtual std::string Describe() const = 0;
  // Makes every object committed so far durable across a power loss, where commits alone
  // do not already guarantee it (the filesystem store batches directory fsyncs, or one
  // syncfs when it does not fsync object by object, here).
  // Call before recording progress that depends on those objects. Default: no-op.
  virtual absl::Status Sync() { return absl::OkStatus(); }

  // Convenience: NewWriter + Append + Commit.
  absl::Status Put(const std::string& key, absl::string_view data);
};

// A key is valid when non-empty, relative, without empty, "." or ".." components, NUL
// or control bytes, at most 1024 bytes, and no component begins with ".tmp." (reserved
// for in-progress writes). Stores reject invalid keys with kInvalidArgument. Errors name
// the problem; the key is shown with control bytes escaped.
absl::Status ValidateKey(absl::string_view key);

// "s3://bucket/prefix" → S3 store (credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, endpoint from AWS_ENDPOINT_URL or S3_ENDPOINT, region from
// AWS_REGION); anything else → filesystem store rooted at that directory (created).
// The filesystem store opened here does not fsync object by object: a commit is durable
// once Sync() returns (one syncfs for a whole batch; the engine syncs before it records a
// message as exported). On S3 a completed PUT is durable.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& location);

// A view of `store` (which must outlive it) that reads through and refuses every write:
// NewWriter (so Put) and Delete fail with kFailedPrecondition naming the key; Sync does
// nothing. What a dry run works on.
std::unique_ptr<Store> ReadOnlyView(Store& store);

// `location` opened for reading only (a dry run): nothing is created, not even the
// directory (one that does not exist reads as empty: no object); writes are refused as by
// ReadOnlyView.
absl::StatusOr<std::unique_ptr<Store>> OpenStoreReadOnly(const std::string& location);

}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_STORE_H_
