// AWS Signature Version 4 for S3 requests (header-based signing), implemented with
// OpenSSL's HMAC-SHA256 and SHA-256. Pure functions: no I/O, no clock (the caller passes
// the request time), no global state; safe to call from any thread.
//
//   s3::SigningRequest req;
//   req.method = "GET";
//   req.canonical_uri = "/bucket/" + s3::UriEncode(key, /*encode_slash=*/false);
//   req.query = {{"list-type", "2"}, {"prefix", "a@x/"}};
//   req.headers = {{"host", "s3.us-east-1.amazonaws.com"},
//                  {"x-amz-content-sha256", s3::kUnsignedPayload},
//                  {"x-amz-date", s3::AmzDate(absl::Now())}};
//   req.payload_hash = s3::kUnsignedPayload;
//   std::string auth = s3::AuthorizationHeader(req, credentials, "us-east-1", "s3");
//
// The secret key is only ever used as HMAC key material: it never appears in any string
// these functions return.
#ifndef MIGRATOR_COMMON_STORAGE_S3_SIGV4_H_
#define MIGRATOR_COMMON_STORAGE_S3_SIGV4_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace storage {
namespace s3 {

inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";
// Hex SHA-256 of the empty string (the payload hash of a request without a body).
inline constexpr char kEmptyPayloadSha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged, never put into a message
  std::string session_token;      // optional (temporary credentials); never logged
};

struct SigningRequest {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the path exactly as sent, already URI-encoded ("/b/k%20x")
  // Query parameters, NOT encoded (encoding and sorting happen here). A parameter without
  // a value is ("name", "") and is sent as "name=".
  std::vector<std::pair<std::string, std::string>> query;
  // The headers to sign (names in any case; values are trimmed and inner runs of spaces
  // collapsed). Must include host, x-amz-date and x-amz-content-sha256.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
};

// SigV4 URI encoding: every byte except A-Z a-z 0-9 '-' '.' '_' '~' becomes %XX (upper
// case hex); '/' is kept when `encode_slash` is false (object key paths).
std::string UriEncode(absl::string_view in, bool encode_slash);

// "name=value&..." with names and values URI-encoded (slashes too), sorted by encoded
// name, then value. Used both for the canonical request and for the URL sent, so the two
// can never disagree.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

// "20130524T000000Z" (UTC).
std::string AmzDate(absl::Time t);

std::string CanonicalRequest(const SigningRequest& req);
// The signed-headers list: lower-case names, sorted, ';'-separated.
std::string SignedHeaders(const SigningRequest& req);
std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request);
// "20130524/us-east-1/s3/aws4_request" for amz_date "20130524T000000Z".
std::string CredentialScope(absl::string_view amz_date, absl::string_view region,
                            absl::string_view service);

// The value of the Authorization header. The request time is taken from the request's
// x-amz-date header (which must be present).
std::string AuthorizationHeader(const SigningRequest& req, const Credentials& creds,
                                absl::string_view region, absl::string_view service);

// Lower-case hex of raw bytes.
std::string HexEncode(absl::string_view bytes);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace s3
}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_S3_SIGV4_H_
