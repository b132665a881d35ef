// Minimal leveled logging to stderr (and optionally a file). Thread-safe.
//
//   LOG(INFO) << "account " << email << ": 12 folders";
//   LOG(WARNING) << ...;  LOG(ERROR) << ...;  LOG(DEBUG) << ... (MIGRATOR_LOG_LEVEL=debug)
//
// Two thresholds: MinLevel() for every line (the file gets all of them), and a stricter
// one for stderr alone (SetStderrMinLevel; env MIGRATOR_STDERR_LEVEL): the coordinator
// keeps the detailed log in its run log file and only warnings on the terminal. A program
// that draws on stderr (a live display) takes the stderr lines with SetStderrWriter.
//
// A thread can also send its lines to a file of its own (ThreadLog): the worker's
// --log-per-account keeps one file per account, written by the account's threads (the
// engine hands the current ThreadLog on to the threads it starts).
//
// Never log secrets: passwords and tokens must not reach any of these streams.
#ifndef MIGRATOR_COMMON_LOG_LOG_H_
#define MIGRATOR_COMMON_LOG_LOG_H_

#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace logging {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `level` are dropped. Default kInfo; env MIGRATOR_LOG_LEVEL=debug|info|warning|error.
void SetMinLevel(Level level);
Level MinLevel();
// Lines below `level` do not reach stderr (they still reach the file). Default kDebug (no
// extra filter); env MIGRATOR_STDERR_LEVEL=debug|info|warning|error.
void SetStderrMinLevel(Level level);
Level StderrMinLevel();
// Lines bound for stderr go to `writer` instead (one whole line, with its newline), called
// on the logging thread outside the logging lock; nullptr restores stderr. The writer must
// not log. Thread-safe against concurrent logging: once this returns, the old writer is
// not called any more.
using StderrWriter = void (*)(void* context, absl::string_view line);
void SetStderrWriter(StderrWriter writer, void* context);
// Also append every line to `path` (created 0600). Empty closes the file. Returns false on error.
bool SetLogFile(const std::string& path);
// Prefix put in front of every line (e.g. "worker-2"). Default empty.
void SetProcessTag(const std::string& tag);
// Appends `text` as it is to the log file only (not stderr); nothing when no file is set.
void AppendToFile(absl::string_view text);
// Writes one formatted line: "2026-11-25T20:14:03.123Z I tag file:line] message".
void Write(Level level, const char* file, int line, absl::string_view message);

// A file that receives the lines of the threads that install it (besides the usual
// streams). Shared by those threads; closed when the last holder lets go.
class ThreadLog {
 public:
  // Opens `path` for appending (created 0600). Errors name the path.
  static std::shared_ptr<ThreadLog> Open(const std::string& path, std::string* error);
  ~ThreadLog();
  ThreadLog(const ThreadLog&) = delete;
  ThreadLog& operator=(const ThreadLog&) = delete;
  void Append(absl::string_view text);  // as it is (thread-safe: one write(2) per call)

 private:
  explicit ThreadLog(int fd) : fd_(fd) {}
  const int fd_;
};

// An account's own log file in `dir`: the address with anything but letters, digits and
// "@._+-" replaced by '_' (never a path separator, never hidden), plus ".log".
std::string AccountLogPath(const std::string& dir, absl::string_view email);
// The ThreadLog of `email` in `dir` (null when `dir` is empty or the file cannot be opened:
// then `error`, when given, says why).
std::shared_ptr<ThreadLog> OpenAccountLog(const std::string& dir, absl::string_view email,
                                          std::string* error = nullptr);

// The calling thread's ThreadLog (null when none).
std::shared_ptr<ThreadLog> CurrentThreadLog();
// Installs `log` (may be null) on the calling thread for this object's lifetime, then
// restores what was there: `ScopedThreadLog scope(CurrentThreadLog());` at the top of a
// new thread hands the parent's file on.
class ScopedThreadLog {
 public:
  explicit ScopedThreadLog(std::shared_ptr<ThreadLog> log);
  ~ScopedThreadLog();
  ScopedThreadLog(const ScopedThreadLog&) = delete;
  ScopedThreadLog& operator=(const ScopedThreadLog&) = delete;

 private:
  std::shared_ptr<ThreadLog> previous_;
};

class LogMessage {
 public:
  LogMessage(Level level, const char* file, int line) : level_(level), file_(file), line_(line) {}
  ~LogMessage() { Write(level_, file_, line_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Swallows a stream expression of a disabled log line.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace logging

#define MIGRATOR_LOG_LEVEL_DEBUG ::logging::Level::kDebug
#define MIGRATOR_LOG_LEVEL_INFO ::logging::Level::kInfo
#define MIGRATOR_LOG_LEVEL_WARNING ::logging::Level::kWarning
#define MIGRATOR_LOG_LEVEL_ERROR ::logging::Level::kError

#define LOG(severity)                                       \
  !(MIGRATOR_LOG_LEVEL_##severity >= ::logging::MinLevel()) \
      ? (void)0                                             \
      : ::logging::Voidify() &                              \
            ::logging::LogMessage(MIGRATOR_LOG_LEVEL_##severity, __FILE__, __LINE__).stream()

#endif  // MIGRATOR_COMMON_LOG_LOG_H_
