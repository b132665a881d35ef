// The libcurl HTTP client of the S3 store (see s3_http.h).
#include "common/storage/s3_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace storage {
namespace s3 {
namespace {

constexpr long kTransferBufferBytes = 256 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The state of one transfer, shared with libcurl's callbacks.
struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  CURL* curl = nullptr;
  size_t max_error_body = 0;
  uint64_t upload_offset = 0;
  absl::Status callback_status;  // first error from the source or sink
};

size_t ReadCallback(char* buf, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  absl::StatusOr<size_t> n = t->request->body->ReadAt(t->upload_offset, buf, size * nitems);
  if (!n.ok()) {
    t->callback_status = n.status();
    return CURL_READFUNC_ABORT;
  }
  t->upload_offset += *n;
  return *n;
}

int SeekCallback(void* userp, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userp);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  t->upload_offset = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteCallback(char* data, size_t size, size_t nmemb, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) {
    if (t->request->sink == nullptr) return n;
    absl::Status s = t->request->sink->Write(absl::string_view(data, n));
    if (s.ok()) return n;
    t->callback_status = std::move(s);
    return 0;  // CURLE_WRITE_ERROR
  }
  std::string& body = t->response->error_body;
  if (body.size() < t->max_error_body)
    body.append(data, std::min(n, t->max_error_body - body.size()));
  return n;
}

size_t HeaderCallback(char* data, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t n = size * nitems;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {  // a new response (after 100 Continue, ...)
    t->response->headers.clear();
    t->response->error_body.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
  t->response->headers[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  return n;
}

absl::StatusCode CodeForCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP3:
      return absl::StatusCode::kUnavailable;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return absl::StatusCode::kFailedPrecondition;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::StatusCode::kInvalidArgument;
    case CURLE_OUT_OF_MEMORY:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Sets the method and, for uploads, the body callbacks (`t->request->body` is set).
void SetMethod(CURL* curl, Transfer* t) {
  const HttpRequest& req = *t->request;
  curl_off_t body_size = static_cast<curl_off_t>(req.body->size());
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, body_size);
  } else if (req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, body_size);
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadCallback);
    curl_easy_setopt(curl, CURLOPT_READDATA, t);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekCallback);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, t);
  }
}

void SetOptions(CURL* curl, const HttpOptions& options, Transfer* t, char* error_buffer) {
  curl_easy_setopt(curl, CURLOPT_URL, t->request->url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kTransferBufferBytes);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, kTransferBufferBytes);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   std::max<long>(1, absl::ToInt64Seconds(options.stall_timeout)));
  if (options.request_timeout > absl::ZeroDuration()) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options.request_timeout)));
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteCallback);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, HeaderCallback);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
  SetMethod(curl, t);
}

}  // namespace

absl::StatusOr<size_t> StringSource::ReadAt(uint64_t offset, char* buf, size_t max) {
  if (offset >= data_.size()) return 0;
  size_t n = std::min<uint64_t>(max, data_.size() - offset);
  std::memcpy(buf, data_.data() + offset, n);
  return n;
}

absl::Status StringSink::Write(absl::string_view data) {
  if (data.size() > max_bytes_ - std::min(max_bytes_, out_->size())) return overflow_;
  out_->append(data.data(), data.size());
  return absl::OkStatus();
}

std::string UrlOrigin(absl::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == absl::string_view::npos ? 0 : scheme + 3;
  size_t end = std::min(url.size(), url.find_first_of("/?#", start));
  absl::string_view authority = url.substr(start, end - start);
  size_t at = authority.rfind('@');  // never show user:password@
  if (at != absl::string_view::npos) authority.remove_prefix(at + 1);
  return absl::StrCat(url.substr(0, start), authority);
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { GlobalInit(); }

HttpClient::~HttpClient() {
  absl::MutexLock lock(&mu_);
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
  pool_.clear();
}

void* HttpClient::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // keeps its live connection and caches
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::Release(void* handle) {
  {
    absl::MutexLock lock(&mu_);
    if (pool_.size() < options_.max_pooled_handles) {
      pool_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

absl::StatusOr<HttpResponse> HttpClient::Perform(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  HttpResponse response;
  StringSource empty("");
  HttpRequest req = request;
  if (req.body == nullptr) req.body = &empty;
  Transfer t;
  t.request = &req;
  t.response = &response;
  t.curl = curl;
  t.max_error_body = options_.max_error_body_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  SetOptions(curl, options_, &t, error_buffer);
  struct curl_slist* headers = nullptr;
  for (const std::string& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  struct curl_slist* connect_to = nullptr;
  for (const std::string& c : options_.connect_to) {
    connect_to = curl_slist_append(connect_to, c.c_str());
  }
  if (connect_to != nullptr) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  Release(curl);
  if (rc == CURLE_OK) return response;
  if (absl::IsCancelled(t.callback_status)) {
    response.stopped_by_sink = true;
    return response;
  }
  if (!t.callback_status.ok()) return t.callback_status;
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  return absl::Status(CodeForCurl(rc), absl::StrCat(req.method, " ", UrlOrigin(req.url), ": ",
                                                    curl_easy_strerror(rc), " (", detail, ")"));
}

}  // namespace s3
}  // namespace storage
