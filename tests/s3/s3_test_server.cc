// The S3 test server wrapper (see s3_test_server.h).
#include "tests/s3/s3_test_server.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/storage/s3_http.h"
#include "common/sys/subprocess.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace testing_s3 {
namespace {

std::string ScriptPath() {
  const char* src = std::getenv("MIGRATOR_SOURCE_DIR");
  if (src != nullptr && src[0] != '\0') return absl::StrCat(src, "/tests/s3/s3_server.sh");
  return MIGRATOR_S3_SERVER_SCRIPT;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `bash <script> <args...>`; returns its exit status (-1: killed or not started) and
// its stdout. `stderr_to` as for sys::SpawnOptions.
int RunScript(const std::string& script, const std::vector<std::string>& args,
              const sys::Redirect& stderr_to, std::string* out) {
  std::vector<std::string> argv = {"bash", script};
  argv.insert(argv.end(), args.begin(), args.end());
  sys::SpawnOptions options;
  options.search_path = true;
  options.stdout_to = sys::Redirect::Pipe();
  options.stderr_to = stderr_to;
  absl::StatusOr<sys::RunResult> run = sys::RunAndWait(argv, options);
  if (!run.ok()) return -1;
  *out = std::move(run->output);
  return run->exit.signal == 0 ? run->exit.code : -1;
}

// The last `n` lines of `text`.
std::string Tail(const std::string& text, size_t n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t lines = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++lines == n) break;
  }
  return text.substr(pos);
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3TestServer>> S3TestServer::Start(const std::string& bucket) {
  std::unique_ptr<S3TestServer> server(new S3TestServer());
  server->script_ = ScriptPath();
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp", "/s3_test_server.XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::string err_file = tmpl + ".err";
  std::string out;
  int rc = RunScript(server->script_,
                     {"start", tmpl, "--bucket", bucket, "--owner-pid", absl::StrCat(::getpid())},
                     sys::Redirect::File(err_file), &out);
  std::string err = ReadFile(err_file);
  std::remove(err_file.c_str());
  if (rc == 77) {
    std::system(absl::StrCat("rm -rf ", Quote(tmpl)).c_str());
    return absl::UnavailableError(std::string(absl::StripAsciiWhitespace(err)));
  }
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("s3_server.sh start failed (", rc, "): ", err));
  }
  server->dir_ = tmpl;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "ENDPOINT") server->endpoint_ = kv.second;
    if (kv.first == "DIRECT_ENDPOINT") server->direct_endpoint_ = kv.second;
    if (kv.first == "BUCKET") server->bucket_ = kv.second;
    if (kv.first == "ACCESS_KEY") server->access_key_ = kv.second;
    if (kv.first == "SECRET_KEY") server->secret_key_ = kv.second;
  }
  if (server->endpoint_.empty() || server->bucket_.empty()) {
    return absl::InternalError("s3_server.sh printed no ENDPOINT/BUCKET: " + out);
  }
  return server;
}

S3TestServer::~S3TestServer() {
  if (dir_.empty()) return;
  bool failed = ::testing::UnitTest::GetInstance()->failed_test_count() > 0;
  std::string out;
  if (failed) {
    RunScript(script_, {"log", dir_}, sys::Redirect::ToStdout(), &out);
    std::fprintf(stderr, "S3 test server kept in %s\n%s\n", dir_.c_str(), Tail(out, 40).c_str());
  }
  std::vector<std::string> stop = {"stop", dir_};
  if (!failed) stop.push_back("--rm");
  RunScript(script_, stop, sys::Redirect::Inherit(), &out);
}

storage::S3Options S3TestServer::Options(const std::string& prefix) const {
  storage::S3Options o;
  o.bucket = bucket_;
  o.prefix = prefix;
  o.endpoint = endpoint_;
  o.region = "us-east-1";
  o.path_style = true;
  o.credentials = {access_key_, secret_key_, ""};
  o.initial_backoff = absl::Milliseconds(5);
  o.max_backoff = absl::Milliseconds(20);
  o.http.connect_timeout = absl::Seconds(5);
  return o;
}

absl::StatusOr<std::string> S3TestServer::Admin(const std::string& method,
                                                const std::string& path) const {
  static storage::s3::HttpClient* client = new storage::s3::HttpClient({});
  std::string body;
  storage::s3::StringSink sink(&body, 1 << 20, absl::InternalError("admin reply too big"));
  storage::s3::HttpRequest req;
  req.method = method;
  req.url = endpoint_ + path;
  req.sink = &sink;
  absl::StatusOr<storage::s3::HttpResponse> r = client->Perform(req);
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return absl::InternalError(absl::StrCat(path, ": HTTP ", r->status));
  return body;
}

absl::StatusOr<ProxyStats> S3TestServer::Stats() const {
  absl::StatusOr<std::string> body = Admin("GET", "/__verifier/stats");
  if (!body.ok()) return body.status();
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InternalError("bad stats JSON: " + *body);
  ProxyStats stats;
  stats.verified = j.value("verified", 0);
  stats.rejected = j.value("rejected", 0);
  stats.injected = j.value("injected", 0);
  if (j.contains("by_method")) {
    for (auto& [k, v] : j["by_method"].items()) stats.by_method[k] = v.get<int>();
  }
  return stats;
}

absl::Status S3TestServer::ResetStats() const {
  return Admin("POST", "/__verifier/reset").status();
}

absl::Status S3TestServer::Inject(int status, const std::string& code, int count,
                                  const std::string& method, int delay_ms) const {
  std::string path =
      absl::StrCat("/__verifier/inject?status=", status, "&code=", code, "&count=", count);
  if (!method.empty()) absl::StrAppend(&path, "&method=", method);
  if (delay_ms > 0) absl::StrAppend(&path, "&delay_ms=", delay_ms);
  return Admin("POST", path).status();
}

}  // namespace testing_s3
