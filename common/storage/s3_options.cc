// S3OptionsFromLocation: "s3://bucket/prefix" plus the environment (see s3_store.h).
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "common/storage/s3_store.h"

namespace storage {
namespace {

using GetEnv = std::function<const char*(const char*)>;

std::string Env(const GetEnv& getenv, const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? "" : std::string(absl::StripAsciiWhitespace(v));
}

// First non-empty of the variables.
std::string FirstEnv(const GetEnv& getenv, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    std::string v = Env(getenv, name);
    if (!v.empty()) return v;
  }
  return "";
}

absl::Status ValidateBucket(absl::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("s3://", bucket, ": bucket name must have 3 to 63 characters"));
  }
  for (char c : bucket) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return absl::InvalidArgumentError(absl::StrCat(
          "s3://", bucket, ": bucket name may hold only letters, digits, '.', '-', '_'"));
    }
  }
  return absl::OkStatus();
}

// "https://host[:port][/path]" without a trailing '/'; a bare "host:port" gets https.
absl::StatusOr<std::string> NormalizeEndpoint(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.find("://") == std::string::npos) endpoint = "https://" + endpoint;
  if (!absl::StartsWithIgnoreCase(endpoint, "http://") &&
      !absl::StartsWithIgnoreCase(endpoint, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3 endpoint ", s3::UrlOrigin(endpoint), ": scheme must be http or https"));
  }
  if (endpoint.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3 endpoint ", s3::UrlOrigin(endpoint), ": no query or fragment allowed"));
  }
  return endpoint;
}

absl::StatusOr<bool> ParseBool(absl::string_view name, const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be 1/true/yes/on or 0/false/no/off, not \"", value, "\""));
}

// Bucket and prefix of "s3://bucket[/prefix]".
absl::Status ParseLocation(const std::string& location, S3Options* options) {
  absl::string_view rest = location;
  if (!absl::ConsumePrefix(&rest, "s3://") && !absl::ConsumePrefix(&rest, "S3://")) {
    return absl::InvalidArgumentError(absl::StrCat("not an s3:// location: ", location));
  }
  size_t slash = rest.find('/');
  options->bucket = std::string(rest.substr(0, slash));
  RETURN_IF_ERROR(ValidateBucket(options->bucket));
  absl::string_view prefix = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);
  while (absl::ConsumeSuffix(&prefix, "/")) {
  }
  if (!prefix.empty()) {
    absl::Status valid = ValidateKey(prefix);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("s3://", options->bucket, ": bad prefix: ", valid.message()));
    }
  }
  options->prefix = std::string(prefix);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<S3Options> S3OptionsFromLocation(const std::string& location,
                                                const GetEnv& getenv_fn) {
  GetEnv getenv = getenv_fn ? getenv_fn : [](const char* n) { return std::getenv(n); };
  S3Options options;
  RETURN_IF_ERROR(ParseLocation(location, &options));
  options.credentials.access_key_id = Env(getenv, "AWS_ACCESS_KEY_ID");
  options.credentials.secret_access_key = Env(getenv, "AWS_SECRET_ACCESS_KEY");
  options.credentials.session_token = Env(getenv, "AWS_SESSION_TOKEN");
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(location, ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
  }
  std::string region = FirstEnv(getenv, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (!region.empty()) options.region = region;
  std::string endpoint =
      FirstEnv(getenv, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT"});
  bool custom_endpoint = !endpoint.empty();
  if (!custom_endpoint) endpoint = absl::StrCat("https://s3.", options.region, ".amazonaws.com");
  ASSIGN_OR_RETURN(options.endpoint, NormalizeEndpoint(endpoint));
  options.path_style = custom_endpoint || absl::StrContains(options.bucket, '.');
  std::string force = Env(getenv, "S3_FORCE_PATH_STYLE");
  if (!force.empty()) {
    ASSIGN_OR_RETURN(options.path_style, ParseBool("S3_FORCE_PATH_STYLE", force));
  }
  options.http.ca_file = Env(getenv, "AWS_CA_BUNDLE");
  return options;
}

}  // namespace storage
