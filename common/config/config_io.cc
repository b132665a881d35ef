// File I/O for mig_config: bounded reads, atomic 0600 writes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config/config_internal.h"

namespace config {
namespace internal {
namespace {

absl::Status WriteError(const std::string& path, absl::string_view what, int err) {
  std::string msg = absl::StrCat("cannot write ", path, ": ", what, ": ", std::strerror(err));
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

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// Creates a fresh 0600 temporary beside `path`; returns its fd and name.
absl::Status CreateTemp(const std::string& path, int* fd, std::string* tmp) {
  absl::BitGen gen;
  std::string dir = DirOf(path);
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  for (int attempt = 0; attempt < 16; ++attempt) {
    *tmp = absl::StrFormat("%s/.%s.tmp.%016x", dir, base, absl::Uniform<uint64_t>(gen));
    // O_EXCL + 0600 at creation: the file never has wider permissions.
    *fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*fd >= 0) return absl::OkStatus();
    if (errno != EEXIST) return WriteError(path, "create temporary file", errno);
  }
  return absl::InternalError(absl::StrCat("cannot write ", path, ": no free temporary name"));
}

}  // namespace

absl::Status ReadError(const std::string& path, int err) {
  std::string msg = absl::StrCat("cannot read ", path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InvalidArgumentError(msg);
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                            struct stat* st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadError(path, errno);
  struct stat local;
  if (::fstat(fd, &local) != 0) {
    int err = errno;
    ::close(fd);
    return ReadError(path, err);
  }
  if (st != nullptr) *st = local;
  if (S_ISDIR(local.st_mode)) {
    ::close(fd);
    return ReadError(path, EISDIR);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ReadError(path, err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", path, ": larger than ", max_bytes, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, const std::string& data,
                             bool overwrite) {
  int fd = -1;
  std::string tmp;
  absl::Status s = CreateTemp(path, &fd, &tmp);
  if (!s.ok()) return s;
  // Re-assert 0600 in case the umask removed owner bits; never widens beyond 0600.
  bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, data) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return WriteError(path, "write temporary file", err);
  }
  int rc = overwrite ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  err = errno;
  if (rc != 0 || !overwrite) ::unlink(tmp.c_str());
  if (rc != 0) {
    if (!overwrite && err == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("cannot write ", path, ": already exists"));
    }
    return WriteError(path, overwrite ? "rename" : "link", err);
  }
  int dfd = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: make the new name durable
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace config
