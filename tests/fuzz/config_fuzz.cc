// Fuzz target for the job config parser (common/config/config.h). Any bytes are either a
// config or a clear error, never a crash. Invariants, any violation aborts:
//  - ParseConfig returns a config or kInvalidArgument (never another code: kInternal would
//    mean an unchecked access threw) whose message starts with the file's path;
//  - the values of "password", "oauth2_token" and "oauth2_token_command" never appear in
//    an error or a warning (checked for values of 8+ bytes that occur once in the input);
//  - a parsed config written out (ConfigToJson, the import template) parses again, and
//    writing that gives the same text: the writer and the parser agree.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/config/config.h"
#include "nlohmann/json.hpp"

namespace {

constexpr char kPath[] = "fuzz.json";

void Check(bool ok, const char* what, absl::string_view detail = "") {
  if (ok) return;
  std::fprintf(stderr, "config_fuzz: invariant violated: %s %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

size_t Occurrences(absl::string_view text, absl::string_view needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != absl::string_view::npos;
       pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// The secret values of the input's accounts that are distinctive enough to look for.
std::vector<std::string> Secrets(absl::string_view input) {
  std::vector<std::string> out;
  nlohmann::json root = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  if (!root.is_object() || !root.contains("accounts") || !root["accounts"].is_array()) {
    return out;
  }
  for (const nlohmann::json& a : root["accounts"]) {
    if (!a.is_object()) continue;
    for (const char* field : {"password", "oauth2_token", "oauth2_token_command"}) {
      auto it = a.find(field);
      if (it == a.end() || !it->is_string()) continue;
      const std::string& value = it->get_ref<const std::string&>();
      if (value.size() >= 8 && Occurrences(input, value) == 1) out.push_back(value);
    }
  }
  return out;
}

void CheckNoSecret(absl::string_view text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) Check(!absl::StrContains(text, s), "secret shown", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<config::Config> parsed = config::ParseConfig(input, kPath);
  std::vector<std::string> secrets = Secrets(input);
  if (!parsed.ok()) {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument, "unexpected code",
          parsed.status().ToString());
    Check(absl::StartsWith(parsed.status().message(), kPath), "error without the path",
          parsed.status().message());
    CheckNoSecret(parsed.status().message(), secrets);
    return 0;
  }
  for (const std::string& w : parsed->warnings) CheckNoSecret(w, secrets);

  std::string written = config::ConfigToJson(*parsed);
  absl::StatusOr<config::Config> again = config::ParseConfig(written, kPath);
  Check(again.ok(), "written config does not parse", again.status().ToString());
  Check(config::ConfigToJson(*again) == written, "write, parse, write is not stable", written);
  return 0;
}
