// COMPRESS=DEFLATE (RFC 4978): raw deflate streams (windowBits -15) in both
// directions.
#include "common/net/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace net {
namespace {

constexpr size_t kChunk = 16 * 1024;

// Owns the zlib state and its buffers; borrows `inner`. Not thread-safe.
class DeflateStream final : public ByteStream {
 public:
  explicit DeflateStream(ByteStream* inner) : inner_(inner) {}
  ~DeflateStream() override { Close(); }

  absl::Status Init();
  absl::StatusOr<size_t> Read(char* buf, size_t max) override;
  absl::Status Write(absl::string_view data) override;
  absl::Status Flush() override;
  // Ends this wrapper; the inner stream stays open (its owner closes it).
  void Close() override;
  std::string Describe() const override { return absl::StrCat(inner_->Describe(), " +DEFLATE"); }

 private:
  absl::Status CheckOpen() const;
  // Runs deflate() over the pending input with `flush`, writing all output to
  // the inner stream.
  absl::Status Deflate(int flush);
  // Refills the inflater's input from the inner stream. Sets `*eof` on end of
  // stream.
  absl::Status FillInput(bool* eof);

  ByteStream* const inner_;
  z_stream out_{};  // compressor
  z_stream in_{};   // decompressor
  bool out_init_ = false;
  bool in_init_ = false;
  bool dirty_ = false;     // bytes written since the last sync flush
  bool in_ended_ = false;  // the peer finished its deflate stream (Z_STREAM_END)
  bool closed_ = false;
  char out_buf_[kChunk];
  char in_buf_[kChunk];
};

absl::Status DeflateStream::Init() {
  if (deflateInit2(&out_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  out_init_ = true;
  if (inflateInit2(&in_, -15) != Z_OK) return absl::InternalError("inflateInit2 failed");
  in_init_ = true;
  in_.next_in = reinterpret_cast<Bytef*>(in_buf_);
  in_.avail_in = 0;
  return absl::OkStatus();
}

absl::Status DeflateStream::CheckOpen() const {
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat(inner_->Describe(), ": deflate stream is closed"));
  }
  return absl::OkStatus();
}

absl::Status DeflateStream::Deflate(int flush) {
  for (;;) {
    out_.next_out = reinterpret_cast<Bytef*>(out_buf_);
    out_.avail_out = kChunk;
    int rc = deflate(&out_, flush);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InternalError(absl::StrCat("deflate failed: ", rc));
    }
    const size_t produced = kChunk - out_.avail_out;
    if (produced > 0) RETURN_IF_ERROR(inner_->Write(absl::string_view(out_buf_, produced)));
    // Done when deflate had room to spare: all input consumed and all output
    // emitted.
    if (out_.avail_out != 0 && out_.avail_in == 0) return absl::OkStatus();
  }
}

absl::Status DeflateStream::Write(absl::string_view data) {
  RETURN_IF_ERROR(CheckOpen());
  while (!data.empty()) {
    const size_t take = std::min<size_t>(data.size(), std::numeric_limits<unsigned int>::max() / 2);
    out_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    out_.avail_in = static_cast<unsigned int>(take);
    absl::Status s = Deflate(Z_NO_FLUSH);
    out_.next_in = nullptr;
    out_.avail_in = 0;
    RETURN_IF_ERROR(s);
    data.remove_prefix(take);
    dirty_ = true;
  }
  return absl::OkStatus();
}

absl::Status DeflateStream::Flush() {
  RETURN_IF_ERROR(CheckOpen());
  if (dirty_) {
    RETURN_IF_ERROR(Deflate(Z_SYNC_FLUSH));
    dirty_ = false;
  }
  return inner_->Flush();
}

absl::Status DeflateStream::FillInput(bool* eof) {
  ASSIGN_OR_RETURN(size_t n, inner_->Read(in_buf_, kChunk));
  *eof = n == 0;
  in_.next_in = reinterpret_cast<Bytef*>(in_buf_);
  in_.avail_in = static_cast<unsigned int>(n);
  return absl::OkStatus();
}

absl::StatusOr<size_t> DeflateStream::Read(char* buf, size_t max) {
  RETURN_IF_ERROR(CheckOpen());
  if (max == 0) return absl::InvalidArgumentError("Read with an empty buffer");
  max = std::min<size_t>(max, std::numeric_limits<unsigned int>::max());
  for (;;) {
    if (in_.avail_in == 0) {
      bool eof = false;
      RETURN_IF_ERROR(FillInput(&eof));
      if (eof) return 0;  // end of the inner stream passes through
    }
    if (in_ended_) {
      return absl::DataLossError(
          absl::StrCat("data after the end of the deflate stream from ", inner_->Describe()));
    }
    in_.next_out = reinterpret_cast<Bytef*>(buf);
    in_.avail_out = static_cast<unsigned int>(max);
    int rc = inflate(&in_, Z_SYNC_FLUSH);
    const size_t produced = max - in_.avail_out;
    if (rc == Z_STREAM_END) in_ended_ = true;
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
      return absl::DataLossError(absl::StrCat("corrupt deflate data from ", inner_->Describe(),
                                              ": ", in_.msg ? in_.msg : "invalid data"));
    }
    if (rc == Z_MEM_ERROR) return absl::ResourceExhaustedError("inflate: out of memory");
    if (produced > 0) return produced;
    // Z_OK without output (a block header, an empty sync block) or Z_BUF_ERROR
    // (needs input): loop, reading more when the input is used up.
  }
}

void DeflateStream::Close() {
  if (closed_) return;
  closed_ = true;
  if (out_init_) deflateEnd(&out_);
  if (in_init_) inflateEnd(&in_);
  out_init_ = in_init_ = false;
}

}  // namespace

std::unique_ptr<ByteStream> WrapDeflate(ByteStream* inner) {
  auto stream = std::make_unique<DeflateStream>(inner);
  if (!stream->Init().ok()) return nullptr;
  return stream;
}

}  // namespace net
