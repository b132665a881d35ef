// The S3 Store: request signing, retries, error mapping, and the metadata operations
// (Exists, List, Delete). Writers, Readers and Get live in s3_object_io.cc.
#include "common/storage/s3_store.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace storage {
namespace {

constexpr size_t kMaxListBodyBytes = 64 << 20;
constexpr size_t kMaxShownMessage = 200;

bool Is2xx(const s3::HttpResponse& r) { return r.status >= 200 && r.status < 300; }

absl::StatusCode CodeForS3Error(absl::string_view code) {
  if (code == "EntityTooLarge" || code == "QuotaExceeded" || code == "TooManyBuckets" ||
      code == "InsufficientStorage" || code == "ServiceQuotaExceeded") {
    return absl::StatusCode::kResourceExhausted;
  }
  if (code == "AccessDenied" || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" ||
      code == "AllAccessDisabled" || code == "AccountProblem" || code == "ExpiredToken" ||
      code == "InvalidToken" || code == "TokenRefreshRequired" || code == "RequestTimeTooSkewed") {
    return absl::StatusCode::kPermissionDenied;
  }
  if (code == "NoSuchKey" || code == "NoSuchBucket") return absl::StatusCode::kNotFound;
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "InternalError" ||
      code == "RequestTimeout" || code == "OperationAborted") {
    return absl::StatusCode::kUnavailable;
  }
  if (code == "PreconditionFailed") return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kUnknown;  // decide by the HTTP status
}

absl::StatusCode CodeForHttpStatus(long status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
    case 412:
      return absl::StatusCode::kFailedPrecondition;
    case 413:
    case 507:
      return absl::StatusCode::kResourceExhausted;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kUnavailable;
    case 501:
      return absl::StatusCode::kUnimplemented;
    default:
      break;
  }
  if (status >= 500) return absl::StatusCode::kUnavailable;
  if (status >= 300 && status < 400) return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kInternal;
}

// What a request is about, for messages: its key, or the prefix of a listing.
std::string Subject(const S3Store::Call& call) {
  if (!call.key.empty()) return call.key;
  for (const auto& [name, value] : call.query) {
    if (name == "prefix") return absl::StrCat("\"", value, "\"");
  }
  return "\"\"";
}

bool RetriableResponse(const s3::HttpResponse& r) {
  if (r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) {
    return true;
  }
  return r.status == 400 && s3::ParseErrorBody(r.error_body).code == "RequestTimeout";
}

// "host[:port]" of an endpoint URL, and its path ("" or "/base").
void SplitEndpoint(const std::string& endpoint, std::string* scheme, std::string* authority,
                   std::string* path) {
  std::string origin = s3::UrlOrigin(endpoint);  // without user info
  size_t sep = origin.find("://");
  *scheme = absl::AsciiStrToLower(origin.substr(0, sep));
  *authority = origin.substr(sep + 3);
  size_t path_start = endpoint.find('/', endpoint.find("://") + 3);
  *path = path_start == std::string::npos ? "" : endpoint.substr(path_start);
  while (!path->empty() && path->back() == '/') path->pop_back();
}

}  // namespace

S3Store::S3Store(S3Options options) : options_(std::move(options)), http_(options_.http) {
  std::string authority, path;
  SplitEndpoint(options_.endpoint, &scheme_, &authority, &path);
  if (options_.path_style) {
    host_ = authority;
    base_path_ = absl::StrCat(path, "/", options_.bucket);
  } else {
    host_ = absl::StrCat(options_.bucket, ".", authority);
    base_path_ = path;
  }
}

S3Store::~S3Store() {
  const S3RequestCounts counts = request_counts();
  if (counts.total() == 0) return;
  std::string methods;
  for (const auto& [method, n] : counts.by_method) {
    absl::StrAppend(&methods, methods.empty() ? "" : ", ", method, " ", n);
  }
  LOG(INFO) << Describe() << ": " << counts.total() << " request(s) (" << methods << "), "
            << counts.retries << " retried";
}

uint64_t S3RequestCounts::total() const {
  uint64_t n = 0;
  for (const auto& entry : by_method) n += entry.second;
  return n;
}

S3RequestCounts S3Store::request_counts() const {
  absl::MutexLock lock(&counts_mu_);
  return counts_;
}

absl::StatusOr<std::unique_ptr<S3Store>> S3Store::Create(S3Options options) {
  if (options.bucket.empty()) return absl::InvalidArgumentError("S3 store without a bucket");
  if (!absl::StartsWithIgnoreCase(options.endpoint, "http://") &&
      !absl::StartsWithIgnoreCase(options.endpoint, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("s3://", options.bucket, ": endpoint must begin with http:// or https://"));
  }
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("s3://", options.bucket, ": no access key id or secret access key"));
  }
  if (options.memory_buffer_bytes == 0 || options.read_chunk_bytes == 0 ||
      options.list_page_size < 1 || options.list_page_size > 1000 || options.max_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat("s3://", options.bucket, ": bad options"));
  }
  return std::unique_ptr<S3Store>(new S3Store(std::move(options)));
}

std::string S3Store::Describe() const {
  return absl::StrCat("s3://", options_.bucket, options_.prefix.empty() ? "" : "/",
                      options_.prefix);
}

std::string S3Store::Where() const {
  return absl::StrCat(Describe(), " (endpoint ", s3::UrlOrigin(options_.endpoint), ")");
}

std::string S3Store::ObjectKey(absl::string_view key) const {
  return options_.prefix.empty() ? std::string(key) : absl::StrCat(options_.prefix, "/", key);
}

s3::HttpRequest S3Store::Sign(const Call& call) const {
  std::string path = call.key.empty()
                         ? (base_path_.empty() ? "/" : base_path_)
                         : absl::StrCat(base_path_, "/", s3::UriEncode(ObjectKey(call.key), false));
  std::string amz_date = s3::AmzDate(absl::Now());
  s3::SigningRequest sr;
  sr.method = call.method;
  sr.canonical_uri = path;
  sr.query = call.query;
  sr.payload_hash = call.payload_hash.empty() ? s3::kEmptyPayloadSha256 : call.payload_hash;
  sr.headers = {
      {"host", host_}, {"x-amz-content-sha256", sr.payload_hash}, {"x-amz-date", amz_date}};
  const s3::Credentials& creds = options_.credentials;
  if (!creds.session_token.empty()) {
    sr.headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  s3::HttpRequest req;
  req.method = call.method;
  req.url = absl::StrCat(scheme_, "://", host_, path);
  if (!call.query.empty()) absl::StrAppend(&req.url, "?", s3::CanonicalQueryString(call.query));
  for (const auto& [name, value] : sr.headers)
    req.headers.push_back(absl::StrCat(name, ": ", value));
  req.headers.push_back(
      absl::StrCat("Authorization: ", s3::AuthorizationHeader(sr, creds, options_.region, "s3")));
  for (const std::string& h : call.extra_headers) req.headers.push_back(h);
  req.body = call.body;
  req.sink = call.sink;
  return req;
}

absl::StatusOr<s3::HttpResponse> S3Store::Send(const Call& call, absl::string_view op) {
  absl::BitGen gen;
  absl::StatusOr<s3::HttpResponse> last;
  int attempt = 1;
  for (;; ++attempt) {
    if (call.sink != nullptr) call.sink->Reset();
    {
      absl::MutexLock lock(&counts_mu_);
      counts_.by_method[call.method] += 1;
      if (attempt > 1) counts_.retries += 1;
    }
    last = http_.Perform(Sign(call));
    bool retry = last.ok() ? RetriableResponse(*last) : absl::IsUnavailable(last.status());
    if (!retry || attempt >= options_.max_attempts) break;
    absl::Duration delay =
        std::min(options_.max_backoff, options_.initial_backoff * (1 << std::min(attempt - 1, 16)));
    delay = delay * absl::Uniform(gen, 0.5, 1.0);
    std::string why = last.ok() ? absl::StrCat("HTTP ", last->status, " ",
                                               s3::ParseErrorBody(last->error_body).code)
                                : std::string(last.status().message());
    LOG(WARNING) << Where() << ": " << op << " " << Subject(call) << ": attempt " << attempt
                 << " failed (" << why << "); retrying in " << absl::FormatDuration(delay);
    absl::SleepFor(delay);
  }
  if (!last.ok()) {
    return absl::Status(
        last.status().code(),
        absl::StrCat(Where(), ": ", op, " ", Subject(call), ": ", last.status().message(),
                     attempt > 1 ? absl::StrCat(" (", attempt, " attempts)") : ""));
  }
  return last;
}

absl::Status S3Store::HttpError(absl::string_view op, absl::string_view key,
                                const s3::HttpResponse& response) const {
  s3::ErrorBody error = s3::ParseErrorBody(response.error_body);
  absl::StatusCode code = CodeForS3Error(error.code);
  if (code == absl::StatusCode::kUnknown) code = CodeForHttpStatus(response.status);
  std::string message = absl::StrCat(Where(), ": ", op, " ", key, ": HTTP ", response.status);
  if (!error.code.empty()) absl::StrAppend(&message, " ", error.code);
  if (!error.message.empty()) {
    absl::StrAppend(&message, ": ", error.message.substr(0, kMaxShownMessage));
  }
  if (response.status >= 300 && response.status < 400) {
    absl::StrAppend(&message, " (redirected: wrong region or endpoint?)");
  }
  return absl::Status(code, message);
}

absl::Status S3Store::PutObject(const std::string& key, s3::BodySource* body,
                                const std::string& sha256_hex) {
  Call call;
  call.method = "PUT";
  call.key = key;
  call.body = body;
  call.payload_hash = sha256_hex;
  ASSIGN_OR_RETURN(s3::HttpResponse response, Send(call, "put"));
  if (!Is2xx(response)) return HttpError("put", key, response);
  return absl::OkStatus();
}

absl::StatusOr<bool> S3Store::Exists(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  Call call;
  call.method = "HEAD";
  call.key = key;
  ASSIGN_OR_RETURN(s3::HttpResponse response, Send(call, "exists"));
  if (Is2xx(response)) return true;
  if (response.status == 404) return false;
  return HttpError("exists", key, response);
}

absl::Status S3Store::Delete(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  Call call;
  call.method = "DELETE";
  call.key = key;
  ASSIGN_OR_RETURN(s3::HttpResponse response, Send(call, "delete"));
  if (Is2xx(response)) return absl::OkStatus();
  if (response.status == 404 && s3::ParseErrorBody(response.error_body).code != "NoSuchBucket") {
    return absl::OkStatus();  // already absent
  }
  return HttpError("delete", key, response);
}

absl::StatusOr<s3::ListPage> S3Store::FetchListPage(const std::string& full_prefix,
                                                    const std::string& token) {
  std::string body;
  s3::StringSink sink(&body, kMaxListBodyBytes,
                      absl::InternalError(absl::StrCat(Where(), ": list ", full_prefix,
                                                       ": response larger than 64 MiB")));
  Call call;
  call.method = "GET";
  call.query.emplace_back("list-type", "2");
  if (!full_prefix.empty()) call.query.emplace_back("prefix", full_prefix);
  if (options_.list_page_size != 1000) {
    call.query.emplace_back("max-keys", absl::StrCat(options_.list_page_size));
  }
  if (!token.empty()) call.query.emplace_back("continuation-token", token);
  call.sink = &sink;
  ASSIGN_OR_RETURN(s3::HttpResponse response, Send(call, "list"));
  if (!Is2xx(response)) return HttpError("list", full_prefix, response);
  absl::StatusOr<s3::ListPage> page = s3::ParseListObjectsV2(body);
  if (!page.ok()) {
    return absl::InternalError(
        absl::StrCat(Where(), ": list ", full_prefix,
                     ": bad ListObjectsV2 response: ", page.status().message()));
  }
  return page;
}

absl::StatusOr<std::vector<ObjectInfo>> S3Store::List(const std::string& prefix) {
  if (!prefix.empty()) {
    if (prefix.back() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("list prefix must be empty or end with '/': \"", prefix, "\""));
    }
    RETURN_IF_ERROR(ValidateKey(absl::string_view(prefix).substr(0, prefix.size() - 1)));
  }
  std::string root = options_.prefix.empty() ? "" : options_.prefix + "/";
  std::string full_prefix = root + prefix;
  std::vector<ObjectInfo> out;
  std::string token;
  size_t skipped = 0;
  do {
    ASSIGN_OR_RETURN(s3::ListPage page, FetchListPage(full_prefix, token));
    for (ObjectInfo& object : page.objects) {
      if (!absl::StartsWith(object.key, full_prefix)) continue;  // a confused server
      object.key.erase(0, root.size());
      if (!ValidateKey(object.key).ok()) {
        ++skipped;
        continue;
      }
      out.push_back(std::move(object));
    }
    if (page.truncated && page.next_continuation_token == token) {
      return absl::InternalError(
          absl::StrCat(Where(), ": list ", full_prefix, ": continuation token did not advance"));
    }
    token = page.truncated ? page.next_continuation_token : "";
  } while (!token.empty());
  if (skipped > 0) {
    LOG(WARNING) << Describe() << ": list " << prefix << ": skipped " << skipped
                 << " object(s) whose names are not valid keys";
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

}  // namespace storage
