// Bounded stalls (server.io_timeout, server.min_rate) against a real Dovecot: a server that
// stops inside a literal or drips it (the fault proxy, tests/fixtures/fault_proxy.h) is cut
// after one window of the rate rule, well before the idle timeout (which a drip never
// reaches), and the error names the folder and the UID; the account's step is retried on
// new connections, then the account fails with DEADLINE_EXCEEDED. A healthy slow link (the
// WAN emulator at 1 Mbit/s) is never cut. Time is scaled down: io_timeout 4 or 8 s, so the
// rate rule's window is 1 or 2 s instead of the default 30 s (min_rate keeps its default);
// the full-size case (20 MB at 1 Mbit/s with the defaults) is tests/bench/stall_bench.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/engine/connect.h"
#include "common/engine/engine.h"
#include "common/imap/commands.h"
#include "common/imap/testing/recording_sink.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/bench/wan_proxy.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"

namespace {

using testing_fixtures::DovecotServer;
using testing_fixtures::Fault;
using testing_fixtures::FaultProxy;
using testing_fixtures::FaultProxyOptions;

constexpr size_t kBig = 200000;

config::ServerConfig Plain(int port, int io_timeout) {
  config::ServerConfig c;
  c.host = "127.0.0.1";
  c.port = port;
  c.ssl = false;
  c.starttls = false;
  c.max_connections_per_account = 1;
  c.io_timeout = io_timeout;
  return c;
}

class StallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = DovecotServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override { server_->PrintLogOnFailure(); }

  const testing_fixtures::DovecotUser& user() const { return server_->users()[0]; }

  void Seed(const std::string& folder, int n, size_t min, size_t max, uint64_t seed) {
    testing_fixtures::SeedOptions o;
    o.min_size = min;
    o.max_size = max;
    o.seed = seed;
    ASSERT_TRUE(server_->SeedGenerated(user().email, folder, n, o).ok());
  }

  // `offset` bytes after each matching UID FETCH, the server's bytes drip (or stop).
  std::unique_ptr<FaultProxy> Proxy(Fault::Action action, int times) {
    FaultProxyOptions o;
    o.target = absl::StrCat(server_->host(), ":", server_->imap_port());
    Fault f;
    f.action = action;
    f.command = "UID FETCH";
    f.times = times;
    f.offset = kBig / 2;  // inside the first message's literal
    f.rate = 2;           // bytes per second
    o.faults.push_back(f);
    auto proxy = FaultProxy::Start(o);
    EXPECT_TRUE(proxy.ok()) << proxy.status();
    return proxy.ok() ? std::move(*proxy) : nullptr;
  }

  engine::AccountResult Export(const config::ServerConfig& server, const std::string& out) {
    auto store = storage::OpenStore(server_->dir() + "/" + out);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return engine::AccountResult();
    engine::AccountTask t;
    t.mode = engine::Mode::kExport;
    t.server = server;
    t.account.email = user().email;
    t.account.password = user().password;
    engine::CancelToken cancel;
    return engine::RunAccount(t, **store, nullptr, cancel);
  }

  std::unique_ptr<DovecotServer> server_;
};

TEST_F(StallTest, AStallInsideALiteralIsCutAfterOneWindowNamingTheUid) {
  Seed("INBOX", 2, kBig, kBig, 1);
  auto proxy = Proxy(Fault::Action::kStall, 1);
  ASSERT_NE(proxy, nullptr);
  config::Account account;
  account.email = user().email;
  auto session = engine::ConnectAccount(Plain(proxy->port(), 8), account, user().password);
  ASSERT_TRUE(session.ok()) << session.status();
  imap::testing::RecordingSink sink;
  auto box =
      imap::SelectAndFetch(**session, "INBOX", /*read_only=*/true, "1:*", imap::FetchOptions(),
                           &sink, [](const imap::SelectedMailbox&) { return absl::OkStatus(); });
  ASSERT_FALSE(box.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(box.status())) << box.status();
  const std::string msg(box.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "too slow")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "in the last 2s of waiting")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "inside the FETCH response for message 1 (UID 1)")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "of its 200000-byte literal received")) << msg;
  // The rate rule ended it, not the idle timeout (8 s).
  EXPECT_FALSE(absl::StrContains(msg, "timed out after")) << msg;
  EXPECT_EQ(proxy->counts().fired[0], 1);
}

TEST_F(StallTest, ADripOnEveryAttemptIsRetriedThenFailsNamingFolderAndUid) {
  Seed("INBOX", 2, kBig, kBig, 2);
  auto proxy = Proxy(Fault::Action::kDrip, -1);
  ASSERT_NE(proxy, nullptr);
  const engine::AccountResult r = Export(Plain(proxy->port(), 4), "drip");
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status)) << r.status;
  const std::string msg(r.status.message());
  EXPECT_TRUE(absl::StartsWith(msg, absl::StrCat("account ", user().email, ": folder 'INBOX': ")))
      << msg;
  EXPECT_TRUE(absl::StrContains(msg, "(UID 1)")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "too slow")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "below min_rate 1024 bytes/s")) << msg;
  // The step's four attempts, each on a new connection, each dripped.
  EXPECT_EQ(proxy->counts().fired[0], 4);
  EXPECT_EQ(r.reconnects, 3u);
  EXPECT_EQ(r.messages, 0u);
}

TEST_F(StallTest, AHealthySlowLinkIsNotCut) {
  Seed("Big", 2, 300000, 300000, 3);
  Seed("INBOX", 20, 2000, 6000, 4);
  wanproxy::Options o;
  o.routes.push_back({"127.0.0.1:0", absl::StrCat(server_->host(), ":", server_->imap_port())});
  o.rate_mbit = 1;
  o.rtt_ms = 20;
  wanproxy::WanProxy link(o);
  std::string error;
  ASSERT_TRUE(link.Start(&error)) << error;
  std::thread loop([&] { link.Run(); });
  const std::string bound = link.bound()[0];
  config::ServerConfig server = Plain(std::stoi(bound.substr(bound.rfind(':') + 1)), 8);
  server.max_connections_per_account = 2;  // the two folders share the link
  const absl::Time start = absl::Now();
  const engine::AccountResult r = Export(server, "slow");
  const absl::Duration took = absl::Now() - start;
  link.Stop();
  loop.join();
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, 22u);
  EXPECT_EQ(r.reconnects, 0u);
  // The transfer lasted several of the rate rule's 2 s windows, so the rule was in play.
  EXPECT_GT(took, absl::Seconds(4)) << took;
  std::cerr << "exported " << r.bytes << " bytes over 1 Mbit/s in " << took << "\n";
}

}  // namespace
