#include "common/log/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sys/file.h"

namespace logging {
namespace {

Level LevelFromEnv(const char* name, Level fallback) {
  const char* env = std::getenv(name);
  if (env == nullptr) return fallback;
  std::string v = absl::AsciiStrToLower(env);
  if (v == "debug") return Level::kDebug;
  if (v == "info") return Level::kInfo;
  if (v == "warning") return Level::kWarning;
  if (v == "error") return Level::kError;
  return fallback;
}

std::atomic<int>& MinLevelRef() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnv("MIGRATOR_LOG_LEVEL", Level::kInfo))};
  return level;
}

std::atomic<int>& StderrMinLevelRef() {
  static std::atomic<int> level{
      static_cast<int>(LevelFromEnv("MIGRATOR_STDERR_LEVEL", Level::kDebug))};
  return level;
}

struct Sink {
  std::mutex mu;
  int file_fd = -1;
  std::string tag;
  // The stderr writer: callers in flight are counted so that SetStderrWriter can wait for
  // them before the old writer's context goes away.
  StderrWriter writer = nullptr;
  void* writer_context = nullptr;
  int writers_in_flight = 0;
  std::condition_variable writers_done;
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

thread_local std::shared_ptr<ThreadLog> current_thread_log;

}  // namespace

std::shared_ptr<ThreadLog> ThreadLog::Open(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (error != nullptr)
      *error = absl::StrCat("cannot open log file ", path, ": ", strerror(errno));
    return nullptr;
  }
  return std::shared_ptr<ThreadLog>(new ThreadLog(fd));
}

ThreadLog::~ThreadLog() { ::close(fd_); }

void ThreadLog::Append(absl::string_view text) { sys::WriteAll(fd_, text); }

std::string AccountLogPath(const std::string& dir, absl::string_view email) {
  std::string name;
  for (char c : email) {
    bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '.' ||
                c == '_' || c == '+' || c == '-';
    name.push_back(keep ? c : '_');
  }
  if (name.empty() || name[0] == '.') name.insert(0, "_");  // never "", ".", ".." or hidden
  return absl::StrCat(dir, "/", name, ".log");
}

std::shared_ptr<ThreadLog> OpenAccountLog(const std::string& dir, absl::string_view email,
                                          std::string* error) {
  if (dir.empty()) return nullptr;
  return ThreadLog::Open(AccountLogPath(dir, email), error);
}

std::shared_ptr<ThreadLog> CurrentThreadLog() { return current_thread_log; }

ScopedThreadLog::ScopedThreadLog(std::shared_ptr<ThreadLog> log)
    : previous_(std::move(current_thread_log)) {
  current_thread_log = std::move(log);
}

ScopedThreadLog::~ScopedThreadLog() { current_thread_log = std::move(previous_); }

void SetMinLevel(Level level) { MinLevelRef().store(static_cast<int>(level)); }
Level MinLevel() { return static_cast<Level>(MinLevelRef().load()); }
void SetStderrMinLevel(Level level) { StderrMinLevelRef().store(static_cast<int>(level)); }
Level StderrMinLevel() { return static_cast<Level>(StderrMinLevelRef().load()); }

void SetStderrWriter(StderrWriter writer, void* context) {
  Sink& sink = GetSink();
  std::unique_lock<std::mutex> lock(sink.mu);
  sink.writer = writer;
  sink.writer_context = context;
  sink.writers_done.wait(lock, [&sink] { return sink.writers_in_flight == 0; });
}

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
  bool to_stderr = level >= StderrMinLevel();
  Sink& sink = GetSink();
  std::unique_lock<std::mutex> lock(sink.mu);
  std::string out =
      absl::StrCat(ts, " ", std::string(1, LevelChar(level)), " ",
                   sink.tag.empty() ? "" : sink.tag + " ", base, ":", line, "] ", message, "\n");
  if (sink.file_fd >= 0) sys::WriteAll(sink.file_fd, out);
  if (current_thread_log != nullptr) current_thread_log->Append(out);
  if (!to_stderr) return;
  if (sink.writer == nullptr) {
    sys::WriteAll(2, out);
    return;
  }
  StderrWriter writer = sink.writer;
  void* context = sink.writer_context;
  ++sink.writers_in_flight;
  lock.unlock();
  writer(context, out);
  lock.lock();
  if (--sink.writers_in_flight == 0) sink.writers_done.notify_all();
}

}  // namespace logging
