#include "common/storage/testing/fault_store.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/storage/fs_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace storage {
namespace {

using Op = FaultStore::Op;

// testing::TempDir() without its trailing '/'.
std::string TmpBase() {
  std::string base = testing::TempDir();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base;
}

using ::testing::HasSubstr;

class FaultStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = TmpBase() + "/fault_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
    auto fs = FsStore::Create(dir_);
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = fs->get();
    store_ = std::make_unique<FaultStore>(std::move(*fs));
  }
  void TearDown() override {
    store_.reset();
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // Regular files of any name (temporaries included) under the root.
  int RawFileCount() {
    std::error_code ec;
    int n = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) ++n;
    }
    return ec ? -1 : n;
  }
  std::string dir_;
  FsStore* fs_ = nullptr;  // owned by store_
  std::unique_ptr<FaultStore> store_;
};

TEST_F(FaultStoreTest, PassesThroughAndCounts) {
  ASSERT_TRUE(store_->Put("a/1", "one").ok());
  EXPECT_EQ(*store_->Get("a/1"), "one");
  EXPECT_TRUE(*store_->Exists("a/1"));
  EXPECT_EQ(store_->List("a/")->size(), 1u);
  auto r = store_->Open("a/1");
  ASSERT_TRUE(r.ok());
  char buf[8];
  EXPECT_EQ(*(*r)->Read(buf, sizeof(buf)), 3u);
  ASSERT_TRUE(store_->Delete("a/1").ok());
  EXPECT_EQ(store_->count(Op::kNewWriter), 1);
  EXPECT_EQ(store_->count(Op::kAppend), 1);
  EXPECT_EQ(store_->count(Op::kCommit), 1);
  EXPECT_EQ(store_->count(Op::kGet), 1);
  EXPECT_EQ(store_->count(Op::kExists), 1);
  EXPECT_EQ(store_->count(Op::kList), 1);
  EXPECT_EQ(store_->count(Op::kOpen), 1);
  EXPECT_EQ(store_->count(Op::kRead), 1);
  EXPECT_EQ(store_->count(Op::kDelete), 1);
  EXPECT_EQ(store_->Describe(), "fault:dir:" + dir_);
}

TEST_F(FaultStoreTest, NthCommitFailsWithDiskFull) {
  // The filesystem's own mapping of ENOSPC, injected at the third commit.
  store_->FailNth(Op::kCommit, 3, ErrnoStatus(ENOSPC, "commit", "k3", dir_));
  for (int i = 1; i <= 5; ++i) {
    absl::Status s = store_->Put(absl::StrCat("k", i), "data");
    if (i == 3) {
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
      EXPECT_THAT(std::string(s.message()), HasSubstr("commit k3: disk full"));
    } else {
      EXPECT_TRUE(s.ok()) << i << ": " << s;
    }
  }
  EXPECT_FALSE(*store_->Exists("k3"));
  EXPECT_EQ(RawFileCount(), 4);  // the failed writer's temporary is gone
}

TEST_F(FaultStoreTest, StickyFaultKeepsFailing) {
  store_->FailFrom(Op::kAppend, 2, absl::ResourceExhaustedError("disk full"));
  EXPECT_TRUE(store_->Put("k1", "x").ok());
  for (int i = 2; i <= 4; ++i) {
    EXPECT_EQ(store_->Put(absl::StrCat("k", i), "x").code(), absl::StatusCode::kResourceExhausted);
  }
  store_->ClearFaults();
  EXPECT_TRUE(store_->Put("k5", "x").ok());
  EXPECT_EQ(RawFileCount(), 2);
}

TEST_F(FaultStoreTest, FailKeysMatchingASubstring) {
  ASSERT_TRUE(store_->Put("m/1.eml", "e").ok());
  ASSERT_TRUE(store_->Put("m/1.json", "j").ok());
  store_->FailKeys(".json", absl::PermissionDeniedError("denied"));
  EXPECT_EQ(store_->Put("m/2.json", "j").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Get("m/1.json").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Exists("m/1.json").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Delete("m/1.json").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(store_->Put("m/2.eml", "e").ok());
  EXPECT_EQ(*store_->Get("m/1.eml"), "e");
}

TEST_F(FaultStoreTest, FailureAfterSuccessLeavesTheObject) {
  FaultStore::Fault f;
  f.op = Op::kCommit;
  f.nth = 1;
  f.after_success = true;
  f.status = absl::UnavailableError("connection reset after upload");
  store_->AddFault(f);
  EXPECT_EQ(store_->Put("lost-ok", "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(*store_->Exists("lost-ok"));
}

TEST_F(FaultStoreTest, ReadFaultAndFreeBytes) {
  ASSERT_TRUE(store_->Put("k", "content").ok());
  store_->FailNth(Op::kRead, 2, absl::DataLossError("bad sector"));
  auto r = store_->Open("k");
  ASSERT_TRUE(r.ok());
  char buf[4];
  EXPECT_TRUE((*r)->Read(buf, sizeof(buf)).ok());
  EXPECT_EQ((*r)->Read(buf, sizeof(buf)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_GT(store_->FreeBytes(), 0);
  store_->SetFreeBytes(1024);
  EXPECT_EQ(store_->FreeBytes(), 1024);
  store_->SetFreeBytes(-2);
  EXPECT_EQ(store_->FreeBytes(), fs_->FreeBytes() > 0 ? store_->FreeBytes() : -1);
}

TEST_F(FaultStoreTest, ThreadSafeCountingAndOneShotFaults) {
  store_->FailNth(Op::kCommit, 50, absl::ResourceExhaustedError("disk full"));
  constexpr int kThreads = 4, kPerThread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_->Put(absl::StrCat("t", t, "/", i), "x").ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(store_->count(Op::kCommit), kThreads * kPerThread);
  EXPECT_EQ(store_->List("")->size(), static_cast<size_t>(kThreads * kPerThread - 1));
}

TEST(FaultStoreBorrowTest, WrapsABorrowedStore) {
  std::string dir = TmpBase() + "/fault_borrow.XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto fs = FsStore::Create(dir);
  ASSERT_TRUE(fs.ok());
  {
    FaultStore faults(fs->get());
    faults.FailNth(Op::kNewWriter, 1, absl::UnavailableError("x"));
    EXPECT_EQ(faults.Put("k", "v").code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(faults.Put("k", "v").ok());
  }
  EXPECT_EQ(*(*fs)->Get("k"), "v");  // still usable after the wrapper is gone
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace storage
