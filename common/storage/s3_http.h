// A small HTTP/1.1 client over libcurl for the S3 store: one request at a time per call,
// bodies streamed in (BodySource) and out (BodySink), never whole in memory unless the
// sink chooses so. Knows nothing about S3 or signing; retries are the caller's.
//
// Connections are reused: finished easy handles go back to a small pool (libcurl keeps
// each handle's connection alive), so consecutive requests to one endpoint skip the TCP
// and TLS handshakes.
//
// Thread-safety: HttpClient::Perform may be called concurrently from many threads (each
// call uses its own easy handle). BodySource/BodySink objects are used by one call only.
// curl_global_init runs once per process (first HttpClient constructed).
#ifndef MIGRATOR_COMMON_STORAGE_S3_HTTP_H_
#define MIGRATOR_COMMON_STORAGE_S3_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace storage {
namespace s3 {

// A request body that can be read from any offset (so a retried or rewound upload can
// start over).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual uint64_t size() const = 0;
  // Up to `max` bytes at `offset` into `buf`; fewer only at the end.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) = 0;
};

// Receives the body of a 2xx response. An error aborts the transfer and becomes the
// result of Perform, except kCancelled, which means "enough": the transfer stops and
// Perform returns the response with `stopped_by_sink` set.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual absl::Status Write(absl::string_view data) = 0;
  // Forgets what was written (the caller retries the request).
  virtual void Reset() = 0;
};

// A BodySink appending to a string, refusing to grow past `max_bytes` with `overflow`.
class StringSink : public BodySink {
 public:
  StringSink(std::string* out, size_t max_bytes, absl::Status overflow)
      : out_(out), max_bytes_(max_bytes), overflow_(std::move(overflow)) {}
  absl::Status Write(absl::string_view data) override;
  void Reset() override { out_->clear(); }

 private:
  std::string* out_;
  size_t max_bytes_;
  absl::Status overflow_;
};

// A BodySource over bytes owned elsewhere (which must outlive it).
class StringSource : public BodySource {
 public:
  explicit StringSource(absl::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) override;

 private:
  absl::string_view data_;
};

struct HttpRequest {
  std::string method;                // GET, PUT, HEAD, DELETE, POST
  std::string url;                   // complete, already encoded
  std::vector<std::string> headers;  // "Name: value" lines
  BodySource* body = nullptr;        // PUT/POST body (Content-Length = size()); may be null
  BodySink* sink = nullptr;          // 2xx body; null discards it
};

struct HttpResponse {
  long status = 0;                             // HTTP status code
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string error_body;                      // body of a non-2xx response (truncated)
  bool stopped_by_sink = false;                // the sink ended the transfer early
};

struct HttpOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // A transfer slower than 1 byte/s for this long is abandoned (a hung server).
  absl::Duration stall_timeout = absl::Seconds(60);
  // Whole request; zero = none (big objects may take long).
  absl::Duration request_timeout = absl::ZeroDuration();
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's trust store
  // libcurl CURLOPT_CONNECT_TO entries "HOST:PORT:CONNECT-HOST:CONNECT-PORT": connect
  // elsewhere than the URL's host says (Host header and TLS name unchanged).
  std::vector<std::string> connect_to;
  size_t max_pooled_handles = 16;
  size_t max_error_body_bytes = 64 * 1024;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. Any HTTP status is a successful result (inspect `status`);
  // a transport failure is kUnavailable (connect/resolve/TLS handshake/timeout/reset),
  // kFailedPrecondition (TLS certificate not trusted) or kInternal; an error from the
  // source or sink is returned as is. Messages name the method and the URL's host,
  // never header values.
  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request);

 private:
  void* Acquire();
  void Release(void* handle);

  const HttpOptions options_;
  absl::Mutex mu_;
  std::vector<void*> pool_ ABSL_GUARDED_BY(mu_);  // CURL* easy handles
};

// "http://host:port" of a URL (scheme, host and port; never user info) for messages.
std::string UrlOrigin(absl::string_view url);

}  // namespace s3
}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_S3_HTTP_H_
