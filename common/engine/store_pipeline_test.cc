// The engine's store pipeline (ExportRecorder, BodyPrefetcher) and the folder index, on a
// real filesystem store wrapped to record the order of what reaches it.
#include "common/engine/store_pipeline.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/engine/engine_internal.h"
#include "common/engine/folder_index.h"
#include "common/storage/fs_store.h"
#include "gtest/gtest.h"

namespace engine::internal {
namespace {

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/pipeline.XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// A filesystem store that logs every commit and Sync in order, commits .eml objects after
// a random pause (so they finish out of order), and fails the commits of keys containing
// `fail`.
class OrderStore : public storage::Store {
 public:
  explicit OrderStore(std::unique_ptr<storage::Store> base) : base_(std::move(base)) {}

  class LoggedWriter : public storage::Writer {
   public:
    LoggedWriter(OrderStore* store, std::unique_ptr<storage::Writer> w)
        : store_(store), w_(std::move(w)) {}
    absl::Status Append(absl::string_view d) override { return w_->Append(d); }
    absl::Status Commit() override { return w_->Commit(); }  // unused here
    absl::Status CommitAs(const std::string& key) override {
      if (absl::EndsWith(key, ".eml")) store_->Pause();
      if (!store_->fail.empty() && absl::StrContains(key, store_->fail)) {
        return absl::UnavailableError("injected: " + key);
      }
      absl::Status st = w_->CommitAs(key);
      if (st.ok()) store_->Log("commit " + key);
      return st;
    }
    uint64_t bytes_written() const override { return w_->bytes_written(); }

   private:
    OrderStore* store_;
    std::unique_ptr<storage::Writer> w_;
  };

  absl::StatusOr<std::unique_ptr<storage::Writer>> NewWriter(const std::string& key) override {
    auto w = base_->NewWriter(key);
    if (!w.ok()) return w.status();
    // Put() commits under the writer's own key: route it through CommitAs for the log.
    class PutWriter : public LoggedWriter {
     public:
      PutWriter(OrderStore* s, std::unique_ptr<storage::Writer> w, std::string key)
          : LoggedWriter(s, std::move(w)), key_(std::move(key)) {}
      absl::Status Commit() override { return CommitAs(key_); }

     private:
      std::string key_;
    };
    return std::unique_ptr<storage::Writer>(new PutWriter(this, std::move(*w), key));
  }
  absl::StatusOr<std::string> Get(const std::string& key) override {
    gets.fetch_add(1);
    return base_->Get(key);
  }
  absl::StatusOr<std::unique_ptr<storage::Reader>> Open(const std::string& key) override {
    opens.fetch_add(1);
    return base_->Open(key);
  }
  absl::StatusOr<bool> Exists(const std::string& key) override { return base_->Exists(key); }
  absl::StatusOr<std::vector<storage::ObjectInfo>> List(const std::string& prefix) override {
    return base_->List(prefix);
  }
  absl::Status Delete(const std::string& key) override { return base_->Delete(key); }
  std::string Describe() const override { return base_->Describe(); }
  absl::Status Sync() override {
    Log("sync");
    return base_->Sync();
  }

  void Log(const std::string& line) {
    absl::MutexLock lock(&mu_);
    log_.push_back(line);
  }
  std::vector<std::string> log() {
    absl::MutexLock lock(&mu_);
    return log_;
  }
  void Pause() {
    int us;
    {
      absl::MutexLock lock(&mu_);
      us = std::uniform_int_distribution<int>(0, 2000)(rng_);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }

  std::string fail;  // set before use
  std::atomic<int> gets{0}, opens{0};

 private:
  std::unique_ptr<storage::Store> base_;
  absl::Mutex mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
  std::mt19937 rng_ ABSL_GUARDED_BY(mu_){7};
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    storage::FsStoreOptions o;
    o.fsync = false;
    auto fs = storage::FsStore::Create(dir_, o);
    ASSERT_TRUE(fs.ok()) << fs.status();
    store_ = std::make_unique<OrderStore>(std::move(*fs));
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::unique_ptr<storage::Writer> Body(const std::string& text) {
    auto w = store_->NewWriter("a@x/INBOX/incoming.eml");
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(text).ok());
    return std::move(*w);
  }
  static MessageMeta Meta(uint32_t uid, uint64_t size) {
    MessageMeta m;
    m.internaldate = "01-Jan-2024 00:00:00 +0000";
    m.size = size;
    m.sha256 = "00";
    m.message_id = absl::StrCat("<", uid, "@x>");
    m.uidvalidity = 7;
    m.uid = uid;
    return m;
  }

  std::string dir_;
  std::unique_ptr<OrderStore> store_;
};

// Every .json is committed after its .eml and after a Sync that followed that commit.
void ExpectJsonAfterDurableEml(const std::vector<std::string>& log) {
  std::map<std::string, size_t> eml_at;
  size_t last_sync = 0;
  bool synced = false;
  for (size_t i = 0; i < log.size(); ++i) {
    const std::string& l = log[i];
    if (l == "sync") {
      last_sync = i;
      synced = true;
    } else if (absl::EndsWith(l, ".eml")) {
      eml_at[l.substr(7, l.size() - 7 - 4)] = i;
    } else if (absl::EndsWith(l, ".json")) {
      const std::string base = l.substr(7, l.size() - 7 - 5);
      ASSERT_TRUE(eml_at.count(base)) << l << " before its .eml";
      EXPECT_TRUE(synced && last_sync > eml_at[base]) << l << " without a Sync after its .eml";
    }
  }
}

TEST_F(PipelineTest, RecordsEachMessageOnlyAfterItsEmlIsDurable) {
  std::atomic<int> recorded{0};
  ExportRecorder recorder(*store_, "a@x/INBOX/",
                          [&](const std::string&, const MessageMeta&) { ++recorded; });
  for (uint32_t uid = 1; uid <= 40; ++uid) {
    const std::string text(100 + uid, 'x');
    ASSERT_TRUE(recorder.Add(Body(text), MessageBase(7, uid), Meta(uid, text.size())).ok());
    if (uid % 16 == 0) recorder.CloseBatch();
  }
  ASSERT_TRUE(recorder.Finish().ok());
  EXPECT_EQ(recorder.written(), 40u);
  EXPECT_EQ(recorded.load(), 40);
  EXPECT_EQ(recorder.recorded().size(), 40u);
  const std::vector<std::string> log = store_->log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "sync"), 3);  // one per batch: 16, 16, 8
  ExpectJsonAfterDurableEml(log);
}

TEST_F(PipelineTest, AFailedCommitIsNotRecordedAndStopsTheFolder) {
  store_->fail = MessageBase(7, 5) + ".eml";
  ExportRecorder recorder(*store_, "a@x/INBOX/", nullptr);
  absl::Status added;
  uint32_t uid = 1;
  for (; uid <= 200 && added.ok(); ++uid) {
    added = recorder.Add(Body("hello"), MessageBase(7, uid), Meta(uid, 5));
  }
  absl::Status finished = recorder.Finish();
  EXPECT_TRUE(absl::IsUnavailable(finished)) << finished;
  // Every message whose .eml went in is recorded; the failed one is not.
  const FolderMessages recorded = recorder.recorded();
  EXPECT_FALSE(recorded.count(MessageBase(7, 5)));
  EXPECT_TRUE(recorded.count(MessageBase(7, 4)));
  EXPECT_EQ(recorder.written(), recorded.size());
  auto json = store_->Get("a@x/INBOX/" + MessageBase(7, 5) + ".json");
  EXPECT_TRUE(absl::IsNotFound(json.status()));
  ExpectJsonAfterDurableEml(store_->log());
}

TEST_F(PipelineTest, PrefetcherReadsAheadAndFallsBackToStreaming) {
  std::vector<BodyPrefetcher::Item> order;
  for (int i = 0; i < 5; ++i) {
    const std::string key = absl::StrCat("a@x/INBOX/m", i, ".eml");
    ASSERT_TRUE(store_->Put(key, std::string(1000 + i, 'a' + i)).ok());
    order.push_back({key, static_cast<uint64_t>(1000 + i), static_cast<uint64_t>(i + 1)});
  }
  order.push_back({"a@x/INBOX/big.eml", BodyPrefetcher::kMaxBytes + 1, 9});  // not read ahead
  order.push_back({"a@x/INBOX/gone.eml", 10, 10});                           // read fails
  BodyPrefetcher ahead(*store_, order);
  auto first = ahead.Take(0);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 1000u);
  EXPECT_EQ(first->Describe(), "source UID 1");
  std::string got(1000, '\0');
  ASSERT_EQ(*first->ReadAt(0, got.data(), got.size()), 1000u);
  EXPECT_EQ(got, std::string(1000, 'a'));
  for (size_t i = 1; i < 5; ++i) {
    auto body = ahead.Take(i);
    ASSERT_NE(body, nullptr) << i;
    std::string b(body->size(), '\0');
    ASSERT_EQ(*body->ReadAt(0, b.data(), b.size()), b.size());
    EXPECT_EQ(b, std::string(1000 + i, 'a' + i));
  }
  EXPECT_EQ(ahead.Take(5), nullptr);  // too large: the caller streams it
  auto gone = ahead.Take(6);
  ASSERT_NE(gone, nullptr);
  char c;
  EXPECT_TRUE(absl::IsNotFound(gone->ReadAt(0, &c, 1).status()));  // streamed: same error
  EXPECT_EQ(ahead.Take(0), nullptr);                               // taken: streamed if sent again
}

// ---- the folder index ----

TEST_F(PipelineTest, FolderIndexRoundTripsAndIsUsedWhenCurrent) {
  FolderMessages messages;
  for (uint32_t uid = 1; uid <= 3; ++uid) {
    MessageMeta m = Meta(uid, 10 * uid);
    m.flags = {"\\Seen", "$Work"};
    if (uid == 2) {
      m.internaldate_raw = "NIL";
      m.size_unusable = true;
    }
    messages[MessageBase(7, uid)] = m;
    ASSERT_TRUE(
        store_->Put("a@x/INBOX/" + MessageBase(7, uid) + ".json", MessageMetaToJson(m)).ok());
  }
  auto parsed = FolderIndexFromJson(FolderIndexToJson(messages));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ(MessageMetaToJson(parsed->at(MessageBase(7, 2))),
            MessageMetaToJson(messages[MessageBase(7, 2)]));

  ASSERT_TRUE(WriteFolderIndex(*store_, "a@x/INBOX/", messages).ok());
  auto listing = store_->List("a@x/INBOX/");
  ASSERT_TRUE(listing.ok());
  const int gets_before = store_->gets.load();
  bool current = false;
  auto loaded = LoadFolderMessages(*store_, "a@x/INBOX/", *listing, true, &current);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(current);
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_EQ(store_->gets.load() - gets_before, 1);  // the index alone, no .json
  // The index is neither a message nor a folder to the listings.
  EXPECT_EQ(RecordedBases("a@x/INBOX/", *listing).size(), 3u);
}

TEST_F(PipelineTest, StaleIndexFallsBackToTheJsonAndIsRewritten) {
  const std::string prefix = "a@x/INBOX/";
  FolderMessages messages;
  for (uint32_t uid = 1; uid <= 3; ++uid) {
    messages[MessageBase(7, uid)] = Meta(uid, uid);
    ASSERT_TRUE(
        store_->Put(prefix + MessageBase(7, uid) + ".json", MessageMetaToJson(Meta(uid, uid)))
            .ok());
  }
  ASSERT_TRUE(WriteFolderIndex(*store_, prefix, messages).ok());
  auto load = [&](bool* current) {
    auto listing = store_->List(prefix);
    EXPECT_TRUE(listing.ok());
    return LoadFolderMessages(*store_, prefix, *listing, true, current);
  };
  // A .json the index does not name.
  ASSERT_TRUE(
      store_->Put(prefix + MessageBase(7, 4) + ".json", MessageMetaToJson(Meta(4, 4))).ok());
  bool current = true;
  auto loaded = load(&current);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(current);
  EXPECT_EQ(loaded->size(), 4u);
  loaded = load(&current);  // rewritten: current now
  EXPECT_TRUE(current);
  EXPECT_EQ(loaded->size(), 4u);
  // A message it names, gone.
  ASSERT_TRUE(store_->Delete(prefix + MessageBase(7, 1) + ".json").ok());
  loaded = load(&current);
  EXPECT_FALSE(current);
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_FALSE(loaded->count(MessageBase(7, 1)));
  // Older than the newest .json (a .json rewritten after it).
  auto listing = store_->List(prefix);
  ASSERT_TRUE(listing.ok());
  std::vector<storage::ObjectInfo> later = *listing;
  storage::ObjectInfo index;
  for (storage::ObjectInfo& o : later) {
    if (absl::EndsWith(o.key, kFolderIndexName)) index = o;
    if (absl::EndsWith(o.key, MessageBase(7, 2) + ".json")) o.modified += absl::Seconds(5);
  }
  auto parsed = FolderIndexFromJson(*store_->Get(prefix + kFolderIndexName));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(IndexStaleness(*parsed, index, prefix, later), "older than the newest .json");
  // Unreadable: the .json again.
  ASSERT_TRUE(store_->Put(prefix + kFolderIndexName, "{not json").ok());
  loaded = load(&current);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(current);
  EXPECT_EQ(loaded->size(), 3u);
}

}  // namespace
}  // namespace engine::internal
