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
// Never log secrets: passwords and tokens must not reach any of these streams.
#ifndef MIGRATOR_COMMON_LOG_LOG_H_
#define MIGRATOR_COMMON_LOG_LOG_H_

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
