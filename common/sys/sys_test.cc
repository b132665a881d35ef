#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sys/file.h"
#include "common/sys/subprocess.h"
#include "gtest/gtest.h"

namespace sys {
namespace {

class SysFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sys_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir_.c_str());
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
    return out;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static int Mode(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  }
  std::string dir_;
};

TEST_F(SysFileTest, AtomicWriteSetsModeAndContentAndLeavesNoTemporary) {
  std::string path = dir_ + "/a.json";
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(WriteFileAtomically(path, big).ok());
  EXPECT_EQ(Read(path), big);
  EXPECT_EQ(Mode(path), 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "second", {0640, true}).ok());
  EXPECT_EQ(Read(path), "second");
  EXPECT_EQ(Mode(path), 0640);
  EXPECT_EQ(Entries(), std::vector<std::string>{"a.json"});
}

TEST_F(SysFileTest, AtomicWriteFromPiecesKeepsTheirOrderAcrossTheBuffer) {
  // Small pieces filling the 1 MiB buffer, one larger than it (written through), then more.
  std::string path = dir_ + "/pieces";
  std::string expected;
  ASSERT_TRUE(WriteFileAtomicallyFrom(path, [&](PieceWriter write) {
                for (int i = 0; i < 100000; ++i) {
                  std::string piece = std::to_string(i) + ",";
                  expected += piece;
                  write(piece);
                }
                std::string large((3 << 20) + 7, 'L');
                expected += large;
                write(large);
                write("");
                expected += "end";
                write("end");
              }).ok());
  EXPECT_EQ(Read(path), expected);
  EXPECT_EQ(Mode(path), 0600);
  EXPECT_EQ(Entries(), std::vector<std::string>{"pieces"});
}

TEST_F(SysFileTest, AtomicWriteWithoutOverwriteKeepsTheExistingFile) {
  std::string path = dir_ + "/b";
  ASSERT_TRUE(WriteFileAtomically(path, "first", {0600, false}).ok());
  absl::Status s = WriteFileAtomically(path, "second", {0600, false});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "cannot write " + path + ": already exists");
  EXPECT_EQ(Read(path), "first");
  EXPECT_EQ(Entries(), std::vector<std::string>{"b"});
}

TEST_F(SysFileTest, AtomicWriteErrorsNameThePath) {
  std::string path = dir_ + "/missing/c";
  absl::Status s = WriteFileAtomically(path, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(s.message(), "cannot write " + path + ": ")) << s;
  if (::geteuid() != 0) {  // root ignores directory permissions
    ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
    s = WriteFileAtomically(dir_ + "/d", "x");
    ::chmod(dir_.c_str(), 0700);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  }
}

TEST_F(SysFileTest, TempFilesAreExclusiveAndNamedAfterTheBase) {
  std::string a, b;
  int err = 0;
  int fa = CreateTempFile(dir_, "name", 0600, &a, &err);
  int fb = CreateTempFile(dir_, "name", 0600, &b, &err);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fb, 0);
  EXPECT_NE(a, b);
  EXPECT_TRUE(absl::StartsWith(a, dir_ + "/.tmp.name.")) << a;
  ::close(fa);
  ::close(fb);
  EXPECT_EQ(CreateTempFile(dir_ + "/nope", "x", 0600, &a, &err), -1);
  EXPECT_EQ(err, ENOENT);
  EXPECT_TRUE(SyncDirectory(dir_));
  EXPECT_EQ(DirName("f"), ".");
  EXPECT_EQ(DirName("/f"), "/");
  EXPECT_EQ(DirName("a/b/f"), "a/b");
  EXPECT_EQ(BaseName("a/b/f"), "f");
}

TEST_F(SysFileTest, WriteAllAndReadAllThroughAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string data(300000,
                   'y');  // more than a pipe holds: short writes while read
  std::string got;
  bool read_ok = false;
  std::thread reader([&] { read_ok = ReadAll(fds[0], data.size(), &got); });
  EXPECT_TRUE(WriteAll(fds[1], data));
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_TRUE(read_ok);
  EXPECT_EQ(got, data);

  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_TRUE(WriteAll(fds[1], "0123456789"));
  ::close(fds[1]);
  int err = 0;
  got.clear();
  EXPECT_FALSE(ReadAll(fds[0], 5, &got, &err));
  EXPECT_EQ(err, EFBIG);
  ::close(fds[0]);
  EXPECT_FALSE(WriteAll(-1, "x", &err));
  EXPECT_EQ(err, EBADF);
}

SpawnOptions Capture() {
  SpawnOptions o;
  o.stdout_to = Redirect::Pipe();
  o.search_path = true;
  return o;
}

TEST(SubprocessTest, ExitCodeSignalAndStdout) {
  absl::StatusOr<RunResult> r =
      RunAndWait({"sh", "-c", "printf hello; echo err >&2; exit 3"}, Capture());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "hello");
  EXPECT_EQ(r->exit.code, 3);
  EXPECT_EQ(r->exit.Describe(), "exited with status 3");
  r = RunAndWait({"sh", "-c", "kill -9 $$"}, Capture());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit.signal, 9);
  EXPECT_EQ(r->exit.ShellCode(), 137);
  EXPECT_EQ(r->exit.Describe(), "killed by signal 9");
  r = RunAndWait({"/no/such/program"}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit.code, 127);
}

TEST(SubprocessTest, EnvironmentDirectoryAndStderrToStdout) {
  SpawnOptions o = Capture();
  o.cwd = "/";
  o.env = {{"SYS_TEST_VALUE", "v1"}};
  o.stderr_to = Redirect::ToStdout();
  absl::StatusOr<RunResult> r =
      RunAndWait({"sh", "-c", "printf '%s %s ' \"$SYS_TEST_VALUE\" \"$(pwd)\"; printf e >&2"}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "v1 / e");
  EXPECT_TRUE(r->exit.ok());
}

TEST(SubprocessTest, TimeoutKillsTheWholeGroup) {
  SpawnOptions o = Capture();
  o.new_process_group = true;
  absl::Time start = absl::Now();
  // The grandchild keeps stdout open: only killing the group ends the read.
  absl::StatusOr<RunResult> r =
      RunAndWait({"sh", "-c", "sleep 30 & sleep 30"}, o, absl::Milliseconds(300));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "did not finish within 0.3 s");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(SubprocessTest, OutputBound) {
  absl::StatusOr<RunResult> r = RunAndWait({"sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x"},
                                           Capture(), absl::Seconds(30), 100);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "printed more than 100 bytes");
}

TEST(SubprocessTest, WaitWithTimeoutThenKill) {
  SpawnOptions o;
  o.search_path = true;
  absl::StatusOr<Subprocess> p = Subprocess::Start({"sleep", "30"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  ExitStatus status;
  EXPECT_FALSE(p->TryWait(&status));
  EXPECT_EQ(p->Wait(absl::Milliseconds(50)).status().code(), absl::StatusCode::kDeadlineExceeded);
  p->Signal(SIGTERM);
  absl::StatusOr<ExitStatus> done = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->signal, SIGTERM);

  p = Subprocess::Start({"sleep", "30"}, o);
  ASSERT_TRUE(p.ok());
  int pid = p->Release();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  absl::StatusOr<ExitStatus> reaped = WaitPid(pid, absl::Seconds(10));
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->signal, SIGKILL);
}

TEST(SubprocessTest, StdinFromFileAndOutputToFile) {
  std::string dir = ::testing::TempDir();
  std::string in = dir + "/sys_test.in", out = dir + "/sys_test.out";
  ASSERT_TRUE(WriteFileAtomically(in, "abc").ok());
  SpawnOptions o;
  o.search_path = true;
  o.stdin_from = Redirect::File(in);
  o.stdout_to = Redirect::File(out);
  absl::StatusOr<RunResult> r = RunAndWait({"cat"}, o, absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->exit.ok());
  std::ifstream f(out);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "abc");
  ::unlink(in.c_str());
  ::unlink(out.c_str());
}

}  // namespace
}  // namespace sys
