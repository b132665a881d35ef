// The append plan against a fake server B that is all or nothing per MULTIAPPEND: refused
// messages are found, every other one is appended exactly once, in order.
#include "common/engine/append_batches.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/imap/reply_class.h"
#include "gtest/gtest.h"

namespace engine::internal {
namespace {

absl::Status RefusedStatus(imap::Refusal why) {
  imap::ReplyInfo info;
  info.cls = imap::ReplyClass::kMessageRefused;
  info.refusal = why;
  return imap::WithReply(absl::FailedPreconditionError("APPEND failed: NO refused"), info);
}

// A fake server B: refuses the items in `refuse`, and the items in `keywords` until their
// keywords are dropped; with `multiappend`, a batch is one all-or-nothing command.
struct FakeTarget {
  bool multiappend = true;
  std::set<size_t> refuse;
  std::set<size_t> keywords;
  std::set<size_t> broken_at;  // items whose send breaks the session
  std::multiset<size_t> on_server;
  int commands = 0;
  std::vector<size_t> appended, refused;
  std::set<size_t> stripped;

  absl::Status One(size_t item) {
    if (refuse.count(item)) return RefusedStatus(imap::Refusal::kTooBig);
    if (keywords.count(item) && !stripped.count(item)) {
      return RefusedStatus(imap::Refusal::kKeywords);
    }
    return absl::OkStatus();
  }

  AppendCallbacks Callbacks() {
    AppendCallbacks cb;
    cb.send = [this](const std::vector<size_t>& items,
                     bool one_by_one) -> absl::StatusOr<SendResult> {
      for (size_t i : items) {
        if (broken_at.count(i)) return absl::UnavailableError("connection closed");
      }
      SendResult r;
      if (multiappend && !one_by_one && items.size() > 1) {
        ++commands;
        r.atomic = true;
        absl::Status st;
        for (size_t i : items) {
          if (!One(i).ok()) {
            st = One(i);
            break;
          }
        }
        if (st.ok()) {
          for (size_t i : items) on_server.insert(i);
        }
        r.statuses.assign(items.size(), st);
        return r;
      }
      for (size_t i : items) {
        ++commands;
        absl::Status st = One(i);
        if (st.ok()) on_server.insert(i);
        r.statuses.push_back(st);
      }
      r.atomic = items.size() == 1;
      return r;
    };
    cb.appended = [this](size_t i) { appended.push_back(i); };
    cb.refused = [this](size_t i, const absl::Status& st) {
      EXPECT_TRUE(imap::IsMessageRefused(st)) << st;
      refused.push_back(i);
    };
    cb.drop_keywords = [this](size_t i, const absl::Status&) { return stripped.insert(i).second; };
    return cb;
  }
};

std::vector<uint64_t> Sizes(size_t n, uint64_t each = 100) {
  return std::vector<uint64_t>(n, each);
}

void ExpectEachOnce(const FakeTarget& t, size_t n, const std::set<size_t>& refused) {
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(t.on_server.count(i), refused.count(i) ? 0u : 1u) << "item " << i;
  }
  EXPECT_EQ(std::set<size_t>(t.refused.begin(), t.refused.end()), refused);
  EXPECT_EQ(t.appended.size() + t.refused.size(), n);
}

TEST(AppendBatchesTest, NoRefusalOneCommandPerBatch) {
  FakeTarget t;
  ASSERT_TRUE(AppendInBatches(Sizes(120), BatchLimits{50, 1 << 20}, t.Callbacks()).ok());
  EXPECT_EQ(t.commands, 3);  // 50 + 50 + 20
  ExpectEachOnce(t, 120, {});
}

TEST(AppendBatchesTest, RefusedBatchIsRetriedOneByOne) {
  FakeTarget t;
  t.refuse = {3, 57};
  ASSERT_TRUE(AppendInBatches(Sizes(100), BatchLimits{50, 1 << 20}, t.Callbacks()).ok());
  ExpectEachOnce(t, 100, {3, 57});
  // Two refused batches: each sent once whole, then once per message.
  EXPECT_EQ(t.commands, 2 + 100);
  EXPECT_EQ(t.appended.front(), 0u);  // order kept
}

TEST(AppendBatchesTest, SingleMessageBatchRefused) {
  FakeTarget t;
  t.refuse = {1};
  // 8 MB cap: the big one is a batch of its own.
  ASSERT_TRUE(AppendInBatches({100, 9 << 20, 100}, BatchLimits{50, 8 << 20}, t.Callbacks()).ok());
  ExpectEachOnce(t, 3, {1});
}

TEST(AppendBatchesTest, WithoutMultiappendStatusesArePerMessage) {
  FakeTarget t;
  t.multiappend = false;
  t.refuse = {0, 4};
  ASSERT_TRUE(AppendInBatches(Sizes(10), BatchLimits{50, 1 << 20}, t.Callbacks()).ok());
  ExpectEachOnce(t, 10, {0, 4});
  EXPECT_EQ(t.commands, 10);  // nothing sent twice
}

TEST(AppendBatchesTest, KeywordRefusalDropsKeywordsAndAppends) {
  FakeTarget t;
  t.keywords = {2, 5};
  t.refuse = {7};
  ASSERT_TRUE(AppendInBatches(Sizes(10), BatchLimits{50, 1 << 20}, t.Callbacks()).ok());
  ExpectEachOnce(t, 10, {7});
  EXPECT_EQ(t.stripped, (std::set<size_t>{2, 5}));
}

TEST(AppendBatchesTest, OtherFailureStopsAndReportsWhatWentIn) {
  FakeTarget t;
  t.broken_at = {60};
  absl::Status st = AppendInBatches(Sizes(100), BatchLimits{50, 1 << 20}, t.Callbacks());
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_EQ(t.appended.size(), 50u);
  EXPECT_EQ(t.on_server.size(), 50u);
}

TEST(AppendBatchesTest, TargetFullIsNotARefusal) {
  FakeTarget t;
  AppendCallbacks cb = t.Callbacks();
  cb.send = [](const std::vector<size_t>& items, bool) -> absl::StatusOr<SendResult> {
    SendResult r;
    r.atomic = true;
    r.statuses.assign(items.size(), absl::ResourceExhaustedError("NO [OVERQUOTA] full"));
    return r;
  };
  EXPECT_TRUE(absl::IsResourceExhausted(AppendInBatches(Sizes(5), BatchLimits{}, cb)));
  EXPECT_TRUE(t.refused.empty());
}

TEST(AppendBatchesTest, Cancelled) {
  FakeTarget t;
  AppendCallbacks cb = t.Callbacks();
  cb.cancelled = [] { return true; };
  EXPECT_TRUE(absl::IsCancelled(AppendInBatches(Sizes(5), BatchLimits{}, cb)));
  EXPECT_EQ(t.commands, 0);
}

TEST(AppendBatchesTest, AnItemTurnedAwayEndsTheCallAfterTheBatchBuiltSoFar) {
  FakeTarget t;
  AppendCallbacks cb = t.Callbacks();
  std::vector<size_t> asked;
  cb.admit = [&](size_t i) {
    asked.push_back(i);
    return i < 7;  // the budget runs out at item 7
  };
  cb.stop = [] { return absl::ResourceExhaustedError("budget spent"); };
  absl::Status st = AppendInBatches(Sizes(20), BatchLimits{5, 1 << 20}, cb);
  EXPECT_EQ(st.message(), "budget spent");
  // Items 5 and 6 went in their own (short) batch; 7 and later were never sent.
  EXPECT_EQ(t.commands, 2);
  EXPECT_EQ(t.appended, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(asked, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7}));  // each asked once
}

}  // namespace
}  // namespace engine::internal
