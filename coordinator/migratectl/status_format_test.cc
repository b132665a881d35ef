#include "coordinator/migratectl/status_format.h"

#include "gtest/gtest.h"

namespace statusfmt {
namespace {

pb::GetStatusResponse Sample() {
  pb::GetStatusResponse s;
  s.set_job_id("export-20240101-000000");
  s.set_mode(pb::JOB_MODE_EXPORT);
  s.set_accounts_total(3);
  s.set_accounts_running(1);
  s.set_accounts_succeeded(2);
  s.set_messages(70);
  s.set_messages_total(170);
  s.set_bytes(7000);
  s.set_messages_per_second(7);
  s.set_eta_ms(14286);
  s.set_eta_basis("messages");
  s.set_workers_connected(1);
  pb::WorkerInfo* w = s.add_workers();
  w->set_worker_id("w1");
  w->set_connected(true);
  w->set_running(1);
  return s;
}

TEST(StatusJson, StableNamesAndNumbers) {
  nlohmann::json j = StatusJson(Sample());
  EXPECT_EQ(j["mode"], "export");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["accounts"]["total"], 3);
  EXPECT_EQ(j["accounts"]["succeeded"], 2);
  EXPECT_EQ(j["messages"]["done"], 70);
  EXPECT_EQ(j["messages"]["total"], 170);
  EXPECT_EQ(j["bytes"]["done"], 7000);
  EXPECT_EQ(j["rate"]["messages_per_second"], 7.0);
  EXPECT_EQ(j["eta_ms"], 14286);
  EXPECT_EQ(j["workers"][0]["worker_id"], "w1");
  EXPECT_EQ(j["workers"][0]["connected"], true);
  pb::GetStatusResponse finished = Sample();
  finished.set_finished(true);
  finished.set_eta_ms(0);
  EXPECT_TRUE(StatusJson(finished)["eta_ms"].is_null());
  EXPECT_EQ(StatusJson(finished)["state"], "finished");
}

TEST(StatusText, HumanSummary) {
  std::string t = StatusText(Sample());
  EXPECT_NE(t.find("70 / 170 (41%)"), std::string::npos) << t;
  EXPECT_NE(t.find("eta:       14s (from messages)"), std::string::npos) << t;
  EXPECT_NE(t.find("1 connected"), std::string::npos) << t;
}

TEST(Accounts, TableJsonAndStates) {
  pb::ListAccountsResponse r;
  pb::AccountStatus* a = r.add_accounts();
  a->set_email("a@example.com");
  a->set_state(pb::ACCOUNT_STATE_FAILED);
  a->set_attempts(2);
  a->set_last_error("account a@example.com: LOGIN failed");
  a->mutable_counters()->set_messages_done(3);
  a->mutable_counters()->set_throttled_ms(4000);
  a->mutable_counters()->set_throttles(2);
  a->mutable_counters()->set_reconnects(1);
  nlohmann::json j = AccountsJson(r.accounts());
  EXPECT_EQ(j["accounts"][0]["state"], "failed");
  EXPECT_EQ(j["accounts"][0]["messages_done"], 3);
  EXPECT_EQ(j["accounts"][0]["throttled_ms"], 4000);
  EXPECT_EQ(j["accounts"][0]["throttles"], 2);
  EXPECT_EQ(j["accounts"][0]["reconnects"], 1);
  std::string t = AccountsTable(r.accounts());
  EXPECT_NE(t.find("a@example.com"), std::string::npos);
  EXPECT_NE(t.find("LOGIN failed"), std::string::npos);
  EXPECT_NE(t.find("[throttled 2x, paused 4.0s, 1 reconnects]"), std::string::npos) << t;
  pb::AccountState s;
  EXPECT_TRUE(ParseState("ok", &s));
  EXPECT_EQ(s, pb::ACCOUNT_STATE_SUCCEEDED);
  EXPECT_FALSE(ParseState("bogus", &s));
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(12345678), "12.3 MB");
  EXPECT_EQ(HumanDuration(3723000), "1h02m");
}

TEST(Accounts, ParkedAccountShowsItsResumeTime) {
  pb::ListAccountsResponse r;
  pb::AccountStatus* a = r.add_accounts();
  a->set_email("big@example.com");
  a->set_state(pb::ACCOUNT_STATE_PENDING);
  a->set_last_error(
      "byte budget spent (2500000000 of 2500000000 bytes in this window); parked until "
      "2027-01-15T08:00:00Z");
  a->set_parked_until_ms(1'800'000'000'000);
  a->set_budget_bytes(2'500'000'000);
  a->set_budget_spent(2'500'000'000);
  pb::AccountStatus* b = r.add_accounts();
  b->set_email("small@example.com");
  b->set_state(pb::ACCOUNT_STATE_RUNNING);
  b->set_connections(3);
  nlohmann::json j = AccountsJson(r.accounts());
  EXPECT_EQ(j["accounts"][0]["state"], "pending");
  EXPECT_EQ(j["accounts"][0]["parked"], true);
  EXPECT_EQ(j["accounts"][0]["resume_at"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(j["accounts"][0]["budget_bytes"], 2'500'000'000u);
  EXPECT_EQ(j["accounts"][0]["budget_spent"], 2'500'000'000u);
  EXPECT_EQ(j["accounts"][1]["parked"], false);
  EXPECT_TRUE(j["accounts"][1]["resume_at"].is_null());
  EXPECT_EQ(j["accounts"][1]["connections"], 3);
  std::string t = AccountsTable(r.accounts());
  EXPECT_NE(t.find("big@example.com                  parked"), std::string::npos) << t;
  EXPECT_NE(t.find("parked until 2027-01-15T08:00:00Z"), std::string::npos) << t;
  pb::GetStatusResponse s = Sample();
  s.set_accounts_pending(1);
  s.set_accounts_parked(1);
  EXPECT_EQ(StatusJson(s)["accounts"]["parked"], 1);
  EXPECT_NE(StatusText(s).find("1 pending (1 parked: budget spent)"), std::string::npos)
      << StatusText(s);
}

}  // namespace
}  // namespace statusfmt
