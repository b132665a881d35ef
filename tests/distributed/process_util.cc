#include "tests/distributed/process_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/sys/subprocess.h"

namespace fleettest {

std::string Binary(const std::string& name) {
  const char* dir = std::getenv("MIGRATOR_BINARY_DIR");
  return absl::StrCat(dir ? dir : ".", "/bin/", name);
}

void DefaultBinaryDirToThisProgram() {
  if (std::getenv("MIGRATOR_BINARY_DIR") != nullptr) return;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string path(exe, n > 0 ? n : 0);
  path = path.substr(0, path.rfind('/'));  // build/tests
  ::setenv("MIGRATOR_BINARY_DIR", path.substr(0, path.rfind('/')).c_str(), 1);
}

std::string MakeTempDir() {
  std::string pattern = "/tmp/fleet-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

int UnusedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

Process Start(const std::vector<std::string>& argv, const std::string& cwd,
              const std::map<std::string, std::string>& env, const std::string& tag) {
  Process p;
  p.stdout_path = cwd + "/" + tag + ".stdout";
  p.stderr_path = cwd + "/" + tag + ".stderr";
  sys::SpawnOptions options;
  options.cwd = cwd;
  options.env = env;
  options.search_path = true;
  options.stdout_to = sys::Redirect::File(p.stdout_path);
  options.stderr_to = sys::Redirect::File(p.stderr_path);
  absl::StatusOr<sys::Subprocess> child = sys::Subprocess::Start(argv, options);
  if (child.ok()) p.pid = child->Release();  // Wait() reaps it
  return p;
}

int Wait(const Process& p, absl::Duration timeout) {
  if (p.pid <= 0) return -1;  // never started: nothing to wait for (or kill)
  absl::StatusOr<sys::ExitStatus> status = sys::WaitPid(p.pid, timeout);
  if (!status.ok()) {
    ::kill(p.pid, SIGKILL);
    sys::WaitPid(p.pid).IgnoreError();
    return -1;
  }
  return status->ShellCode();
}

int RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
               const std::map<std::string, std::string>& env, const std::string& tag,
               absl::Duration timeout, Process* out) {
  Process p = Start(argv, cwd, env, tag);
  if (out != nullptr) *out = p;
  return Wait(p, timeout);
}

bool PollUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));  // polling interval, bounded by the deadline
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& text, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

std::string AllRunOutput(const std::string& dir) {
  std::string all;
  for (const std::string& f : FilesUnder(dir)) {
    if (absl::EndsWith(f, ".stdout") || absl::EndsWith(f, ".stderr") ||
        absl::StrContains(f, "/logs/")) {
      all += ReadFile(f);
    }
  }
  return all;
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      for (std::string& f : FilesUnder(path)) out.push_back(std::move(f));
    } else if (S_ISREG(st.st_mode)) {
      out.push_back(path);
    }
  }
  ::closedir(d);
  return out;
}

std::vector<std::string> Glob(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const std::string& f : FilesUnder(dir)) {
    if (absl::EndsWith(f, suffix) && f.rfind('/') == dir.size()) out.push_back(f);
  }
  return out;
}

std::string NewestReport(const std::string& log_dir, const std::string& mode) {
  std::string newest;
  struct timespec newest_time = {0, 0};
  for (const std::string& r : Glob(log_dir, ".report.json")) {
    struct stat st;
    if (!absl::StrContains(r, "/" + mode + "-") || ::stat(r.c_str(), &st) != 0) continue;
    const struct timespec t = st.st_mtim;
    if (newest.empty() || t.tv_sec > newest_time.tv_sec ||
        (t.tv_sec == newest_time.tv_sec && t.tv_nsec > newest_time.tv_nsec)) {
      newest = r;
      newest_time = t;
    }
  }
  return newest;
}

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::vector<int> ProcessesMentioning(const std::string& needle) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string base = absl::StrCat("/proc/", pid);
    std::string cmdline =
        absl::StrReplaceAll(ReadFile(base + "/cmdline"), {{std::string(1, '\0'), " "}});
    if (!absl::StrContains(cmdline, needle)) continue;
    std::string stat = ReadFile(base + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') {
      continue;
    }
    out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace fleettest
