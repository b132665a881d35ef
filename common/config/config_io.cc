// File I/O for mig_config: bounded reads.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_internal.h"
#include "common/sys/file.h"

namespace config {
namespace internal {

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
  int err = 0;
  bool ok = sys::ReadAll(fd, max_bytes, &out, &err);
  ::close(fd);
  if (ok) return out;
  if (err == EFBIG) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": larger than ", max_bytes, " bytes"));
  }
  return ReadError(path, err);
}

}  // namespace internal
}  // namespace config
