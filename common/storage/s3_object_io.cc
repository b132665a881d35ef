// S3 object data: the Writer (memory buffer spilling to a temporary file, one PUT on
// commit), the Reader (ranged GETs of bounded size) and Get (see s3_store.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"
#include "common/storage/fs_store.h"
#include "common/storage/s3_store.h"
#include "common/sys/file.h"

namespace storage {
namespace {

// A BodySource over the first `size` bytes of a file (the writer's spill file).
class FileSource : public s3::BodySource {
 public:
  FileSource(int fd, uint64_t size, std::string what)
      : fd_(fd), size_(size), what_(std::move(what)) {}
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) override {
    if (offset >= size_) return 0;
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, size_ - offset));
    for (;;) {
      ssize_t n = ::pread(fd_, buf, want, static_cast<off_t>(offset));
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return absl::DataLossError(absl::StrCat(what_, ": spill file truncated"));
      if (errno != EINTR) {
        return absl::InternalError(absl::StrCat(what_, ": read spill file: ", strerror(errno)));
      }
    }
  }

 private:
  int fd_;
  uint64_t size_;
  std::string what_;
};

// Keeps the first `max` bytes of a body, then stops the transfer (kCancelled).
class PrefixSink : public s3::BodySink {
 public:
  PrefixSink(std::string* out, size_t max) : out_(out), max_(max) {}
  absl::Status Write(absl::string_view data) override {
    size_t room = max_ - std::min(max_, out_->size());
    out_->append(data.data(), std::min(room, data.size()));
    if (data.size() > room) return absl::CancelledError("first chunk complete");
    return absl::OkStatus();
  }
  void Reset() override { out_->clear(); }

 private:
  std::string* out_;
  size_t max_;
};

std::string SpillDir(const S3Options& options) {
  if (!options.spill_dir.empty()) return options.spill_dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
}

// "bytes 0-9/100" → first 0, last 9, total 100.
bool ParseContentRange(absl::string_view v, uint64_t* first, uint64_t* last, uint64_t* total) {
  if (!absl::ConsumePrefix(&v, "bytes ")) return false;
  size_t dash = v.find('-');
  size_t slash = v.find('/');
  if (dash == absl::string_view::npos || slash == absl::string_view::npos || dash > slash) {
    return false;
  }
  return absl::SimpleAtoi(v.substr(0, dash), first) &&
         absl::SimpleAtoi(v.substr(dash + 1, slash - dash - 1), last) &&
         absl::SimpleAtoi(v.substr(slash + 1), total) && *first <= *last && *last < *total;
}

std::string HeaderOf(const s3::HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

// Buffers in memory, spills to an unlinked temporary file past the memory limit, and
// PUTs everything on commit.
class S3Writer : public Writer {
 public:
  S3Writer(S3Store* store, std::string key) : store_(store), key_(std::move(key)) {}
  ~S3Writer() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(absl::string_view data) override {
    RETURN_IF_ERROR(Usable());
    if (!sha_hex_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(store_->Describe(), ": append to ", key_, " after a commit attempt"));
    }
    if (data.size() > S3Store::kMaxPutBytes - bytes_) {
      status_ = absl::ResourceExhaustedError(absl::StrCat(
          store_->Describe(), ": put ", key_,
          ": EntityTooLarge: objects over 5 GiB need multipart upload (not implemented)"));
      return status_;
    }
    sha_.Update(data);
    bytes_ += data.size();
    if (fd_ < 0 && memory_.size() + data.size() <= store_->options_.memory_buffer_bytes) {
      memory_.append(data.data(), data.size());
      return absl::OkStatus();
    }
    if (fd_ < 0) RETURN_IF_ERROR(Spill());
    return WriteOut(data);
  }

  absl::Status Commit() override { return CommitAs(key_); }

  absl::Status CommitAs(const std::string& key) override {
    RETURN_IF_ERROR(Usable());
    RETURN_IF_ERROR(ValidateKey(key));
    if (sha_hex_.empty()) sha_hex_ = sha_.HexDigest();
    // A failed PUT keeps the data: the caller may retry the commit.
    if (fd_ >= 0) {
      FileSource source(fd_, bytes_, store_->Describe());
      RETURN_IF_ERROR(store_->PutObject(key, &source, sha_hex_));
      ::close(fd_);
      fd_ = -1;
    } else {
      s3::StringSource source(memory_);
      RETURN_IF_ERROR(store_->PutObject(key, &source, sha_hex_));
      std::string().swap(memory_);
    }
    committed_ = true;
    return absl::OkStatus();
  }

  uint64_t bytes_written() const override { return bytes_; }

 private:
  absl::Status Usable() const {
    if (committed_) return absl::FailedPreconditionError("writer already committed: " + key_);
    return status_;
  }

  // Moves the memory buffer into a new unlinked temporary file.
  absl::Status Spill() {
    std::string dir = SpillDir(store_->options_);
    std::string path = dir + "/.mig-s3-spill.XXXXXX";
    int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return Fail(errno, dir);
    ::unlink(path.c_str());
    fd_ = fd;
    absl::Status s = WriteOut(memory_);
    std::string().swap(memory_);
    return s;
  }

  absl::Status WriteOut(absl::string_view data) {
    int err = 0;
    if (!sys::WriteAll(fd_, data, &err)) return Fail(err, SpillDir(store_->options_));
    return absl::OkStatus();
  }

  // Remembers the first spill failure: the writer is dead from then on.
  // Out of space is kResourceExhausted; anything else about the spill directory is a local
  // setup problem (kFailedPrecondition), not "object absent" or "no permission on the store".
  absl::Status Fail(int err, const std::string& dir) {
    absl::Status s = ErrnoStatus(err, "spill to a temporary file for", key_, dir);
    absl::StatusCode code = s.code() == absl::StatusCode::kResourceExhausted
                                ? s.code()
                                : absl::StatusCode::kFailedPrecondition;
    status_ = absl::Status(code, absl::StrCat(store_->Describe(), ": ", s.message()));
    return status_;
  }

  S3Store* store_;
  std::string key_;
  std::string memory_;
  int fd_ = -1;  // the spill file, once memory_buffer_bytes is exceeded
  uint64_t bytes_ = 0;
  crypto::Sha256 sha_;
  std::string sha_hex_;  // set by the first commit attempt
  bool committed_ = false;
  absl::Status status_;
};

// Reads an object one ranged GET (read_chunk_bytes) at a time.
class S3Reader : public Reader {
 public:
  static absl::StatusOr<std::unique_ptr<Reader>> Open(S3Store* store, const std::string& key);

  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> Read(char* buf, size_t max) override {
    if (pos_ == buffer_.size()) {
      if (offset_ >= size_ || max == 0) return 0;
      RETURN_IF_ERROR(FetchChunk());
    }
    size_t n = std::min(max, buffer_.size() - pos_);
    std::memcpy(buf, buffer_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  S3Reader(S3Store* store, std::string key) : store_(store), key_(std::move(key)) {}

  // The next chunk: a ranged GET of [offset_, offset_ + read_chunk_bytes) into buffer_,
  // which must come from the same version of the object (ETag) as the first one.
  absl::Status FetchChunk() {
    buffer_.clear();
    pos_ = 0;
    uint64_t want = std::min<uint64_t>(store_->options_.read_chunk_bytes, size_ - offset_);
    s3::StringSink sink(&buffer_, want,
                        absl::InternalError(absl::StrCat(store_->Where(), ": read ", key_,
                                                         ": more bytes than the range asked")));
    S3Store::Call call;
    call.method = "GET";
    call.key = key_;
    call.extra_headers.push_back(absl::StrCat("Range: bytes=", offset_, "-", offset_ + want - 1));
    if (!etag_.empty()) call.extra_headers.push_back("If-Match: " + etag_);
    call.sink = &sink;
    ASSIGN_OR_RETURN(s3::HttpResponse response, store_->Send(call, "read"));
    std::string etag = HeaderOf(response, "etag");
    if (response.status == 412 || (response.status == 206 && etag != etag_)) {
      return absl::AbortedError(
          absl::StrCat(store_->Where(), ": read ", key_, ": the object changed while being read"));
    }
    if (response.status != 206) {
      if (response.status >= 200 && response.status < 300) {
        return absl::InternalError(absl::StrCat(store_->Where(), ": read ", key_, ": HTTP ",
                                                response.status, " to a Range request"));
      }
      return store_->HttpError("read", key_, response);
    }
    uint64_t first = 0, last = 0, total = 0;
    if (!ParseContentRange(HeaderOf(response, "content-range"), &first, &last, &total) ||
        first != offset_ || total != size_ || buffer_.size() != want) {
      return absl::InternalError(
          absl::StrCat(store_->Where(), ": read ", key_, ": unexpected range in the response"));
    }
    offset_ += buffer_.size();
    return absl::OkStatus();
  }

  S3Store* store_;
  std::string key_;
  uint64_t size_ = 0;
  std::string etag_;     // of the first response; every later chunk must match
  uint64_t offset_ = 0;  // of the next byte to fetch
  std::string buffer_;   // one chunk
  size_t pos_ = 0;       // next byte of buffer_ to hand out
};

// A plain GET whose first chunk is kept and the rest cut off (so a small object costs one
// request, and no Range is sent for an empty object, which servers answer differently).
absl::StatusOr<std::unique_ptr<Reader>> S3Reader::Open(S3Store* store, const std::string& key) {
  std::unique_ptr<S3Reader> r(new S3Reader(store, key));
  PrefixSink sink(&r->buffer_, store->options_.read_chunk_bytes);
  S3Store::Call call;
  call.method = "GET";
  call.key = key;
  call.sink = &sink;
  ASSIGN_OR_RETURN(s3::HttpResponse response, store->Send(call, "open"));
  if (response.status < 200 || response.status >= 300) {
    return store->HttpError("open", key, response);
  }
  r->etag_ = HeaderOf(response, "etag");
  uint64_t length = 0;
  bool has_length = absl::SimpleAtoi(HeaderOf(response, "content-length"), &length);
  if (!has_length && !response.stopped_by_sink) length = r->buffer_.size();
  if ((!has_length && response.stopped_by_sink) || r->buffer_.size() > length ||
      (!response.stopped_by_sink && r->buffer_.size() != length)) {
    return absl::InternalError(
        absl::StrCat(store->Where(), ": open ", key, ": body does not match its Content-Length"));
  }
  r->size_ = length;
  r->offset_ = r->buffer_.size();
  return std::unique_ptr<Reader>(std::move(r));
}

absl::StatusOr<std::unique_ptr<Writer>> S3Store::NewWriter(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  return std::unique_ptr<Writer>(new S3Writer(this, key));
}

absl::StatusOr<std::unique_ptr<Reader>> S3Store::Open(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  return S3Reader::Open(this, key);
}

absl::StatusOr<std::string> S3Store::Get(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::string body;
  s3::StringSink sink(
      &body, kMaxGetBytes,
      absl::FailedPreconditionError(absl::StrCat(Where(), ": get ", key, ": larger than ",
                                                 kMaxGetBytes, " bytes, too large for Get()")));
  Call call;
  call.method = "GET";
  call.key = key;
  call.sink = &sink;
  ASSIGN_OR_RETURN(s3::HttpResponse response, Send(call, "get"));
  if (response.status < 200 || response.status >= 300) return HttpError("get", key, response);
  return body;
}

}  // namespace storage
