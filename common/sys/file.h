// Plain POSIX file helpers: whole writes and reads over a descriptor, exclusive
// temporary files, directory fsync, and the atomic file write built from them.
// No gRPC, no logging.
//
// The errno-level helpers (WriteAll, ReadAll, CreateTempFile, SyncDirectory)
// leave the error text to the caller, who knows what the file is;
// WriteFileAtomically returns a status whose message names the path.
#ifndef MIGRATOR_COMMON_SYS_FILE_H_
#define MIGRATOR_COMMON_SYS_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sys {

// Writes all of `data` to `fd`, retrying after EINTR and short writes. False
// (with the errno in `*err` when non-null) on the first failing write(2).
bool WriteAll(int fd, absl::string_view data, int* err = nullptr);

// Appends everything `fd` yields until EOF to `*out`, retrying after EINTR.
// False with the errno in `*err` (when non-null) on a read(2) failure, or with
// EFBIG once more than `max_bytes` were read (then `*out` is incomplete).
bool ReadAll(int fd, size_t max_bytes, std::string* out, int* err = nullptr);

// Creates a new file "<dir>/.tmp.<base>.<16 random hex digits>" with O_EXCL and
// O_CLOEXEC, open for writing with `mode` (the umask applies), trying other
// names while they exist. `base` is cut to 200 bytes so the name stays under
// NAME_MAX. Returns the descriptor and sets `*path`; -1 with the errno in
// `*err` (EEXIST: no free name).
int CreateTempFile(const std::string& dir, absl::string_view base, mode_t mode, std::string* path,
                   int* err);

// fsync(2) of a directory, which makes the names created in it durable. False
// with the errno in `*err` (when non-null) when it cannot be opened or synced.
bool SyncDirectory(const std::string& dir, int* err = nullptr);

// The directory part of `path`: "." without a slash, "/" for "/name".
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

struct AtomicWriteOptions {
  mode_t mode = 0600;  // exactly this mode (set with fchmod: the umask does not apply)
  // true: rename(2) over whatever is at the path. false: link(2) into place, so
  // an existing file is never replaced (then kAlreadyExists).
  bool overwrite = true;
};

// Writes `data` to `path` so that a reader (or a crash) sees the old file or
// the complete new one, never a part: a temporary in the same directory
// (CreateTempFile, created with at most `mode`), write, fsync, close, rename
// (or link), then fsync of the directory (best effort). The temporary is
// removed on every path. Errors say "cannot write <path>: <step>: <strerror>"
// with the code from the errno: EACCES/EPERM/EROFS kPermissionDenied, ENOENT
// kNotFound, ENOSPC/EDQUOT kResourceExhausted, anything else kInternal; "cannot
// write <path>: already exists" (kAlreadyExists) when `overwrite` is false and
// the path exists.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 const AtomicWriteOptions& options = {});

// The same, with the content made piece by piece: `produce` calls its argument with each
// piece in order (written through a 1 MiB buffer), so a large file (the report of a
// 100,000-account job) is never one string in memory. After a write error the remaining
// pieces are dropped and the error is returned. `produce` calls the writer from its own
// thread only and does not keep it; if it throws, the temporary is removed and the
// exception goes on.
using PieceWriter = absl::FunctionRef<void(absl::string_view)>;
absl::Status WriteFileAtomicallyFrom(const std::string& path,
                                     absl::FunctionRef<void(PieceWriter)> produce,
                                     const AtomicWriteOptions& options = {});

}  // namespace sys

#endif  // MIGRATOR_COMMON_SYS_FILE_H_
