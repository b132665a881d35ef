#include "common/engine/message_source.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace engine::internal {
namespace {
constexpr size_t kChunk = 64 * 1024;
}  // namespace

absl::StatusOr<size_t> StoreLiteralSource::ReadAt(uint64_t offset, char* buf, size_t max) const {
  if (!reader_ || offset != pos_) {
    ASSIGN_OR_RETURN(reader_, store_.Open(key_));
    pos_ = 0;
    if (reader_->size() != size_) {
      return absl::DataLossError(absl::StrCat(key_, ": size ", reader_->size(),
                                              " differs from its metadata (", size_, ")"));
    }
    std::vector<char> skip(kChunk);
    while (pos_ < offset) {
      ASSIGN_OR_RETURN(size_t n,
                       reader_->Read(skip.data(), std::min<uint64_t>(skip.size(), offset - pos_)));
      if (n == 0) break;
      pos_ += n;
    }
  }
  ASSIGN_OR_RETURN(size_t n, reader_->Read(buf, max));
  pos_ += n;
  return n;
}

absl::StatusOr<RepairScan> ScanRepair(const imap::LiteralSource& original,
                                      const imap::RepairOptions& options) {
  imap::MessageRepairer repairer(options);
  std::vector<char> buf(kChunk);
  std::string out;
  RepairScan scan;
  for (uint64_t at = 0;;) {
    ASSIGN_OR_RETURN(size_t n, original.ReadAt(at, buf.data(), buf.size()));
    if (n == 0) break;
    at += n;
    out.clear();
    repairer.Feed(absl::string_view(buf.data(), n), &out);
    scan.size += out.size();
  }
  out.clear();
  repairer.Finish(&out);
  scan.size += out.size();
  scan.counts = repairer.counts();
  return scan;
}

void RepairedSource::Restart() const {
  repairer_ = std::make_unique<imap::MessageRepairer>(options_);
  in_pos_ = 0;
  out_.clear();
  out_start_ = 0;
  finished_ = false;
}

absl::Status RepairedSource::Pull() const {
  std::vector<char> buf(kChunk);
  ASSIGN_OR_RETURN(size_t n, original_->ReadAt(in_pos_, buf.data(), buf.size()));
  if (n == 0) {
    repairer_->Finish(&out_);
    finished_ = true;
    if (out_start_ + out_.size() != size_) {
      return absl::DataLossError(absl::StrCat("the repaired message is ", out_start_ + out_.size(),
                                              " bytes, not ", size_, " (changed while read?)"));
    }
    return absl::OkStatus();
  }
  in_pos_ += n;
  repairer_->Feed(absl::string_view(buf.data(), n), &out_);
  if (out_start_ + out_.size() > size_) {
    return absl::DataLossError(absl::StrCat("the repaired message is longer than ", size_,
                                            " bytes (changed while read?)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> RepairedSource::ReadAt(uint64_t offset, char* buf, size_t max) const {
  if (!repairer_ || offset < out_start_) Restart();
  while (!finished_ && out_start_ + out_.size() <= offset) {
    // Nothing at `offset` yet: what lies before it is not needed any more.
    out_start_ += out_.size();
    out_.clear();
    RETURN_IF_ERROR(Pull());
  }
  if (offset >= out_start_ + out_.size()) return 0;
  const size_t skip = static_cast<size_t>(offset - out_start_);
  const size_t n = std::min(max, out_.size() - skip);
  std::memcpy(buf, out_.data() + skip, n);
  // Hand out from the front: drop what was read.
  out_.erase(0, skip + n);
  out_start_ = offset + n;
  return n;
}

}  // namespace engine::internal
