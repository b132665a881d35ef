// The S3 Store: objects in an S3-compatible bucket under an optional prefix
// ("s3://bucket/prefix": key "a@x/INBOX/1.eml" is object "prefix/a@x/INBOX/1.eml").
//
// Requests are signed with AWS Signature Version 4 (s3_sigv4.h) and sent over libcurl
// (s3_http.h); path-style ("endpoint/bucket/key") or virtual-hosted ("bucket.endpoint/key")
// addressing.
//
// Writes: a Writer buffers in memory up to `memory_buffer_bytes`, then spills to an
// unlinked temporary file; Commit()/CommitAs() sends one PUT with Content-Length and the
// SHA-256 of the data (x-amz-content-sha256, which S3 verifies). S3 makes a PUT visible
// atomically, so nothing is visible before the commit. Objects over 5 GiB (the single-PUT
// limit) are refused with kResourceExhausted: multipart upload is not implemented.
// A failed commit may be retried (the data is kept until the writer is destroyed).
//
// Reads: Open() sends one GET and keeps the first `read_chunk_bytes` of the body (the
// transfer is cut off there, so a small object costs one request); the rest comes in
// ranged GETs of `read_chunk_bytes`, each checked to be of the same object version
// (If-Match and the ETag; kAborted when the object was replaced while being read).
// Memory per Reader is one chunk, whatever the object size. Get() reads a whole object
// of at most kMaxGetBytes.
//
// Retries: every request the store sends is idempotent (GET, HEAD, PUT of a whole object,
// DELETE) and is retried on connection failures, timeouts, 429, 500, 502, 503, 504 and
// RequestTimeout, `max_attempts` times in all, with capped exponential backoff and jitter.
//
// Errors (codes by meaning, README "Architecture"): 403 / AccessDenied / SignatureDoesNotMatch /
// InvalidAccessKeyId → kPermissionDenied; 404 / NoSuchKey / NoSuchBucket → kNotFound;
// 5xx, timeouts, unreachable endpoint → kUnavailable; 507, EntityTooLarge, QuotaExceeded
// → kResourceExhausted; 400 → kInvalidArgument. Messages name the location, the endpoint,
// the operation, the key, the HTTP status and the S3 error code; never credentials.
//
// Thread-safety: S3Store is thread-safe (each request uses its own curl handle from a
// small pool). Writers and Readers are not (one thread each) and must not outlive their
// S3Store.
#ifndef MIGRATOR_COMMON_STORAGE_S3_STORE_H_
#define MIGRATOR_COMMON_STORAGE_S3_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/storage/s3_http.h"
#include "common/storage/s3_sigv4.h"
#include "common/storage/s3_xml.h"
#include "common/storage/store.h"

namespace storage {

struct S3Options {
  std::string bucket;
  std::string prefix;  // "" or "a/b" (no leading or trailing '/')
  // scheme://host[:port] of the service, no trailing '/'. Empty: AWS for `region`.
  std::string endpoint;
  std::string region = "us-east-1";
  bool path_style = true;  // false: virtual-hosted ("bucket.host")
  s3::Credentials credentials;

  size_t memory_buffer_bytes = 8 << 20;  // per Writer before spilling to a temp file
  std::string spill_dir;                 // empty: $TMPDIR, else /tmp
  size_t read_chunk_bytes = 8 << 20;     // per ranged GET of a Reader
  int list_page_size = 1000;             // max-keys of ListObjectsV2
  int max_attempts = 3;                  // per request, including the first
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(2);
  s3::HttpOptions http;
};

// Parses "s3://bucket[/prefix]" and reads the environment through `getenv`:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required), AWS_SESSION_TOKEN,
// AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1), the endpoint from
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or S3_ENDPOINT (else
// https://s3.<region>.amazonaws.com), S3_FORCE_PATH_STYLE (1/true/yes/on or 0/false/no/off;
// default on when an endpoint is given, else off unless the bucket name has a '.'),
// AWS_CA_BUNDLE (a CA file for TLS). kInvalidArgument on a bad location or missing
// credentials (the message names the variables, never their values).
absl::StatusOr<S3Options> S3OptionsFromLocation(
    const std::string& location, const std::function<const char*(const char*)>& getenv = nullptr);

// The requests a store sent (each attempt counts), by method, and the attempts that were
// retries.
struct S3RequestCounts {
  std::map<std::string, uint64_t> by_method;
  uint64_t retries = 0;
  uint64_t total() const;
};

class S3Store : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<S3Store>> Create(S3Options options);
  // Logs the requests it sent (INFO: "s3://b/p: 362 request(s) (GET 2, PUT 360), 0 retried").
  ~S3Store() override;

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const std::string& key) override;
  absl::StatusOr<std::string> Get(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& key) override;
  absl::StatusOr<bool> Exists(const std::string& key) override;
  // ListObjectsV2 page by page; keys that are not valid store keys (e.g. "dir/" markers)
  // are skipped. A prefix with no objects lists nothing.
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  // Idempotent: deleting an absent key is OK.
  absl::Status Delete(const std::string& key) override;
  std::string Describe() const override;  // "s3://bucket/prefix"

  const S3Options& options() const { return options_; }
  S3RequestCounts request_counts() const;
  // Get() refuses larger objects with kFailedPrecondition (use Open()).
  static constexpr uint64_t kMaxGetBytes = 256ull << 20;
  // The largest single PUT S3 accepts.
  static constexpr uint64_t kMaxPutBytes = 5ull << 30;

 private:
  friend class S3Writer;
  friend class S3Reader;

 public:
  // One S3 request. `key` is a store key ("" addresses the bucket). Internal; public only
  // for the helpers in the .cc files.
  struct Call {
    std::string method;
    std::string key;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::string> extra_headers;  // "Name: value", not signed
    s3::BodySource* body = nullptr;
    std::string payload_hash;  // empty: the hash of an empty body
    s3::BodySink* sink = nullptr;
  };

 private:
  explicit S3Store(S3Options options);
  // Signs and sends `call`, retrying transient failures. Returns the last response
  // (any HTTP status) or the transport error, annotated with where and what.
  absl::StatusOr<s3::HttpResponse> Send(const Call& call, absl::string_view op);
  s3::HttpRequest Sign(const Call& call) const;
  // The Status for a non-2xx response to `op` on `key`.
  absl::Status HttpError(absl::string_view op, absl::string_view key,
                         const s3::HttpResponse& response) const;
  // "s3://bucket/prefix (endpoint https://host)" for messages.
  std::string Where() const;
  std::string ObjectKey(absl::string_view key) const;
  absl::Status PutObject(const std::string& key, s3::BodySource* body,
                         const std::string& sha256_hex);
  absl::StatusOr<s3::ListPage> FetchListPage(const std::string& full_prefix,
                                             const std::string& token);

  const S3Options options_;
  std::string scheme_;     // "http" / "https"
  std::string host_;       // Host header value (with the bucket when virtual-hosted)
  std::string base_path_;  // path before the key: "/bucket" or "" (virtual-hosted)
  mutable s3::HttpClient http_;
  mutable absl::Mutex counts_mu_;
  S3RequestCounts counts_ ABSL_GUARDED_BY(counts_mu_);
};

}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_S3_STORE_H_
