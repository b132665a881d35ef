#include "coordinator/local/environment.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/engine/connect.h"
#include "common/imap/session.h"
#include "common/sys/file.h"
#include "common/sys/subprocess.h"
#include "coordinator/local/preflight.h"

namespace coordinator {
namespace {

CheckResult FreeDisk(const std::string& dir, double min_free_gb) {
  auto free = FreeBytesAt(dir);
  if (!free.ok()) return {"free disk", false, std::string(free.status().message())};
  std::string detail = absl::StrFormat("%.1f GB free at %s", *free / 1e9, dir);
  if (min_free_gb > 0) absl::StrAppendFormat(&detail, " (--min-free-gb %.1f)", min_free_gb);
  return {"free disk", min_free_gb <= 0 || *free >= min_free_gb * 1e9, detail};
}

CheckResult Writable(const std::string& dir) {
  if (absl::string_view(dir).substr(0, 5) == "s3://") {
    return {"output writable", true, "object store: checked by the export itself"};
  }
  absl::Status st = MakeDirs(dir, 0700);
  if (!st.ok()) return {"output writable", false, std::string(st.message())};
  const std::string probe = dir + "/.tmp.write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && sys::WriteAll(fd, "x");
  if (fd >= 0) ::close(fd);
  ::unlink(probe.c_str());
  return {"output writable", ok, ok ? dir : absl::StrCat("cannot write in ", dir)};
}

// Runs argv with stdin closed and output discarded; its exit status, or -1.
int RunQuiet(const std::vector<std::string>& argv) {
  sys::SpawnOptions options;
  options.stdin_from = options.stdout_to = options.stderr_to = sys::Redirect::Null();
  absl::StatusOr<sys::RunResult> run = sys::RunAndWait(argv, options);
  if (!run.ok() || run->exit.signal != 0) return -1;
  return run->exit.code;
}

CheckResult Reachable(const config::ServerConfig& server) {
  const std::string where = absl::StrCat(server.host, ":", server.port);
  std::string imapsync = sys::FindInPath("imapsync");
  if (!imapsync.empty()) {
    std::vector<std::string> argv = {imapsync,  "--justconnect",           "--host1", server.host,
                                     "--port1", absl::StrCat(server.port), "--host2", server.host,
                                     "--port2", absl::StrCat(server.port)};
    if (server.ssl) argv.insert(argv.end(), {"--ssl1", "--ssl2"});
    if (server.starttls) argv.insert(argv.end(), {"--tls1", "--tls2"});
    int code = RunQuiet(argv);
    return {
        "imapsync --justconnect", code == 0,
        code == 0 ? absl::StrCat(where, " reachable") : absl::StrCat(where, " failed, exit ", code),
        false};
  }
  auto session = imap::Session::Connect(engine::SessionOptionsFor(server));
  if (!session.ok()) {
    return {"server reachable", false, std::string(session.status().message()), false};
  }
  std::string tls = server.ssl ? "TLS" : server.starttls ? "STARTTLS" : "plain";
  (*session)->Close();
  return {"server reachable", true,
          absl::StrCat(where, " greets over ", tls,
                       " (imapsync not in PATH: checked with the built-in client)"),
          false};
}

}  // namespace

std::vector<CheckResult> CheckEnvironment(const config::ServerConfig& server,
                                          const std::string& output_dir, double min_free_gb) {
  return {FreeDisk(output_dir, min_free_gb), Writable(output_dir), Reachable(server)};
}

std::string FormatChecks(const std::vector<CheckResult>& checks) {
  std::string out;
  for (const CheckResult& c : checks) {
    absl::StrAppendFormat(&out, "check  %-6s  %-22s  %s\n", c.ok ? "ok" : "FAILED", c.name,
                          c.detail);
  }
  return out;
}

}  // namespace coordinator
