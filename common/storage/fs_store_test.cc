#include "common/storage/fs_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/storage/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// testing::TempDir() without its trailing '/'.
std::string TmpBase() {
  std::string base = testing::TempDir();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base;
}

std::string MakeTempDir() {
  std::string tmpl = TmpBase() + "/fs_store_test.XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// Every regular file under `dir`, relative, including temporaries.
void RawFiles(const std::string& dir, const std::string& rel, std::vector<std::string>* out) {
  DIR* d = ::opendir((dir + "/" + rel).c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string sub = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    ::lstat((dir + "/" + sub).c_str(), &st);
    if (S_ISDIR(st.st_mode)) {
      RawFiles(dir, sub, out);
    } else {
      out->push_back(sub);
    }
  }
  ::closedir(d);
}
std::vector<std::string> RawFiles(const std::string& dir) {
  std::vector<std::string> out;
  RawFiles(dir, "", &out);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& infos) {
  std::vector<std::string> keys;
  for (const ObjectInfo& i : infos) keys.push_back(i.key);
  return keys;
}

class FsStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto s = FsStore::Create(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::system(("chmod -R u+rwx '" + dir_ + "' 2>/dev/null; rm -rf '" + dir_ + "'").c_str());
  }
  std::string dir_;
  std::unique_ptr<FsStore> store_;
};

TEST_F(FsStoreTest, PutGetExistsDelete) {
  const std::string key = "a@x.com/INBOX/1700000000-0000000042.eml";
  EXPECT_FALSE(*store_->Exists(key));
  EXPECT_EQ(store_->Get(key).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put(key, "Subject: hi\r\n\r\nbody\r\n").ok());
  EXPECT_TRUE(*store_->Exists(key));
  EXPECT_EQ(*store_->Get(key), "Subject: hi\r\n\r\nbody\r\n");
  ASSERT_TRUE(store_->Put(key, "v2").ok());  // Put replaces
  EXPECT_EQ(*store_->Get(key), "v2");
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty"), "");
  ASSERT_TRUE(store_->Delete(key).ok());
  EXPECT_FALSE(*store_->Exists(key));
  EXPECT_TRUE(store_->Delete(key).ok());           // idempotent
  EXPECT_FALSE(*store_->Exists("a@x.com/INBOX"));  // a directory is not an object
  EXPECT_EQ(store_->Get("a@x.com/INBOX").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Sync().ok());
}

TEST_F(FsStoreTest, FilesAndDirectoriesArePrivate) {
  ASSERT_TRUE(store_->Put("a@x/INBOX/1.eml", "x").ok());
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/a@x/INBOX/1.eml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  ASSERT_EQ(::stat((dir_ + "/a@x/INBOX").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(FsStoreTest, LargeObjectStreamsInAndOut) {
  const size_t kChunk = 64 * 1024, kTotal = 20 * 1024 * 1024;
  std::string chunk(kChunk, '\0');
  auto w = store_->NewWriter("big/object.eml");
  ASSERT_TRUE(w.ok()) << w.status();
  for (size_t off = 0; off < kTotal; off += kChunk) {
    for (size_t i = 0; i < kChunk; ++i) chunk[i] = static_cast<char>((off + i) * 131 % 251);
    ASSERT_TRUE((*w)->Append(chunk).ok());
  }
  EXPECT_EQ((*w)->bytes_written(), kTotal);
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = store_->Open("big/object.eml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->size(), kTotal);
  std::vector<char> buf(50000);
  size_t pos = 0;
  bool same = true;
  for (;;) {
    absl::StatusOr<size_t> n = (*r)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i, ++pos) {
      same = same && buf[i] == static_cast<char>(pos * 131 % 251);
    }
  }
  EXPECT_EQ(pos, kTotal);
  EXPECT_TRUE(same);
  auto list = store_->List("big/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size, kTotal);
}

TEST_F(FsStoreTest, SmallAppendsAreBufferedCorrectly) {
  auto w = store_->NewWriter("k");
  ASSERT_TRUE(w.ok());
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    std::string line = absl::StrCat("line ", i, "\r\n");
    expected += line;
    ASSERT_TRUE((*w)->Append(line).ok());
  }
  ASSERT_TRUE((*w)->Append(std::string(200000, 'z')).ok());  // larger than the buffer
  expected += std::string(200000, 'z');
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(*store_->Get("k"), expected);
}

TEST_F(FsStoreTest, UncommittedWriterLeavesNothing) {
  {
    auto w = store_->NewWriter("a@x/INBOX/1.eml");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("partial").ok());
    EXPECT_FALSE(*store_->Exists("a@x/INBOX/1.eml"));
    EXPECT_THAT(*store_->List(""), IsEmpty());  // the temporary is not listed
    EXPECT_EQ(RawFiles(dir_).size(), 1u);       // but it is there
  }
  EXPECT_FALSE(*store_->Exists("a@x/INBOX/1.eml"));
  EXPECT_THAT(RawFiles(dir_), IsEmpty());
}

TEST_F(FsStoreTest, CommitTwiceAndCommitAs) {
  auto w = store_->NewWriter("a@x/INBOX/pending.eml");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("body").ok());
  EXPECT_EQ((*w)->CommitAs("../escape").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*w)->CommitAs("a@x/INBOX/uid-7.eml").ok());
  EXPECT_EQ((*w)->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*w)->Append("more").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->Get("a@x/INBOX/uid-7.eml"), "body");
  EXPECT_FALSE(*store_->Exists("a@x/INBOX/pending.eml"));
  auto w2 = store_->NewWriter("a@x/INBOX/p2.eml");
  ASSERT_TRUE((*w2)->Append("b2").ok());
  ASSERT_TRUE((*w2)->CommitAs("a@x/Archive/2024/uid-8.eml").ok());  // another directory
  EXPECT_EQ(*store_->Get("a@x/Archive/2024/uid-8.eml"), "b2");
  EXPECT_THAT(RawFiles(dir_), ElementsAre("a@x/Archive/2024/uid-8.eml", "a@x/INBOX/uid-7.eml"));
}

TEST_F(FsStoreTest, ConcurrentWritersToDifferentKeys) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = absl::StrCat("u", i % 3, "@x/F", i % 5, "/t", t, "-", i, ".eml");
        auto w = store_->NewWriter(key);
        bool ok =
            w.ok() && (*w)->Append(key).ok() && (*w)->Append("|end").ok() && (*w)->Commit().ok();
        if (!ok) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto list = store_->List("");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const ObjectInfo& info : *list) {
    EXPECT_EQ(*store_->Get(info.key), info.key + "|end");
    EXPECT_EQ(info.size, info.key.size() + 4);
  }
  EXPECT_EQ(RawFiles(dir_).size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_TRUE(store_->Sync().ok());
}

TEST_F(FsStoreTest, InvalidKeysAreRejected) {
  const std::vector<std::string> bad = {"",
                                        "../x",
                                        "a/../../x",
                                        "a//b",
                                        "/abs",
                                        "a/./b",
                                        ".",
                                        "..",
                                        "a/",
                                        "a/..",
                                        std::string("a\0b", 3),
                                        "a\x01z",
                                        "a\nb",
                                        "a\x7f",
                                        ".tmp.x",
                                        "a/.tmp.b/c",
                                        std::string(1025, 'k')};
  for (const std::string& key : bad) {
    SCOPED_TRACE(key);
    EXPECT_EQ(ValidateKey(key).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Put(key, "x").code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Get(key).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Open(key).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Exists(key).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete(key).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(RawFiles(dir_), IsEmpty());
  EXPECT_THAT(std::string(ValidateKey("a\x01z").message()), HasSubstr("\"a\\x01z\""));
  for (const std::string& key :
       std::vector<std::string>{"a@x.com/INBOX/1.eml", "\xc3\xa9t\xc3\xa9/x", ".hidden", "...",
                                "a b/c~d", std::string(1024, 'k').substr(0, 200)}) {
    EXPECT_TRUE(ValidateKey(key).ok()) << key;
    EXPECT_TRUE(store_->Put(key, "ok").ok()) << key;
  }
}

TEST_F(FsStoreTest, ListIsRecursiveSortedAndSkipsTemporaries) {
  for (const char* key : {"b@x/INBOX/2.eml", "a@x/INBOX/1.eml", "a@x/Sent/9.json",
                          "a@x/INBOX/10.eml", "a@x-y/z", "top"}) {
    ASSERT_TRUE(store_->Put(key, key).ok());
  }
  auto open_writer = store_->NewWriter("a@x/INBOX/3.eml");  // a live temporary
  ASSERT_TRUE(open_writer.ok());
  std::ofstream(dir_ + "/a@x/.tmp.stray.0123") << "junk";  // a crashed writer's leftover
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Keys(*all), ElementsAre("a@x-y/z", "a@x/INBOX/1.eml", "a@x/INBOX/10.eml",
                                      "a@x/Sent/9.json", "b@x/INBOX/2.eml", "top"));
  EXPECT_EQ((*all)[1].size, std::string("a@x/INBOX/1.eml").size());
  EXPECT_THAT(Keys(*store_->List("a@x/")),
              ElementsAre("a@x/INBOX/1.eml", "a@x/INBOX/10.eml", "a@x/Sent/9.json"));
  EXPECT_THAT(Keys(*store_->List("a@x/Sent/")), ElementsAre("a@x/Sent/9.json"));
  EXPECT_THAT(*store_->List("missing/"), IsEmpty());
  EXPECT_THAT(*store_->List("top/"), IsEmpty());  // a file, not a directory
  EXPECT_EQ(store_->List("a@x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List("../").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FsStoreTest, KeyDirectoryClashesFailCleanly) {
  ASSERT_TRUE(store_->Put("a/b", "x").ok());
  absl::Status s = store_->Put("a", "y");  // "a" is a directory
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  s = store_->Put("a/b/c", "z");  // "a/b" is a file
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(RawFiles(dir_), ElementsAre("a/b"));
}

TEST_F(FsStoreTest, FreeBytesAndDescribe) {
  EXPECT_GT(store_->FreeBytes(), 0);
  EXPECT_EQ(store_->Describe(), "dir:" + dir_);
}

TEST_F(FsStoreTest, CreatesRootWithParentsAndRejectsAFile) {
  auto nested = FsStore::Create(dir_ + "/x/y/z/");
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ((*nested)->root(), dir_ + "/x/y/z");
  struct stat st;
  EXPECT_EQ(::stat((dir_ + "/x/y/z").c_str(), &st), 0);
  ASSERT_TRUE(store_->Put("file", "x").ok());
  EXPECT_EQ(FsStore::Create(dir_ + "/file").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FsStoreTest, PerCommitDirectoryFsyncOption) {
  FsStoreOptions options;
  options.fsync_dir = true;
  auto s = FsStore::Create(dir_ + "/d", options);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Put("k/v", "x").ok());
  options = FsStoreOptions();
  options.fsync = false;
  s = FsStore::Create(dir_ + "/nofsync", options);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Put("k/v", "x").ok());
  EXPECT_TRUE((*s)->Sync().ok());
  EXPECT_EQ(*(*s)->Get("k/v"), "x");
}

TEST_F(FsStoreTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ASSERT_TRUE(store_->Put("locked/a", "x").ok());
  ASSERT_EQ(::chmod((dir_ + "/locked").c_str(), 0), 0);
  EXPECT_EQ(store_->Put("locked/b", "x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Get("locked/a").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->List("locked/").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(ErrnoStatusTest, MapsErrnoByMeaning) {
  absl::Status s = ErrnoStatus(ENOSPC, "commit", "a@x/INBOX/1.eml", "/data");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "dir:/data: commit a@x/INBOX/1.eml: disk full (No space left on device)");
  s = ErrnoStatus(EDQUOT, "write", "k", "/data");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("write k: disk full ("));
  EXPECT_EQ(ErrnoStatus(EACCES, "create", "k", "/r").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EPERM, "create", "k", "/r").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EROFS, "create", "k", "/r").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open", "k", "/r").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EISDIR, "commit", "k", "/r").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus(EMFILE, "open", "k", "/r").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(ESTALE, "open", "k", "/r").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoStatus(EIO, "write", "k", "/r").code(), absl::StatusCode::kInternal);
}

TEST(OpenStoreTest, DispatchesOnLocation) {
  std::string dir = MakeTempDir();
  auto fs = OpenStore(dir + "/exported");
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_EQ((*fs)->Describe(), "dir:" + dir + "/exported");
  ASSERT_TRUE((*fs)->Put("k", "v").ok());
  auto s3 = OpenStore("s3://bucket/prefix");
  if (s3.ok()) {
    EXPECT_EQ((*s3)->Describe(), "s3://bucket/prefix");
  } else {  // no AWS credentials in the environment
    EXPECT_EQ(s3.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(OpenStore("").status().code(), absl::StatusCode::kInvalidArgument);
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  auto rel = OpenStore("./rel/out");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ((*rel)->Describe(), "dir:" + dir + "/rel/out");
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace storage
