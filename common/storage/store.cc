// Store::Put, ValidateKey and OpenStore's dispatch.
#include "common/storage/store.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "common/storage/fs_store.h"
#include "common/storage/s3_store.h"

namespace storage {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxShownKey = 120;

std::string Shown(absl::string_view key) {
  std::string s = absl::CHexEscape(key.substr(0, kMaxShownKey));
  if (key.size() > kMaxShownKey) s += "...";
  return absl::StrCat("\"", s, "\"");
}

absl::Status Invalid(absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("invalid key ", Shown(key), ": ", problem));
}

}  // namespace

absl::Status Store::Put(const std::string& key, absl::string_view data) {
  ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, NewWriter(key));
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit();
}

absl::Status ValidateKey(absl::string_view key) {
  if (key.empty()) return Invalid(key, "empty");
  if (key.size() > kMaxKeyBytes) return Invalid(key, "longer than 1024 bytes");
  if (key.front() == '/') return Invalid(key, "absolute (begins with '/')");
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(key, "contains a control byte");
    }
  }
  for (absl::string_view part : absl::StrSplit(key, '/')) {
    if (part.empty()) return Invalid(key, "empty component");
    if (part == "." || part == "..") return Invalid(key, "\".\" or \"..\" component");
    if (absl::StartsWith(part, ".tmp.")) {
      return Invalid(key, "component begins with \".tmp.\" (reserved)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("empty store location");
  if (absl::StartsWithIgnoreCase(location, "s3://")) {
    ASSIGN_OR_RETURN(S3Options options, S3OptionsFromLocation(location));
    ASSIGN_OR_RETURN(std::unique_ptr<S3Store> s3, S3Store::Create(std::move(options)));
    return std::unique_ptr<Store>(std::move(s3));
  }
  FsStoreOptions options;
  options.fsync = false;  // durability is batched: see Sync() and the header
  ASSIGN_OR_RETURN(std::unique_ptr<FsStore> fs, FsStore::Create(location, options));
  return std::unique_ptr<Store>(std::move(fs));
}

}  // namespace storage
