// Whole writes and reads, exclusive temporaries, directory fsync, atomic file
// writes.
#include "common/sys/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sys {
namespace {

constexpr size_t kMaxTempBaseBytes = 200;  // keeps ".tmp.<base>.<16 hex>" under 255
constexpr int kTempNameAttempts = 16;

void SetErr(int* err, int value) {
  if (err != nullptr) *err = value;
}

absl::Status WriteError(const std::string& path, absl::string_view step, int err) {
  std::string msg = absl::StrCat("cannot write ", path, ": ", step, ": ", std::strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOENT:
      return absl::NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace

bool WriteAll(int fd, absl::string_view data, int* err) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      SetErr(err, errno);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadAll(int fd, size_t max_bytes, std::string* out, int* err) {
  char buf[16384];
  size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      SetErr(err, errno);
      return false;
    }
    if (n == 0) return true;
    got += static_cast<size_t>(n);
    if (got > max_bytes) {
      SetErr(err, EFBIG);
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

int CreateTempFile(const std::string& dir, absl::string_view base, mode_t mode, std::string* path,
                   int* err) {
  absl::BitGen gen;
  base = base.substr(0, kMaxTempBaseBytes);
  for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
    *path = absl::StrFormat("%s/.tmp.%s.%016x", dir, base, absl::Uniform<uint64_t>(gen));
    int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    if (errno != EEXIST) break;
  }
  SetErr(err, errno);
  return -1;
}

bool SyncDirectory(const std::string& dir, int* err) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    SetErr(err, errno);
    return false;
  }
  int rc = ::fsync(fd);
  if (rc != 0) SetErr(err, errno);
  ::close(fd);
  return rc == 0;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 const AtomicWriteOptions& options) {
  return WriteFileAtomicallyFrom(
      path, [data](PieceWriter write) { write(data); }, options);
}

absl::Status WriteFileAtomicallyFrom(const std::string& path,
                                     absl::FunctionRef<void(PieceWriter)> produce,
                                     const AtomicWriteOptions& options) {
  const std::string dir = DirName(path);
  std::string tmp;
  int err = 0;
  // Created with `mode` at most: the file never has wider permissions.
  int fd = CreateTempFile(dir, BaseName(path), options.mode, &tmp, &err);
  if (fd < 0) {
    if (err == EEXIST) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": no free temporary name"));
    }
    return WriteError(path, "create temporary file", err);
  }
  bool ok = ::fchmod(fd, options.mode) == 0;
  if (!ok) err = errno;
  constexpr size_t kBuffer = 1 << 20;
  std::string buffer;
  auto flush = [&] {
    if (ok && !WriteAll(fd, buffer, &err)) ok = false;
    buffer.clear();
  };
  try {
    produce([&](absl::string_view piece) {
      if (!ok) return;
      if (buffer.size() + piece.size() <= kBuffer) {
        buffer.append(piece.data(), piece.size());
        return;
      }
      flush();
      if (ok && piece.size() > kBuffer && !WriteAll(fd, piece, &err)) ok = false;
      if (piece.size() <= kBuffer) buffer.append(piece.data(), piece.size());
    });
  } catch (...) {  // the producer failed: no temporary is left behind
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  flush();
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return WriteError(path, "write temporary file", err);
  }
  int rc =
      options.overwrite ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  err = errno;
  if (rc != 0 || !options.overwrite) ::unlink(tmp.c_str());
  if (rc != 0) {
    if (!options.overwrite && err == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("cannot write ", path, ": already exists"));
    }
    return WriteError(path, options.overwrite ? "rename" : "link", err);
  }
  SyncDirectory(dir);  // best effort: the data is safe, this makes the new name durable
  return absl::OkStatus();
}

}  // namespace sys
