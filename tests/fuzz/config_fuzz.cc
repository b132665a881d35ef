// Fuzz target for the job config parser (common/config/config.h). Any bytes are either a
// config or a clear error, never a crash. Invariants, any violation aborts:
//  - ParseConfig returns a config or kInvalidArgument (never another code: kInternal would
//    mean an unchecked access threw) whose message starts with the file's path;
//  - the values of "password", "oauth2_token" and "oauth2_token_command" never appear in
//    an error or a warning (checked on the input with each such value replaced by a
//    marker no message can hold by chance);
//  - a parsed config written out (ConfigToJson, the import template) parses again, and
//    writing that gives the same text: the writer and the parser agree.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

constexpr char kMarker[] = "Mig-Fuzz-Secret-Marker";

// The input with every secret value of its accounts replaced by a marker that no message
// text can contain by chance; "" when the input has no such value.
std::string WithMarkedSecrets(absl::string_view input) {
  nlohmann::json root = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  if (!root.is_object() || !root.contains("accounts") || !root["accounts"].is_array()) {
    return "";
  }
  int marked = 0;
  for (nlohmann::json& a : root["accounts"]) {
    if (!a.is_object()) continue;
    for (const char* field : {"password", "oauth2_token", "oauth2_token_command"}) {
      auto it = a.find(field);
      if (it == a.end() || !it->is_string()) continue;
      *it = absl::StrCat(kMarker, "-", ++marked);
    }
  }
  return marked == 0 ? "" : root.dump();
}

// The secrets never show in an error or a warning.
void CheckSecretsHidden(absl::string_view input) {
  std::string marked = WithMarkedSecrets(input);
  if (marked.empty()) return;
  absl::StatusOr<config::Config> parsed = config::ParseConfig(marked, kPath);
  if (!parsed.ok()) {
    Check(!absl::StrContains(parsed.status().message(), kMarker), "secret in an error",
          parsed.status().message());
    return;
  }
  for (const std::string& w : parsed->warnings) {
    Check(!absl::StrContains(w, kMarker), "secret in a warning", w);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckSecretsHidden(input);
  absl::StatusOr<config::Config> parsed = config::ParseConfig(input, kPath);
  if (!parsed.ok()) {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument, "unexpected code",
          parsed.status().ToString());
    Check(absl::StartsWith(parsed.status().message(), kPath), "error without the path",
          parsed.status().message());
    return 0;
  }

  std::string written = config::ConfigToJson(*parsed);
  absl::StatusOr<config::Config> again = config::ParseConfig(written, kPath);
  Check(again.ok(), "written config does not parse", again.status().ToString());
  Check(config::ConfigToJson(*again) == written, "write, parse, write is not stable", written);
  return 0;
}
