// AWS Signature Version 4 (see s3_sigv4.h).
#include "common/storage/s3_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/sha256.h"

namespace storage {
namespace s3 {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

bool Unreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Trimall: leading/trailing whitespace removed, inner runs of spaces collapsed to one.
std::string TrimAll(absl::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : absl::StripAsciiWhitespace(value)) {
    if (c == ' ' || c == '\t') {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Lower-case name → comma-joined trimmed values, sorted by name.
std::map<std::string, std::string> CanonicalHeaderMap(const SigningRequest& req) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req.headers) {
    std::string lname = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    auto [it, inserted] = headers.emplace(lname, TrimAll(value));
    if (!inserted) absl::StrAppend(&it->second, ",", TrimAll(value));
  }
  return headers;
}

}  // namespace

std::string UriEncode(absl::string_view in, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (char ch : in) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, true), UriEncode(value, true));
  }
  std::sort(encoded.begin(), encoded.end());
  return absl::StrJoin(encoded, "&", [](std::string* out, const auto& kv) {
    absl::StrAppend(out, kv.first, "=", kv.second);
  });
}

std::string AmzDate(absl::Time t) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone());
}

std::string SignedHeaders(const SigningRequest& req) {
  std::map<std::string, std::string> headers = CanonicalHeaderMap(req);
  return absl::StrJoin(headers, ";",
                       [](std::string* out, const auto& kv) { out->append(kv.first); });
}

std::string CanonicalRequest(const SigningRequest& req) {
  std::map<std::string, std::string> headers = CanonicalHeaderMap(req);
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&canonical_headers, name, ":", value, "\n");
  }
  return absl::StrCat(req.method, "\n", req.canonical_uri.empty() ? "/" : req.canonical_uri, "\n",
                      CanonicalQueryString(req.query), "\n", canonical_headers, "\n",
                      SignedHeaders(req), "\n", req.payload_hash);
}

std::string CredentialScope(absl::string_view amz_date, absl::string_view region,
                            absl::string_view service) {
  return absl::StrCat(amz_date.substr(0, 8), "/", region, "/", service, "/aws4_request");
}

std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request) {
  return absl::StrCat(kAlgorithm, "\n", amz_date, "\n", scope, "\n",
                      crypto::Sha256Hex(canonical_request));
}

std::string AuthorizationHeader(const SigningRequest& req, const Credentials& creds,
                                absl::string_view region, absl::string_view service) {
  std::string amz_date;
  for (const auto& [name, value] : req.headers) {
    if (absl::EqualsIgnoreCase(name, "x-amz-date")) amz_date = TrimAll(value);
  }
  std::string scope = CredentialScope(amz_date, region, service);
  std::string string_to_sign = StringToSign(amz_date, scope, CanonicalRequest(req));
  std::string k_date =
      HmacSha256(absl::StrCat("AWS4", creds.secret_access_key), amz_date.substr(0, 8));
  std::string k_region = HmacSha256(k_date, region);
  std::string k_service = HmacSha256(k_region, service);
  std::string k_signing = HmacSha256(k_service, "aws4_request");
  std::string signature = HexEncode(HmacSha256(k_signing, string_to_sign));
  return absl::StrCat(kAlgorithm, " Credential=", creds.access_key_id, "/", scope,
                      ",SignedHeaders=", SignedHeaders(req), ",Signature=", signature);
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    unsigned char c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace s3
}  // namespace storage
