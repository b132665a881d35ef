// The filesystem Store (see fs_store.h).
#include "common/storage/fs_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/sys/file.h"

namespace storage {
namespace {

constexpr char kTmpPrefix[] = ".tmp.";

absl::StatusCode CodeForErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case ELOOP:
      return absl::StatusCode::kFailedPrecondition;
    case ENAMETOOLONG:
    case EINVAL:
      return absl::StatusCode::kInvalidArgument;
    case EAGAIN:
    case EINTR:
    case ETIMEDOUT:
    case ESTALE:
    case EBUSY:
    case ENOLCK:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

// The parent directory of `key` relative to the root ("" for a top-level key).
std::string ParentOf(absl::string_view key) {
  size_t slash = key.rfind('/');
  return slash == absl::string_view::npos ? "" : std::string(key.substr(0, slash));
}

std::string BaseOf(absl::string_view key) {
  size_t slash = key.rfind('/');
  return std::string(slash == absl::string_view::npos ? key : key.substr(slash + 1));
}

absl::Status FsyncDir(const std::string& path, absl::string_view rel, const FsStore& store) {
  int err = 0;
  if (sys::SyncDirectory(path, &err)) return absl::OkStatus();
  if (err == ENOENT) return absl::OkStatus();  // removed since: nothing to persist
  return ErrnoStatus(err, "fsync directory", rel.empty() ? "." : rel, store.root());
}

// Absolute and without "." / empty components; ".." is kept as written.
std::string AbsoluteRoot(const std::string& root) {
  std::string abs = root;
  if (abs.empty() || abs[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) abs = absl::StrCat(cwd, "/", root);
  }
  std::string out;
  for (absl::string_view part : absl::StrSplit(abs, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    absl::StrAppend(&out, "/", part);
  }
  return out.empty() ? "/" : out;
}

class FsReader : public Reader {
 public:
  FsReader(int fd, uint64_t size, std::string key, std::string root)
      : fd_(fd), size_(size), key_(std::move(key)), root_(std::move(root)) {}
  ~FsReader() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> Read(char* buf, size_t max) override {
    for (;;) {
      ssize_t n = ::read(fd_, buf, max);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus(errno, "read", key_, root_);
    }
  }

 private:
  int fd_;
  uint64_t size_;
  std::string key_;
  std::string root_;
};

}  // namespace

absl::Status ErrnoStatus(int err, absl::string_view op, absl::string_view key,
                         absl::string_view root) {
  std::string problem = std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) problem = absl::StrCat("disk full (", problem, ")");
  return absl::Status(CodeForErrno(err),
                      absl::StrCat("dir:", root, ": ", op, " ", key, ": ", problem));
}

// Streams into a temporary beside the key; Commit renames it into place.
class FsWriter : public Writer {
 public:
  FsWriter(FsStore* store, std::string key, std::string tmp, int fd)
      : store_(store), key_(std::move(key)), tmp_(std::move(tmp)), fd_(fd) {
    buffer_.reserve(store_->options_.buffer_bytes);
  }
  ~FsWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  absl::Status Append(absl::string_view data) override {
    RETURN_IF_ERROR(Usable());
    bytes_ += data.size();
    if (buffer_.size() + data.size() <= store_->options_.buffer_bytes) {
      buffer_.append(data.data(), data.size());
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Flush());
    if (data.size() >= store_->options_.buffer_bytes) return WriteOut(data.data(), data.size());
    buffer_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Commit() override { return CommitAs(key_); }
  absl::Status CommitAs(const std::string& key) override {
    RETURN_IF_ERROR(Usable());
    RETURN_IF_ERROR(ValidateKey(key));
    RETURN_IF_ERROR(Flush());
    if (fd_ >= 0) {  // still open unless a previous rename failed (then retry it)
      if (store_->options_.fsync && ::fsync(fd_) != 0) return Fail(errno, "fsync", key);
      int rc = ::close(fd_);
      fd_ = -1;
      if (rc != 0) return Fail(errno, "close", key);
    }
    if (ParentOf(key) != ParentOf(key_)) RETURN_IF_ERROR(store_->MakeParents(key));
    if (::rename(tmp_.c_str(), store_->PathOf(key).c_str()) != 0) {
      // A rename failure leaves the complete temporary: the caller may retry CommitAs.
      int err = errno;
      return store_->Err(err, "commit", key);
    }
    committed_ = true;
    return store_->Committed(key);
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  absl::Status Usable() const {
    if (committed_) return absl::FailedPreconditionError("writer already committed: " + key_);
    return status_;
  }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    absl::Status s = WriteOut(buffer_.data(), buffer_.size());
    buffer_.clear();
    return s;
  }
  absl::Status WriteOut(const char* data, size_t size) {
    int err = 0;
    if (!sys::WriteAll(fd_, absl::string_view(data, size), &err)) return Fail(err, "write", key_);
    return absl::OkStatus();
  }
  // Remembers the first failure: the writer is dead from then on (the temp is removed
  // at destruction).
  absl::Status Fail(int err, absl::string_view op, absl::string_view key) {
    status_ = store_->Err(err, op, key);
    return status_;
  }

  FsStore* store_;
  std::string key_;
  std::string tmp_;
  int fd_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  bool committed_ = false;
  absl::Status status_;
};

FsStore::FsStore(std::string root, FsStoreOptions options)
    : root_(std::move(root)), options_(options) {}

absl::StatusOr<std::unique_ptr<FsStore>> FsStore::Create(const std::string& root,
                                                         FsStoreOptions options) {
  if (root.empty()) return absl::InvalidArgumentError("empty store directory");
  std::string abs = AbsoluteRoot(root);
  std::string path;
  for (absl::string_view part : absl::StrSplit(abs, '/', absl::SkipEmpty())) {
    absl::StrAppend(&path, "/", part);
    if (::mkdir(path.c_str(), options.dir_mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "create directory", path, abs);
    }
  }
  struct stat st;
  if (::stat(abs.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", ".", abs);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("dir:", abs, ": not a directory"));
  }
  return std::unique_ptr<FsStore>(new FsStore(abs == "/" ? "" : abs, options));
}

absl::Status FsStore::MakeParents(absl::string_view key) {
  for (size_t slash = key.find('/'); slash != absl::string_view::npos;
       slash = key.find('/', slash + 1)) {
    std::string dir = PathOf(key.substr(0, slash));
    if (::mkdir(dir.c_str(), options_.dir_mode) != 0 && errno != EEXIST) {
      return Err(errno, "create directory for", key);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Writer>> FsStore::NewWriter(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::string parent = ParentOf(key);
  std::string dir = parent.empty() ? root_ : PathOf(parent);
  std::string tmp;
  int err = 0;
  int fd = sys::CreateTempFile(dir, BaseOf(key), options_.file_mode, &tmp, &err);
  if (fd < 0 && err == ENOENT) {
    RETURN_IF_ERROR(MakeParents(key));
    fd = sys::CreateTempFile(dir, BaseOf(key), options_.file_mode, &tmp, &err);
  }
  if (fd >= 0) return std::unique_ptr<Writer>(new FsWriter(this, key, std::move(tmp), fd));
  if (err != EEXIST) return Err(err, "create", key);
  return absl::InternalError(absl::StrCat(Describe(), ": create ", key, ": no free temp name"));
}

absl::Status FsStore::Committed(absl::string_view key) {
  std::string parent = ParentOf(key);
  if (options_.fsync_dir)
    return FsyncDir(parent.empty() ? root_ + "/" : PathOf(parent), parent, *this);
  absl::MutexLock lock(&mu_);
  dirty_dirs_.insert(std::move(parent));
  return absl::OkStatus();
}

absl::Status FsStore::Sync() {
  std::set<std::string> dirs;
  {
    absl::MutexLock lock(&mu_);
    dirs.swap(dirty_dirs_);
  }
  if (!options_.fsync) {
    // Files were not fsynced one by one: flush the whole filesystem once.
    int fd = ::open((root_ + "/").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Err(errno, "open", ".");
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    return rc == 0 ? absl::OkStatus() : Err(err, "syncfs", ".");
  }
  absl::Status first;
  for (const std::string& rel : dirs) {
    absl::Status s = FsyncDir(rel.empty() ? root_ + "/" : PathOf(rel), rel, *this);
    if (first.ok()) first = s;
  }
  return first;
}

absl::StatusOr<std::unique_ptr<Reader>> FsStore::Open(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  int fd = ::open(PathOf(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(errno, "open", key);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Err(err, "stat", key);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat(Describe(), ": open ", key, ": not an object"));
  }
  return std::unique_ptr<Reader>(new FsReader(fd, static_cast<uint64_t>(st.st_size), key, root_));
}

absl::StatusOr<std::string> FsStore::Get(const std::string& key) {
  ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Open(key));
  if (reader->size() > kMaxGetBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": get ", key, ": ", reader->size(), " bytes is too large for Get()"));
  }
  std::string out;
  out.resize(reader->size());
  size_t have = 0;
  for (;;) {
    if (have == out.size()) out.resize(std::max<size_t>(out.size() * 2, 4096));  // grew
    ASSIGN_OR_RETURN(size_t n, reader->Read(&out[have], out.size() - have));
    if (n == 0) break;
    have += n;
    if (have > kMaxGetBytes) return Err(EFBIG, "get", key);
  }
  out.resize(have);
  return out;
}

absl::StatusOr<bool> FsStore::Exists(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  struct stat st;
  if (::stat(PathOf(key).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Err(errno, "stat", key);
  }
  return S_ISREG(st.st_mode);
}

absl::Status FsStore::Delete(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  if (::unlink(PathOf(key).c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Err(errno, "delete", key);
  }
  absl::MutexLock lock(&mu_);
  dirty_dirs_.insert(ParentOf(key));
  return absl::OkStatus();
}

absl::Status FsStore::ListDir(const std::string& rel, std::vector<ObjectInfo>* out) {
  std::string dir_path = rel.empty() ? root_ + "/" : PathOf(rel);
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Err(errno, "list", rel.empty() ? "." : rel);
  }
  std::vector<std::string> subdirs;
  absl::Status status;
  while (struct dirent* e = ::readdir(dir)) {
    absl::string_view name = e->d_name;
    if (name == "." || name == ".." || absl::StartsWith(name, kTmpPrefix)) continue;
    std::string key = rel.empty() ? std::string(name) : absl::StrCat(rel, "/", name);
    struct stat st;
    if (::fstatat(::dirfd(dir), e->d_name, &st, 0) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile, or a dangling symlink
      status = Err(errno, "stat", key);
      break;
    }
    if (!ValidateKey(key).ok()) {
      LOG(WARNING) << Describe() << ": skipping a file whose name is not a valid key";
      continue;
    }
    if (S_ISDIR(st.st_mode)) subdirs.push_back(std::move(key));
    if (S_ISREG(st.st_mode)) {
      out->push_back(
          {std::move(key), static_cast<uint64_t>(st.st_size), absl::TimeFromTimespec(st.st_mtim)});
    }
  }
  ::closedir(dir);
  RETURN_IF_ERROR(status);
  for (const std::string& sub : subdirs) RETURN_IF_ERROR(ListDir(sub, out));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ObjectInfo>> FsStore::List(const std::string& prefix) {
  if (!prefix.empty()) {
    if (prefix.back() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("list prefix must be empty or end with '/': \"", prefix, "\""));
    }
    RETURN_IF_ERROR(ValidateKey(absl::string_view(prefix).substr(0, prefix.size() - 1)));
  }
  std::vector<ObjectInfo> out;
  RETURN_IF_ERROR(ListDir(prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1), &out));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

int64_t FsStore::FreeBytes() {
  struct statvfs vfs;
  if (::statvfs((root_ + "/").c_str(), &vfs) != 0) return -1;
  return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

std::string FsStore::Describe() const { return "dir:" + (root_.empty() ? "/" : root_); }

}  // namespace storage
