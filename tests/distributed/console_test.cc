// The coordinator's console for real: an export from a real Dovecot under tmux (a real
// terminal: the live display is read with capture-pane at two moments, it changed and
// fits the pane), and the same export with stderr to a file (no escape byte, progress
// lines, one line per finished account, no INFO line unless -v; the run log keeps them).
// tmux is installed with apt-get when missing and this runs as root; else exit 77 (skip).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
constexpr int kUsers = 6, kPerFolder = 300;
constexpr int kCols = 90, kRows = 6;  // fewer rows than running accounts: the display is cut
const char* kFolders[] = {"INBOX", "Sent", "Archive"};

// The first executable `name` of $PATH, or "".
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

size_t CountSubstrings(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string Tmux() {
  std::string tmux = FindProgram("tmux");
  if (!tmux.empty()) return tmux;
  if (::geteuid() == 0) {
    std::system("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null 2>&1");
    tmux = FindProgram("tmux");
  }
  if (tmux.empty()) {
    std::fprintf(stderr, "SKIP: tmux is not installed and cannot be installed here\n");
    std::exit(77);
  }
  return tmux;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80 ? 1 : 0;
  return n;
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    testing_fixtures::DovecotOptions o;
    o.users = kUsers;
    auto s = DovecotServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    for (const auto& u : server_->users()) {
      for (const char* f : kFolders) {
        // ~65 MB in all: a few seconds of export even on a fast day.
        testing_fixtures::SeedOptions sizes;
        sizes.min_size = 8000;
        sizes.max_size = 16000;
        ASSERT_TRUE(server_->SeedGenerated(u.email, f, kPerFolder, sizes).ok());
      }
    }
    nlohmann::json j;
    j["server"] = {{"host", server_->host()},
                   {"port", server_->imaps_port()},
                   {"ssl", true},
                   {"ca_file", server_->ca_file()},
                   {"max_connections_per_account", 1}};
    for (const auto& u : server_->users()) {
      j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
    }
    std::string path = dir_ + "/export.pass.config.json", text = j.dump();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  void TearDown() override {
    if (!tmux_socket_.empty()) {
      RunProcess({Tmux(), "-L", tmux_socket_, "kill-server"}, dir_, {}, "tmux-kill",
                 absl::Seconds(10));
    }
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // The export of every account, into `name`'s own log directory (a job of its own) and
  // the output directory of `out` (default: `name`'s own).
  std::vector<std::string> Export(const std::string& name, const std::vector<std::string>& extra,
                                  std::string out = "") {
    if (out.empty()) out = name;
    std::vector<std::string> argv = {
        Binary("coordinator"), "--mode", "export",       "--workers",          "2",
        "--max-workers",       "2",      "--output-dir", dir_ + "/out-" + out, "--log-dir",
        dir_ + "/logs-" + name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string RunLog(const std::string& name) {
    std::vector<std::string> logs = Glob(dir_ + "/logs-" + name, ".log");
    return logs.empty() ? "" : ReadFile(logs[0]);
  }
  std::string Capture(bool escapes = false) {
    Process p;
    std::vector<std::string> argv = {Tmux(), "-L", tmux_socket_, "capture-pane",
                                     "-p",   "-J", "-t",         "console"};
    if (escapes) argv.push_back("-e");
    if (RunProcess(argv, dir_, {}, "capture", absl::Seconds(10), &p) != 0) return "";
    return ReadFile(p.stdout_path);
  }

  std::string dir_, tmux_socket_;
  std::unique_ptr<DovecotServer> server_;
};

// The summary line of a capture ("export 3s | accounts ..."), or "".
std::string SummaryOf(const std::string& screen) {
  for (absl::string_view line : absl::StrSplit(screen, '\n')) {
    if (absl::StartsWith(line, "export ") && absl::StrContains(line, "| accounts ")) {
      return std::string(line);
    }
  }
  return "";
}

void ExpectFitsThePane(const std::string& screen) {
  std::vector<std::string> lines = absl::StrSplit(screen, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  EXPECT_LE(lines.size(), static_cast<size_t>(kRows)) << screen;
  size_t summary = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    // -J joins wrapped lines: a line wider than the pane would show here.
    EXPECT_LE(CodePoints(lines[i]), static_cast<size_t>(kCols)) << lines[i];
    EXPECT_EQ(lines[i].find('\x1b'), std::string::npos) << lines[i];
    if (summary == lines.size() && absl::StartsWith(lines[i], "export ")) summary = i;
  }
  // The live display (the summary and what follows) is whole on the screen.
  ASSERT_LT(summary, lines.size()) << screen;
  EXPECT_LE(lines.size() - summary, static_cast<size_t>(kRows - 1)) << screen;
}

TEST_F(ConsoleTest, LiveDisplayOnATerminal) {
  const std::string tmux = Tmux();
  tmux_socket_ = absl::StrCat("migrator-console-", ::getpid());
  // The pane stays after the coordinator exits (cat reads the terminal until killed).
  std::string command = absl::StrCat("cd '", dir_, "' && env -u NO_COLOR TERM=screen ",
                                     absl::StrJoin(Export("tty", {}), " "), " >'", dir_,
                                     "/tty.stdout'; echo $? >'", dir_, "/tty.rc'; exec cat");
  ASSERT_EQ(RunProcess({tmux, "-L", tmux_socket_, "-f", "/dev/null", "new-session", "-d", "-s",
                        "console", "-x", absl::StrCat(kCols), "-y", absl::StrCat(kRows), command},
                       dir_, {{"TERM", "screen"}}, "tmux-new", absl::Seconds(30)),
            0);
  absl::Time t0 = absl::Now();
  // First moment: the display shows messages moving.
  std::string first, first_summary;
  ASSERT_TRUE(PollUntil(
      [&] {
        first = Capture();
        first_summary = SummaryOf(first);
        return absl::StrContains(first_summary, " running") &&
               !absl::StrContains(first_summary, "| messages 0 |") &&
               !absl::StrContains(first_summary, "| messages 0/");
      },
      absl::Seconds(120)))
      << first << "\n"
      << ReadFile(dir_ + "/tty.rc");
  ExpectFitsThePane(first);
  std::string colored = Capture(/*escapes=*/true);
  // Second moment: it was redrawn (another summary line).
  std::string second, second_summary;
  ASSERT_TRUE(PollUntil(
      [&] {
        second = Capture();
        second_summary = SummaryOf(second);
        return !second_summary.empty() && second_summary != first_summary;
      },
      absl::Seconds(60)))
      << first << "\n---\n"
      << second;
  ExpectFitsThePane(second);
  EXPECT_TRUE(absl::StrContains(colored, "\x1b[1m")) << "the summary is bold on a terminal";
  std::fprintf(stderr, "first (%.1fs):\n%s\nsecond:\n%s\n", absl::ToDoubleSeconds(absl::Now() - t0),
               first.c_str(), second.c_str());
  // The end: exit 0, the final summary line on the screen, the table on stdout.
  ASSERT_TRUE(PollUntil([&] { return !ReadFile(dir_ + "/tty.rc").empty(); }, absl::Seconds(300)));
  EXPECT_EQ(ReadFile(dir_ + "/tty.rc"), "0\n");
  std::string last = Capture();
  EXPECT_TRUE(absl::StrContains(last, absl::StrCat("accounts ", kUsers, "/", kUsers, " done")))
      << last;
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_ + "/tty.stdout"), "report:"));
  std::fprintf(stderr, "the export under tmux ended after %.1fs\n",
               absl::ToDoubleSeconds(absl::Now() - t0));
}

TEST_F(ConsoleTest, PipedStderrHasPlainLinesOnly) {
  Process p;
  ASSERT_EQ(RunProcess(Export("pipe", {"--progress-interval", "100ms", "--log-per-account"}), dir_,
                       {{"TERM", "xterm"}}, "pipe", absl::Seconds(300), &p),
            0)
      << ReadFile(p.stderr_path);
  std::string err = ReadFile(p.stderr_path);
  EXPECT_EQ(err.find('\x1b'), std::string::npos) << err;
  int progress = 0, finals = 0;
  for (absl::string_view line : absl::StrSplit(err, '\n', absl::SkipEmpty())) {
    progress += absl::StartsWith(line, "progress: export ") ? 1 : 0;
    finals += absl::StartsWith(line, "final: export ") ? 1 : 0;
    EXPECT_FALSE(absl::StrContains(line, " I coordinator ")) << line;  // no INFO line
    EXPECT_FALSE(absl::StrContains(line, " I worker-")) << line;
  }
  EXPECT_GE(progress, 1) << err;
  EXPECT_EQ(finals, 1) << err;
  for (const auto& u : server_->users()) {
    EXPECT_EQ(CountSubstrings(err, "ok      " + u.email + ": "), 1u) << err;
  }
  // The detail is in the run log, the workers' lines too.
  std::string log = RunLog("pipe");
  EXPECT_TRUE(absl::StrContains(log, ": folder INBOX: ")) << log.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(log, " I worker-w1 ")) << log.substr(0, 2000);
  std::fprintf(stderr, "piped stderr:\n%s\n", err.c_str());

  // --log-per-account: one file per account beside the run log, with the coordinator's
  // lines (started, each folder, the result) and the worker's (its attempt header), and
  // nothing of the other accounts its worker ran at the same time.
  std::vector<std::string> logs = Glob(dir_ + "/logs-pipe", ".log");
  ASSERT_EQ(logs.size(), 1u);
  const std::string accounts_dir = logs[0].substr(0, logs[0].size() - 4) + ".accounts";
  EXPECT_TRUE(absl::StrContains(ReadFile(p.stdout_path), "account logs: " + accounts_dir));
  ASSERT_EQ(Glob(accounts_dir, ".log").size(), server_->users().size());
  for (const auto& u : server_->users()) {
    std::string mine = ReadFile(accounts_dir + "/" + u.email + ".log");
    EXPECT_TRUE(absl::StrContains(mine, "=== ")) << mine;  // the worker's header
    EXPECT_TRUE(absl::StrContains(mine, "export of " + u.email + ", attempt 1")) << mine;
    EXPECT_TRUE(absl::StrContains(mine, "account " + u.email + ": started on worker")) << mine;
    for (const char* f : kFolders) {
      EXPECT_TRUE(absl::StrContains(mine, absl::StrCat("account ", u.email, ": folder ", f, ": ")))
          << mine;
    }
    EXPECT_TRUE(absl::StrContains(mine, "account " + u.email + ": succeeded")) << mine;
    for (const auto& other : server_->users()) {
      if (other.email != u.email) EXPECT_FALSE(absl::StrContains(mine, other.email + ":")) << mine;
    }
    EXPECT_EQ(FileMode(accounts_dir + "/" + u.email + ".log"), 0600);
  }

  // -v: the INFO lines on stderr too (per folder, per worker). A new job over the same
  // output: nothing left to fetch, quick.
  Process v;
  ASSERT_EQ(
      RunProcess(Export("verbose", {"-v"}, "pipe"), dir_, {}, "verbose", absl::Seconds(300), &v), 0)
      << ReadFile(v.stderr_path);
  std::string verbose = ReadFile(v.stderr_path);
  EXPECT_TRUE(absl::StrContains(verbose, " I coordinator ")) << verbose.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(verbose, ": folder INBOX: ")) << verbose.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(verbose, " I worker-w")) << verbose.substr(0, 2000);
  EXPECT_EQ(verbose.find('\x1b'), std::string::npos);

  // --quiet: nothing on stderr (no error), the summary on stdout.
  Process q;
  ASSERT_EQ(
      RunProcess(Export("quiet", {"--quiet"}, "pipe"), dir_, {}, "quiet", absl::Seconds(300), &q),
      0)
      << ReadFile(q.stderr_path);
  EXPECT_EQ(ReadFile(q.stderr_path), "");
  EXPECT_TRUE(absl::StrContains(ReadFile(q.stdout_path), "report:"));
}

}  // namespace
}  // namespace fleettest
