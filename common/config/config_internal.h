// Internals of mig_config shared by its .cc files. Not part of the public API.
#ifndef MIGRATOR_COMMON_CONFIG_CONFIG_INTERNAL_H_
#define MIGRATOR_COMMON_CONFIG_CONFIG_INTERNAL_H_

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace config {
namespace internal {

// Largest config file / token file read, in bytes.
inline constexpr size_t kMaxConfigBytes = 64u << 20;
inline constexpr size_t kMaxTokenBytes = 64u << 10;

// "cannot read <path>: <strerror>" with the code picked from errno: ENOENT → kNotFound,
// EACCES/EPERM → kPermissionDenied, else kInvalidArgument.
absl::Status ReadError(const std::string& path, int err);

// Reads the whole file (regular file, FIFO, device; not a directory), at most `max_bytes`
// (more is kInvalidArgument "larger than"). Fills `*st` (when non-null) from fstat.
absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                            struct stat* st);

}  // namespace internal
}  // namespace config

#endif  // MIGRATOR_COMMON_CONFIG_CONFIG_INTERNAL_H_
