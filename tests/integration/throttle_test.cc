// Throttling, connection caps and dropped connections, injected by the fault proxy
// (tests/fixtures/fault_proxy.h) in front of real Dovecots: export and import each run once
// (one attempt) through throttles with and without a suggested wait, OKs marked
// [THROTTLED], a cap on logins below the account's connections, a BYE and a silent
// disconnect. Every account ends ok, B holds exactly A's messages (no duplicate), validate
// finds nothing missing, and the counters show the throttles: the throttled time follows
// the suggested waits (overlapping pauses are not added up).
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/engine/engine.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"
#include "tests/fixtures/imap_check.h"

namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::Fault;
using testing_fixtures::FaultProxy;
using testing_fixtures::FaultProxyOptions;

constexpr int kSuggestedMs = 1500;
const std::string kMsThrottle = absl::StrCat(
    "NO Request is throttled. Suggested Backoff Time: ", kSuggestedMs, " milliseconds");
const std::string kGmailThrottle = "NO [OVERQUOTA] Account exceeded command or bandwidth limits.";

config::ServerConfig Plain(int port) {
  config::ServerConfig c = testing_fixtures::PlainConfigOf(port);
  c.max_connections_per_account = 4;
  return c;
}

class ThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = testing_fixtures::DovecotPair::Start();
    ASSERT_TRUE(pair.ok()) << pair.status();
    a_ = std::move(pair->a);
    b_ = std::move(pair->b);
    const std::string& email = a_->users()[0].email;
    testing_fixtures::SeedOptions o;
    o.min_size = 800;
    o.max_size = 6000;
    int seed = 1;
    for (auto [folder, n] : std::vector<std::pair<std::string, int>>{
             {"INBOX", 120}, {"Work", 80}, {"Archive/2020", 60}, {"Sent", 40}, {"Lists", 30}}) {
      o.seed = seed++;
      ASSERT_TRUE(a_->SeedGenerated(email, folder, n, o).ok());
    }
  }

  engine::AccountResult Run(engine::Mode mode, const config::ServerConfig& server,
                            const DovecotServer& s, storage::Store& store) {
    engine::AccountTask t;
    t.mode = mode;
    t.server = server;
    t.account.email = s.users()[0].email;
    t.account.password = s.users()[0].password;
    engine::CancelToken cancel;
    return engine::RunAccount(t, store, nullptr, cancel);
  }

  std::unique_ptr<storage::Store> Store(const std::string& name) {
    auto store = storage::OpenStore(a_->dir() + "/" + name);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::unique_ptr<DovecotServer> a_, b_;
};

// The faults of a run, on the data commands in turn (UID FETCH or APPEND: one fault per
// command): a throttle with a suggested wait, one without (Gmail's), two slow-down OKs, a
// silent disconnect, a second suggested wait; a BYE at the 13th command of any kind; and
// logins capped at 1 (the account wants 4): its other connections log in right after the
// first one did, while it is still open, so the cap is met whatever the machine's load.
FaultProxyOptions Faults(const DovecotServer& server, const std::string& data_command) {
  FaultProxyOptions o;
  o.target = absl::StrCat(server.host(), ":", server.imap_port());
  o.max_logins = 1;
  o.faults = {
      {Fault::Action::kBye, "", 12, 1, "Session expired, please login again"},
      {Fault::Action::kReplace, data_command, 0, 1, kMsThrottle},
      {Fault::Action::kReplace, data_command, 1, 1, kGmailThrottle},
      {Fault::Action::kSlowDownOk, data_command, 2, 2, ""},
      {Fault::Action::kDisconnect, data_command, 4, 1, ""},
      {Fault::Action::kReplace, data_command, 5, 1, kMsThrottle},
  };
  return o;
}

void ExpectAllFired(const FaultProxy& proxy) {
  const testing_fixtures::FaultCounts c = proxy.counts();
  for (size_t i = 0; i < c.fired.size(); ++i) EXPECT_GE(c.fired[i], 1) << "fault " << i;
  EXPECT_GE(c.logins_refused, 1) << c.connections << " connections";
  EXPECT_LE(c.max_logged_in, 1);
}

// Paused for the suggested waits (each at most once: 2 x 1.5 s, or less when they
// overlap), plus at most a few backoffs of at most 1 s (a throttle without a wait, the
// cap) and the slow-downs.
void ExpectThrottledTime(const engine::AccountResult& r) {
  EXPECT_GE(r.throttles, 6u);
  EXPECT_GE(r.reconnects, 2u);
  EXPECT_GE(r.throttled_ms, uint64_t{kSuggestedMs});
  EXPECT_LE(r.throttled_ms, uint64_t{2 * kSuggestedMs + 3 * 1000 + 2 * 100});
}

TEST_F(ThrottleTest, ExportAndImportGoThroughThrottlesCapsAndDisconnectsExactly) {
  auto store = Store("export");
  auto baseline_store = Store("baseline");
  // Unthrottled, for the wall time only.
  absl::Time t0 = absl::Now();
  auto base = Run(engine::Mode::kExport, Plain(a_->imap_port()), *a_, *baseline_store);
  const absl::Duration plain_wall = absl::Now() - t0;
  ASSERT_TRUE(base.status.ok()) << base.status;

  std::cerr << "export unthrottled: " << plain_wall << "\n";
  // Through the fault proxy; once for export, once for import.
  auto faulty = [&](engine::Mode mode, DovecotServer& server, const std::string& data_command) {
    auto proxy = FaultProxy::Start(Faults(server, data_command));
    EXPECT_TRUE(proxy.ok()) << proxy.status();
    if (!proxy.ok()) return engine::AccountResult();
    const absl::Time start = absl::Now();
    auto r = Run(mode, Plain((*proxy)->port()), server, *store);
    EXPECT_TRUE(r.status.ok()) << r.status;
    ExpectAllFired(**proxy);
    ExpectThrottledTime(r);
    std::cerr << engine::ModeName(mode) << " throttled: " << absl::Now() - start << " (paused "
              << r.throttled_ms << " ms, " << r.throttles << " throttles, " << r.reconnects
              << " reconnects; suggested waits " << 2 * kSuggestedMs << " ms in all)\n";
    return r;
  };
  auto exported = faulty(engine::Mode::kExport, *a_, "UID FETCH");
  ASSERT_TRUE(exported.status.ok());
  uint64_t total = 0;
  for (const auto& f : exported.folders) {
    EXPECT_EQ(f.target_messages, f.source_messages) << f.name;
    total += f.target_messages;
  }
  EXPECT_EQ(total, 330u);

  ASSERT_TRUE(faulty(engine::Mode::kImport, *b_, "APPEND").status.ok());

  // B holds exactly A's messages: counts per folder equal (no duplicate), validate clean,
  // and a second import finds nothing to append.
  EXPECT_EQ(testing_fixtures::FolderCounts(*b_, 0), testing_fixtures::FolderCounts(*a_, 0));
  auto validated = Run(engine::Mode::kValidate, Plain(b_->imap_port()), *b_, *store);
  ASSERT_TRUE(validated.status.ok()) << validated.status;
  for (const auto& f : validated.folders) {
    EXPECT_EQ(f.missing, 0u) << f.name;
    EXPECT_EQ(f.extra, 0u) << f.name;
  }
  auto again = Run(engine::Mode::kImport, Plain(b_->imap_port()), *b_, *store);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.messages, 0u);
  EXPECT_EQ(again.throttles, 0u);
}

}  // namespace
