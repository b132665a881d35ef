#include "common/log/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sys/file.h"

namespace logging {
namespace {

Level LevelFromEnv() {
  const char* env = std::getenv("MIGRATOR_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  std::string v = absl::AsciiStrToLower(env);
  if (v == "debug") return Level::kDebug;
  if (v == "warning") return Level::kWarning;
  if (v == "error") return Level::kError;
  return Level::kInfo;
}

std::atomic<int>& MinLevelRef() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnv())};
  return level;
}

struct Sink {
  std::mutex mu;
  int file_fd = -1;
  std::string tag;
};

Sink& GetSink() {
  static Sink* sink = new Sink();
  return *sink;
}

char LevelChar(Level level) {
  switch (level) {
    case Level::kDebug:
      return 'D';
    case Level::kInfo:
      return 'I';
    case Level::kWarning:
      return 'W';
    case Level::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void SetMinLevel(Level level) { MinLevelRef().store(static_cast<int>(level)); }
Level MinLevel() { return static_cast<Level>(MinLevelRef().load()); }

bool SetLogFile(const std::string& path) {
  Sink& sink = GetSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  if (sink.file_fd >= 0) ::close(sink.file_fd);
  sink.file_fd = -1;
  if (path.empty()) return true;
  sink.file_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  return sink.file_fd >= 0;
}

void SetProcessTag(const std::string& tag) {
  Sink& sink = GetSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  sink.tag = tag;
}

void AppendToFile(absl::string_view text) {
  Sink& sink = GetSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  if (sink.file_fd >= 0) sys::WriteAll(sink.file_fd, text);
}

void Write(Level level, const char* file, int line, absl::string_view message) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(tv.tv_usec / 1000));
  const char* base = std::strrchr(file, '/');
  base = base ? base + 1 : file;
  Sink& sink = GetSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  std::string out =
      absl::StrCat(ts, " ", std::string(1, LevelChar(level)), " ",
                   sink.tag.empty() ? "" : sink.tag + " ", base, ":", line, "] ", message, "\n");
  sys::WriteAll(2, out);
  if (sink.file_fd >= 0) sys::WriteAll(sink.file_fd, out);
}

}  // namespace logging
