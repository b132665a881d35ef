// ListAccounts pages (README "Status API and `migratectl`") with the real coordinator,
// worker and migratectl over a real socket: a lingering `--mode test` job of 9 accounts
// against the fake IMAP server, every third login refused. Paged with page_size 2, every
// account comes exactly once and the token ends; the failed filter pages only the failed
// accounts with their count; a token that is not one is INVALID_ARGUMENT; `migratectl
// accounts --page-size 2` follows every page to the same rows as one call.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/fake_imap.h"
#include "tests/distributed/process_util.h"

namespace fleettest {
namespace {

namespace pb = ::migrator::v1;

constexpr int kAccounts = 9;  // fail2, fail5, fail8 refused

class PagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_TRUE(imap_.Start("127.0.0.1", 0));
    nlohmann::json j;
    j["server"] = {{"host", "127.0.0.1"}, {"port", imap_.port()}, {"ssl", false}};
    for (int i = 0; i < kAccounts; ++i) {
      j["accounts"].push_back({{"email", absl::StrCat(i % 3 == 2 ? "fail" : "u", i, "@page.test")},
                               {"password", "pw"}});
    }
    ASSERT_TRUE(WriteFile(dir_ + "/c.json", j.dump()));
    address_ = "unix:" + dir_ + "/c.sock";
    coordinator_ = Start({Binary("coordinator"), "--mode", "test", "--config", dir_ + "/c.json",
                          "--workers", "1", "--ignore-errors", "--linger", "--quiet", "--listen",
                          address_, "--log-dir", dir_ + "/logs", "--output-dir", dir_ + "/out"},
                         dir_, {{"TMPDIR", dir_}}, "coordinator");
    ASSERT_GT(coordinator_.pid, 0);
    stub_ = pb::StatusService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(PollUntil(
        [&] {
          pb::GetStatusResponse s;
          return Call([&](grpc::ClientContext* c) {
                   return stub_->GetStatus(c, pb::GetStatusRequest(), &s);
                 }).ok() &&
                 s.finished();
        },
        absl::Seconds(60)));
  }
  void TearDown() override {
    ::kill(coordinator_.pid, SIGTERM);
    Wait(coordinator_, absl::Seconds(30));
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  template <typename F>
  grpc::Status Call(F f) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.set_wait_for_ready(true);
    return f(&ctx);
  }
  // Every page of `state` with page_size 2: the emails in order, the pages' total_size.
  std::vector<std::string> AllPages(pb::AccountState state, int* pages, uint32_t* total) {
    std::vector<std::string> out;
    pb::ListAccountsRequest req;
    req.set_state(state);
    req.set_page_size(2);
    *pages = 0;
    do {
      pb::ListAccountsResponse r;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub_->ListAccounts(c, req, &r); });
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      EXPECT_LE(r.accounts_size(), 2);
      for (const pb::AccountStatus& a : r.accounts()) out.push_back(a.email());
      *total = r.total_size();
      req.set_page_token(r.next_page_token());
    } while (!req.page_token().empty() && ++*pages < 50);
    ++*pages;
    return out;
  }

  std::string dir_, address_;
  FakeImapServer imap_{FakeImapServer::Mode::kTinyInbox};
  Process coordinator_;
  std::unique_ptr<pb::StatusService::Stub> stub_;
};

TEST_F(PagingTest, PagesHoldEveryAccountOnceAndTheTokenEnds) {
  int pages = 0;
  uint32_t total = 0;
  std::vector<std::string> all = AllPages(pb::ACCOUNT_STATE_UNSPECIFIED, &pages, &total);
  EXPECT_EQ(pages, 5);  // 2+2+2+2+1
  EXPECT_EQ(total, static_cast<uint32_t>(kAccounts));
  ASSERT_EQ(all.size(), static_cast<size_t>(kAccounts));
  for (int i = 0; i < kAccounts; ++i) {
    EXPECT_EQ(all[i], absl::StrCat(i % 3 == 2 ? "fail" : "u", i, "@page.test"));
  }
  std::vector<std::string> failed = AllPages(pb::ACCOUNT_STATE_FAILED, &pages, &total);
  EXPECT_EQ(failed,
            (std::vector<std::string>{"fail2@page.test", "fail5@page.test", "fail8@page.test"}));
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(total, 3u);

  pb::ListAccountsRequest bad;
  bad.set_page_token("not-a-token");
  pb::ListAccountsResponse r;
  grpc::Status st = Call([&](grpc::ClientContext* c) { return stub_->ListAccounts(c, bad, &r); });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PagingTest, MigratectlFollowsEveryPage) {
  std::map<int, std::string> out;
  for (const char* size : {"2", "0"}) {
    Process p;
    int rc = RunProcess({Binary("migratectl"), "accounts", "--json", "--page-size", size,
                         "--coordinator", address_},
                        dir_, {}, absl::StrCat("migratectl", size), absl::Seconds(30), &p);
    ASSERT_EQ(rc, 0) << ReadFile(p.stderr_path);
    nlohmann::json j = nlohmann::json::parse(ReadFile(p.stdout_path));
    ASSERT_EQ(j["accounts"].size(), static_cast<size_t>(kAccounts));
    for (int i = 0; i < kAccounts; ++i) EXPECT_EQ(j["accounts"][i]["index"], i);
    out[std::atoi(size)] = j.dump();
  }
  EXPECT_EQ(out[2], out[0]);  // elapsed times are frozen: the job has finished
  Process p;
  ASSERT_EQ(RunProcess({Binary("migratectl"), "accounts", "--state", "failed", "--page-size", "1",
                        "--coordinator", address_},
                       dir_, {}, "migratectl-failed", absl::Seconds(30), &p),
            0);
  std::string table = ReadFile(p.stdout_path);
  for (const char* email : {"fail2@page.test", "fail5@page.test", "fail8@page.test"}) {
    EXPECT_NE(table.find(email), std::string::npos) << table;
  }
  EXPECT_EQ(table.find("u0@page.test"), std::string::npos) << table;
}

}  // namespace
}  // namespace fleettest
