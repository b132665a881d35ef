// OpenStoreReadOnly and ReadOnlyView: reads go through, nothing is ever created or changed.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"

namespace storage {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "read_only_store_test.XXXXXX").string();
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

TEST(ReadOnlyStoreTest, AMissingDirectoryReadsAsEmptyAndIsNotCreated) {
  const std::string root = MakeTempDir() + "/not/there";
  auto store = OpenStoreReadOnly(root);
  ASSERT_TRUE(store.ok()) << store.status();
  auto list = (*store)->List("a@x/");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  EXPECT_EQ((*store)->Get("a@x/.folder.json").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*(*store)->Exists("a@x/.folder.json"));
  absl::Status put = (*store)->Put("a@x/INBOX/1.eml", "x");
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;
  EXPECT_TRUE(absl::StrContains(put.message(), "read-only")) << put;
  EXPECT_FALSE(fs::exists(root));
  EXPECT_FALSE(fs::exists(fs::path(root).parent_path()));
}

TEST(ReadOnlyStoreTest, AnExistingStoreIsReadButNeverWritten) {
  const std::string root = MakeTempDir();
  {
    auto rw = OpenStore(root);
    ASSERT_TRUE(rw.ok()) << rw.status();
    ASSERT_TRUE((*rw)->Put("a@x/INBOX/1.json", "{}").ok());
  }
  auto store = OpenStoreReadOnly(root);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->Get("a@x/INBOX/1.json"), "{}");
  ASSERT_EQ((*store)->List("a@x/")->size(), 1u);
  EXPECT_EQ((*store)->Put("a@x/INBOX/2.json", "{}").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Delete("a@x/INBOX/1.json").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*store)->Sync().ok());
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary left, nothing added or removed
  // The view over a store refuses writes the same way.
  auto rw = OpenStore(root);
  ASSERT_TRUE(rw.ok());
  auto view = ReadOnlyView(**rw);
  EXPECT_EQ(view->NewWriter("a@x/x.eml").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*view->Get("a@x/INBOX/1.json"), "{}");
}

}  // namespace
}  // namespace storage
