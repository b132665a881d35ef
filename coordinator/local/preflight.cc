#include "coordinator/local/preflight.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace coordinator {

absl::Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return absl::InvalidArgumentError("empty directory path");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create directory ", partial, ": ", std::strerror(errno)));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FreeBytesAt(const std::string& path) {
  std::string p = path.empty() ? "." : path;
  while (true) {
    struct statvfs st;
    if (::statvfs(p.c_str(), &st) == 0) {
      return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
    }
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot stat filesystem of ", p, ": ", std::strerror(errno)));
    }
    size_t slash = p.find_last_of('/');
    if (slash == std::string::npos) {
      p = ".";
    } else if (slash == 0) {
      p = "/";
    } else {
      p = p.substr(0, slash);
    }
  }
}

namespace {

absl::Status CheckFreeSpace(const std::string& dir, double min_free_gb) {
  if (min_free_gb <= 0 || absl::StartsWith(dir, "s3://")) return absl::OkStatus();
  absl::StatusOr<uint64_t> free = FreeBytesAt(dir);
  if (!free.ok()) return free.status();
  double free_gb = static_cast<double>(*free) / 1e9;
  if (free_gb < min_free_gb) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("not enough free disk space at %s: %.2f GB free, "
                        "--min-free-gb requires %.2f GB",
                        dir, free_gb, min_free_gb));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Preflight(const PreflightInput& in) {
  switch (in.mode) {
    case engine::Mode::kExport:
      if (!absl::StartsWith(in.output_dir, "s3://") && !in.dry_run) {
        absl::Status made = MakeDirs(in.output_dir, 0700);
        if (!made.ok()) return made;
      }
      return CheckFreeSpace(in.output_dir, in.min_free_gb);
    case engine::Mode::kImport:
    case engine::Mode::kValidate: {
      if (absl::StartsWith(in.input_dir, "s3://")) return absl::OkStatus();
      struct stat st;
      if (::stat(in.input_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return absl::NotFoundError(
            absl::StrCat("input directory ", in.input_dir,
                         " does not exist (run an export first, or pass --input-dir)"));
      }
      return absl::OkStatus();
    }
    case engine::Mode::kTest:
      return CheckFreeSpace(in.output_dir, in.min_free_gb);
  }
  return absl::OkStatus();
}

}  // namespace coordinator
