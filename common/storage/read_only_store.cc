// ReadOnlyView and OpenStoreReadOnly (store.h): what a dry run reads, and never writes.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/storage/store.h"

namespace storage {
namespace {

absl::Status Refused(const Store& store, absl::string_view op, absl::string_view key) {
  return absl::FailedPreconditionError(
      absl::StrCat(store.Describe(), ": ", op, " ", key, " refused: the store is read-only"));
}

// Reads through to `store_` (or, without one, reads as empty); refuses writes.
class ReadOnlyStore : public Store {
 public:
  ReadOnlyStore(Store* store, std::unique_ptr<Store> owned, std::string absent)
      : store_(store), owned_(std::move(owned)), absent_(std::move(absent)) {}

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const std::string& key) override {
    return Refused(*this, "write", key);
  }
  absl::Status Delete(const std::string& key) override { return Refused(*this, "delete", key); }
  absl::Status Sync() override { return absl::OkStatus(); }

  absl::StatusOr<std::string> Get(const std::string& key) override {
    if (store_ == nullptr) return NotThere(key);
    return store_->Get(key);
  }
  absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& key) override {
    if (store_ == nullptr) return NotThere(key);
    return store_->Open(key);
  }
  absl::StatusOr<bool> Exists(const std::string& key) override {
    if (store_ == nullptr) return false;
    return store_->Exists(key);
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (store_ == nullptr) return std::vector<ObjectInfo>();
    return store_->List(prefix);
  }
  int64_t FreeBytes() override { return store_ == nullptr ? -1 : store_->FreeBytes(); }
  std::string Describe() const override { return store_ == nullptr ? absent_ : store_->Describe(); }

 private:
  absl::Status NotThere(const std::string& key) const {
    return absl::NotFoundError(absl::StrCat(absent_, ": ", key, ": no such object"));
  }

  Store* store_;                  // null: the location does not exist (empty)
  std::unique_ptr<Store> owned_;  // when the view owns what it reads
  std::string absent_;
};

}  // namespace

std::unique_ptr<Store> ReadOnlyView(Store& store) {
  return std::make_unique<ReadOnlyStore>(&store, nullptr, "");
}

absl::StatusOr<std::unique_ptr<Store>> OpenStoreReadOnly(const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("empty store location");
  if (!absl::StartsWithIgnoreCase(location, "s3://")) {
    struct stat st;
    if (::stat(location.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        return absl::PermissionDeniedError(
            absl::StrCat("dir:", location, ": ", std::strerror(errno)));
      }
      return std::unique_ptr<Store>(std::make_unique<ReadOnlyStore>(
          nullptr, nullptr, absl::StrCat("dir:", location, " (does not exist)")));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(location));
  Store* raw = store.get();
  return std::unique_ptr<Store>(std::make_unique<ReadOnlyStore>(raw, std::move(store), ""));
}

}  // namespace storage
