// StateStore over a real SQLite file: create, record, reopen (resume), refuse
// another job, --fresh, no secret stored; a subset run's rows (durable_job.h).
#include "coordinator/durable/state_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "coordinator/durable/durable_job.h"
#include "gtest/gtest.h"

namespace coordinator {
namespace {

config::Config MakeConfig(const std::string& password) {
  config::Config c;
  c.server.host = "imap.example.com";
  c.server.port = 993;
  for (int i = 0; i < 3; ++i) {
    config::Account a;
    a.index = i;
    a.email = "u" + std::to_string(i) + "@x";
    a.password = password;
    c.accounts.push_back(a);
  }
  return c;
}

std::vector<std::string> Emails(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& a : c.accounts) out.push_back(a.email);
  return out;
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/state_store_test_" + std::to_string(::getpid()) + ".sqlite";
    Cleanup();
  }
  void TearDown() override { Cleanup(); }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  }
  std::string path_;
};

TEST_F(StateStoreTest, ResumesWhatWasRecorded) {
  config::Config c = MakeConfig("Secr3t-pw-XyZ");
  JobIdentity id = MakeJobIdentity(engine::Mode::kExport, c, "/data");
  {
    auto s = StateStore::Open(path_, id, Emails(c), false);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_FALSE((*s)->resumed());
    TaskInfo t;
    t.task_id = 1;
    t.account_index = 0;
    t.state = TaskState::kSucceeded;
    t.attempts = 2;
    t.epoch = 9;
    t.size = 120;
    (*s)->Record(t, AccountTotals{120, 5000, 3, ThrottleTotals{2500, 6, 2}}, true);
    t.task_id = 2;
    t.account_index = 1;
    t.state = TaskState::kRunning;
    t.attempts = 1;
    t.epoch = 11;
    (*s)->Record(t, AccountTotals{}, false);
  }
  auto s = StateStore::Open(path_, id, Emails(c), false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->resumed());
  const auto& rows = (*s)->accounts();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].state, TaskState::kSucceeded);
  EXPECT_EQ(rows[0].attempts, 2u);
  EXPECT_EQ(rows[0].size, 120u);
  EXPECT_EQ(rows[0].totals.bytes, 5000u);
  EXPECT_EQ(rows[0].totals.throttling.throttled_ms, 2500u);
  EXPECT_EQ(rows[0].totals.throttling.throttles, 6u);
  EXPECT_EQ(rows[0].totals.throttling.reconnects, 2u);
  EXPECT_EQ(rows[1].state, TaskState::kPending);  // was running: runs again
  EXPECT_EQ(rows[2].state, TaskState::kPending);
  EXPECT_EQ((*s)->max_epoch(), 11u);
  EXPECT_EQ((*s)->CountState(TaskState::kSucceeded), 1u);
  // A changed password is the same job (passwords are not part of it) ...
  config::Config c2 = MakeConfig("other");
  EXPECT_EQ(MakeJobIdentity(engine::Mode::kExport, c2, "/data").hash, id.hash);
  // ... and no password reaches the file.
  s->reset();
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path_ + suffix, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str().find("Secr3t-pw-XyZ"), std::string::npos);
  }
}

TEST_F(StateStoreTest, AnotherJobIsRefusedUnlessFresh) {
  config::Config c = MakeConfig("pw");
  JobIdentity id = MakeJobIdentity(engine::Mode::kExport, c, "/data");
  ASSERT_TRUE(StateStore::Open(path_, id, Emails(c), false).ok());
  JobIdentity other_mode = MakeJobIdentity(engine::Mode::kImport, c, "/data");
  auto r = StateStore::Open(path_, other_mode, Emails(c), false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(r.status()));
  EXPECT_NE(r.status().message().find("--fresh"), std::string::npos);
  config::Config more = MakeConfig("pw");
  more.accounts.pop_back();
  JobIdentity other_cfg = MakeJobIdentity(engine::Mode::kExport, more, "/data");
  EXPECT_NE(other_cfg.hash, id.hash);
  EXPECT_FALSE(StateStore::Open(path_, other_cfg, Emails(more), false).ok());
  auto fresh = StateStore::Open(path_, other_cfg, Emails(more), true);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE((*fresh)->resumed());
  EXPECT_EQ((*fresh)->accounts().size(), 2u);
}

// A state written before "ok" became "succeeded" still resumes.
TEST(ParseStoredStateTest, ReadsTheStateNamesOldAndNew) {
  EXPECT_EQ(ParseStoredState("succeeded"), TaskState::kSucceeded);
  EXPECT_EQ(ParseStoredState("ok"), TaskState::kSucceeded);
  EXPECT_EQ(ParseStoredState("failed"), TaskState::kFailed);
  EXPECT_EQ(ParseStoredState("cancelled"), TaskState::kCancelled);
  EXPECT_EQ(ParseStoredState("running"), TaskState::kPending);
}

TEST_F(StateStoreTest, NotASqliteFileIsAnError) {
  {
    std::ofstream out(path_);
    out << "this is not a database, just some text that is long enough\n";
  }
  config::Config c = MakeConfig("pw");
  auto r =
      StateStore::Open(path_, MakeJobIdentity(engine::Mode::kExport, c, "/d"), Emails(c), false);
  EXPECT_FALSE(r.ok());
}

// A subset run (--only u2): the Job numbers its one account 0; the rows restored and
// written are u2's, the others' rows untouched.
TEST_F(StateStoreTest, SubsetRunMapsRowsToTheConfigIndex) {
  config::Config c = MakeConfig("pw");
  JobIdentity id = MakeJobIdentity(engine::Mode::kExport, c, "/data");
  auto s = StateStore::Open(path_, id, Emails(c), false);
  ASSERT_TRUE(s.ok()) << s.status();
  TaskInfo done;
  done.account_index = 0;
  done.state = TaskState::kSucceeded;
  done.epoch = 4;
  (*s)->Record(done, AccountTotals{}, true);
  TaskInfo failed;
  failed.account_index = 2;
  failed.state = TaskState::kFailed;
  failed.last_error = "UNAUTHENTICATED: no";
  (*s)->Record(failed, AccountTotals{}, true);
  s->reset();
  s = StateStore::Open(path_, id, Emails(c), false);
  ASSERT_TRUE(s.ok()) << s.status();
  JobOptions o;
  std::unique_ptr<JobJournal> journal = ApplyDurableJob({}, s->get(), {2}, &o);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(o.journal, journal.get());
  EXPECT_EQ(o.min_epoch, 4u);
  ASSERT_EQ(o.restored.size(), 1u);
  EXPECT_EQ(o.restored[0].index, 0);
  EXPECT_EQ(o.restored[0].email, "u2@x");
  EXPECT_EQ(o.restored[0].state, TaskState::kFailed);
  TaskInfo retried;
  retried.account_index = 0;  // the Job's numbering
  retried.state = TaskState::kSucceeded;
  o.journal->Record(retried, AccountTotals{}, true);
  s->reset();
  s = StateStore::Open(path_, id, Emails(c), false);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::vector<StoredAccount>& rows = (*s)->accounts();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].state, TaskState::kSucceeded);
  EXPECT_EQ(rows[1].state, TaskState::kPending);
  EXPECT_EQ(rows[2].state, TaskState::kSucceeded);
  JobOptions all;
  EXPECT_EQ(ApplyDurableJob({}, s->get(), {}, &all), nullptr);
  EXPECT_EQ(all.journal, s->get());
  EXPECT_EQ(all.restored.size(), 3u);
}

TEST_F(StateStoreTest, BudgetsSurviveARestartANewPassAndFresh) {
  config::Config c = MakeConfig("pw");
  JobIdentity id = MakeJobIdentity(engine::Mode::kExport, c, "/data");
  EXPECT_EQ(id.budget_scope, "export imap.example.com:993");
  const absl::Time window = absl::FromUnixMillis(1'800'000'000'000);
  const absl::Time parked = window + absl::Hours(24);
  auto record = [&](StateStore& s, int index, TaskState state) {
    TaskInfo t;
    t.task_id = index + 1;
    t.account_index = index;
    t.email = c.accounts[index].email;
    t.state = state;
    t.budget_bytes = 1000;
    t.window_start = window;
    t.budget_spent = 990;
    t.parked_until = state == TaskState::kPending ? parked : absl::InfinitePast();
    s.Record(t, AccountTotals{}, state != TaskState::kPending);
  };
  {
    auto s = StateStore::Open(path_, id, Emails(c), false);
    ASSERT_TRUE(s.ok()) << s.status();
    record(**s, 0, TaskState::kPending);  // parked
    TaskInfo unlimited;                   // no budget: no row
    unlimited.task_id = 2;
    unlimited.account_index = 1;
    unlimited.email = c.accounts[1].email;
    (*s)->Record(unlimited, AccountTotals{}, false);
  }
  {
    auto s = StateStore::Open(path_, id, Emails(c), false);  // a coordinator restart
    ASSERT_TRUE(s.ok()) << s.status();
    const StoredAccount& r = (*s)->accounts()[0];
    EXPECT_EQ(r.window_start, window);
    EXPECT_EQ(r.budget_spent, 990u);
    EXPECT_EQ(r.parked_until, parked);
    EXPECT_EQ((*s)->accounts()[1].window_start, absl::InfinitePast());
    for (int i = 0; i < 3; ++i) record(**s, i, TaskState::kSucceeded);
  }
  // Every account succeeded: a new pass starts the accounts over, not the budgets.
  auto pass = OpenDurableJob(DurableJobFlags{path_}, engine::Mode::kExport, c, "/data", "/logs");
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ((*pass)->CountState(TaskState::kSucceeded), 0u);
  EXPECT_EQ((*pass)->accounts()[0].window_start, window);
  EXPECT_EQ((*pass)->accounts()[0].budget_spent, 990u);
  EXPECT_EQ((*pass)->accounts()[0].parked_until, absl::InfinitePast());  // it finished since
  pass->reset();
  // --fresh keeps them too; another scope (import into another server) does not see them.
  auto fresh = StateStore::Open(path_, id, Emails(c), true);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)->accounts()[2].budget_spent, 990u);
  fresh->reset();
  config::Config other = c;
  other.server.host = "imap.b.example.com";
  JobIdentity import_id = MakeJobIdentity(engine::Mode::kImport, other, "/data");
  auto imp = StateStore::Open(path_, import_id, Emails(other), true);
  ASSERT_TRUE(imp.ok()) << imp.status();
  EXPECT_EQ((*imp)->accounts()[0].budget_spent, 0u);
  EXPECT_EQ((*imp)->accounts()[0].window_start, absl::InfinitePast());
}

// A state written before the throttling columns existed resumes (counters 0) and keeps
// them from then on.
TEST_F(StateStoreTest, StateWithoutThrottlingColumnsResumesAndGainsThem) {
  config::Config c = MakeConfig("pw");
  JobIdentity id = MakeJobIdentity(engine::Mode::kImport, c, "/data");
  TaskInfo t;
  t.account_index = 1;
  t.state = TaskState::kFailed;
  t.attempts = 1;
  {
    auto s = StateStore::Open(path_, id, Emails(c), false);
    ASSERT_TRUE(s.ok()) << s.status();
    (*s)->Record(t, AccountTotals{7, 70, 0, {}}, true);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  for (const char* column : {"throttled_ms", "throttles", "reconnects"}) {
    const std::string sql = std::string("ALTER TABLE accounts DROP COLUMN ") + column;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  {
    auto s = StateStore::Open(path_, id, Emails(c), false);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->resumed());
    EXPECT_EQ((*s)->accounts()[1].state, TaskState::kFailed);
    EXPECT_EQ((*s)->accounts()[1].totals.messages, 7u);
    EXPECT_EQ((*s)->accounts()[1].totals.throttling.throttles, 0u);
    (*s)->Record(t, AccountTotals{7, 70, 0, ThrottleTotals{900, 3, 1}}, true);
  }
  auto s = StateStore::Open(path_, id, Emails(c), false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->accounts()[1].totals.throttling.throttled_ms, 900u);
  EXPECT_EQ((*s)->accounts()[1].totals.throttling.reconnects, 1u);
}

}  // namespace
}  // namespace coordinator
