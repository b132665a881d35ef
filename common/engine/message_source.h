// A message of the export as the literal of an APPEND: its bytes as exported, read from the
// store on demand, or those bytes repaired (--fix-messages, imap/message_repair.h) as they
// are read, so neither needs the whole message in memory. The export is never changed.
// Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_MESSAGE_SOURCE_H_
#define MIGRATOR_COMMON_ENGINE_MESSAGE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/imap/command.h"
#include "common/imap/message_repair.h"
#include "common/storage/store.h"

namespace engine::internal {

// The bytes of `key` (`size` long, as its metadata says), read sequentially; a read at
// another offset reopens. kDataLoss when the object's size differs from `size`. Named in
// errors by its UID on server A.
class StoreLiteralSource : public imap::LiteralSource {
 public:
  StoreLiteralSource(storage::Store& store, std::string key, uint64_t size, uint64_t source_uid)
      : store_(store), key_(std::move(key)), size_(size), source_uid_(source_uid) {}
  uint64_t size() const override { return size_; }
  std::string Describe() const override { return absl::StrCat("source UID ", source_uid_); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override;

 private:
  storage::Store& store_;
  std::string key_;
  uint64_t size_;
  uint64_t source_uid_;
  mutable std::unique_ptr<storage::Reader> reader_;
  mutable uint64_t pos_ = 0;
};

// What repairing a message would give: its size and what would change (nothing changed:
// the message needs no repair).
struct RepairScan {
  uint64_t size = 0;
  imap::RepairCounts counts;
};
// Reads `original` whole through a repairer, keeping nothing but the counts.
absl::StatusOr<RepairScan> ScanRepair(const imap::LiteralSource& original,
                                      const imap::RepairOptions& options);

// `original` repaired, as it is read (sequentially; a read at an earlier offset starts the
// repair over). `size` is ScanRepair's; kDataLoss when the repair gives another length
// (the original changed in between).
class RepairedSource : public imap::LiteralSource {
 public:
  RepairedSource(std::shared_ptr<const imap::LiteralSource> original, imap::RepairOptions options,
                 uint64_t size)
      : original_(std::move(original)), options_(options), size_(size) {}
  uint64_t size() const override { return size_; }
  std::string Describe() const override { return original_->Describe(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override;

 private:
  void Restart() const;
  absl::Status Pull() const;  // repairs the next chunk of the original into out_

  std::shared_ptr<const imap::LiteralSource> original_;
  imap::RepairOptions options_;
  uint64_t size_;
  mutable std::unique_ptr<imap::MessageRepairer> repairer_;
  mutable uint64_t in_pos_ = 0;     // of the original read so far
  mutable std::string out_;         // repaired bytes not handed out yet
  mutable uint64_t out_start_ = 0;  // offset of out_[0] in the repaired message
  mutable bool finished_ = false;   // the original was read to its end
};

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_MESSAGE_SOURCE_H_
