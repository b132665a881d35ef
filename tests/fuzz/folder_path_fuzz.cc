// Fuzz target for the folder-name-to-path mapping of the export layout
// (common/engine/layout.h: FolderPath, EscapeComponent, UnescapeComponent). The first input
// byte is the hierarchy delimiter (0: flat), the rest the folder name, any bytes.
// Invariants, any violation aborts:
//  - the path stays inside the account's directory: not empty, not absolute, no empty,
//    "." or ".." component, no component starting with '.' (so never ".folder.json" or a
//    ".tmp." temporary), no NUL or other control byte, no '\' or reserved character;
//  - no component ends in ".eml" or ".json" (so it never collides with a message's files);
//  - a key under it (account, path, message file) passes storage::ValidateKey when it fits
//    in the key length limit;
//  - one component per delimiter-separated part of the name, each at most 218 bytes;
//  - every component that was not cut (no "%~") unescapes to its part, so the path joined
//    back with the delimiter is the name; a cut one keeps an escaped prefix of its part
//    (never half an escape, never cut before a UTF-8 continuation byte) and a
//    16-hex-digit digest.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/engine/layout.h"
#include "common/storage/store.h"

namespace {

constexpr size_t kMaxCutComponent = 200 + 2 + 16;  // layout.cc's cut, "%~", the digest
constexpr size_t kMaxKeyBytes = 1024;              // storage::ValidateKey's limit

void Check(bool ok, const char* what, absl::string_view detail = "") {
  if (ok) return;
  std::fprintf(stderr, "folder_path_fuzz: invariant violated: %s \"%s\"\n", what,
               absl::CHexEscape(detail).c_str());
  std::abort();
}

bool Reserved(unsigned char c) {
  return c < 0x20 || c == 0x7f ||
         absl::string_view("\\:*?\"<>|").find(c) != absl::string_view::npos;
}

// A cut component: an escaped prefix of its part ending between whole %XX escapes and
// before a byte that is no UTF-8 continuation byte, "%~" and the digest.
void CheckCut(absl::string_view component, absl::string_view part) {
  size_t mark = component.find("%~");
  Check(mark != absl::string_view::npos && component.size() == mark + 18, "bad cut", component);
  for (char c : component.substr(mark + 2)) {
    Check(absl::ascii_isxdigit(static_cast<unsigned char>(c)) && !absl::ascii_isupper(c),
          "digest not lower-case hex", component);
  }
  absl::StatusOr<std::string> head = engine::UnescapeComponent(component.substr(0, mark));
  Check(head.ok(), "cut in the middle of an escape", component);
  Check(absl::StartsWith(part, *head), "cut prefix is not the part's", component);
  Check(head->size() < part.size(), "cut component holds its whole part", component);
  if (!head->empty()) {
    unsigned char next = static_cast<unsigned char>(part[head->size()]);
    Check((next & 0xc0) != 0x80, "cut inside a UTF-8 sequence", component);
  }
}

void CheckComponent(absl::string_view component, absl::string_view part) {
  Check(!component.empty(), "empty component", part);
  Check(component[0] != '.', "component starts with '.'", component);
  Check(component.size() <= kMaxCutComponent, "component too long", component);
  for (char c : component)
    Check(!Reserved(static_cast<unsigned char>(c)), "reserved byte", component);
  Check(
      !absl::EndsWithIgnoreCase(component, ".eml") && !absl::EndsWithIgnoreCase(component, ".json"),
      "file-like suffix", component);
  if (absl::StrContains(component, "%~")) {
    CheckCut(component, part);
    return;
  }
  absl::StatusOr<std::string> back = engine::UnescapeComponent(component);
  Check(back.ok(), "component does not unescape", component);
  Check(*back == part, "component does not round-trip", component);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  char delimiter = static_cast<char>(data[0]);
  absl::string_view name(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string path = engine::FolderPath(name, delimiter);
  Check(!path.empty() && path[0] != '/', "empty or absolute path", path);
  std::vector<absl::string_view> parts;
  if (delimiter == 0) {
    parts.push_back(name);
  } else {
    parts = absl::StrSplit(name, delimiter);
  }
  std::vector<absl::string_view> components = absl::StrSplit(path, '/');
  Check(components.size() == parts.size(), "one component per part", path);
  for (size_t i = 0; i < parts.size(); ++i) CheckComponent(components[i], parts[i]);

  // A whole key under the folder, as export writes it.
  std::string key = absl::StrCat(engine::FolderPrefix("user@example.com", path),
                                 engine::MessageBase(1, 1), ".eml");
  if (key.size() <= kMaxKeyBytes) {
    absl::Status valid = storage::ValidateKey(key);
    Check(valid.ok(), "key refused by ValidateKey", std::string(valid.message()));
  }
  return 0;
}
