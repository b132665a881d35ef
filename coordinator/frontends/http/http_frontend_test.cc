// The HTTP front end over a Job driven by hand (no worker process, a fake clock): /metrics
// carries the job's figures under their documented names, /api/status and /api/accounts
// are the status API's JSON, / is the page, anything else is 404, and it only reads.
#include "coordinator/frontends/http/http_frontend.h"

#include <curl/curl.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/frontends/http/job_metrics.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace coordinator {
namespace {

// The job's clock: real time plus a skew the tests move forward (the tracker's sampling
// thread waits in real time).
absl::Duration skew;

class NullLink : public WorkerLink {
 public:
  std::vector<TaskOrder> tasks;
  void SendTask(const TaskOrder& order) override { tasks.push_back(order); }
  void SendCancel(uint64_t, uint64_t, const std::string&) override {}
  void SendNoMoreTasks() override {}
  void SendShutdown(const std::string&) override {}
};

JobOptions Opts(int accounts) {
  JobOptions o;
  o.clock = [] { return absl::Now() + skew; };
  o.run_ticker = false;
  o.job_id = "export-test";
  o.mode = engine::Mode::kExport;
  for (int i = 0; i < accounts; ++i) {
    config::Account a;
    a.index = i;
    a.email = absl::StrCat("user", i, "@example.com");
    a.password = "secret-password";
    o.config.accounts.push_back(a);
  }
  return o;
}

struct Response {
  long code = 0;
  std::string body, type;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Response Fetch(const std::string& url, const char* method = "GET") {
  Response r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type) r.type = type;
  }
  curl_easy_cleanup(curl);
  return r;
}

// The value of the sample line starting with `series ` in a scrape; -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class HttpFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = HttpFrontend::Start("127.0.0.1:0", &job_, &tracker_);
    ASSERT_TRUE(f.ok()) << f.status();
    http_ = std::move(*f);
    base_ = "http://" + http_->address();
  }
  // w1 runs account 0 (30 of 100 messages so far); account 1 is done (20 messages,
  // 2000 bytes, 3 skipped) after 90 s.
  void Drive() {
    ASSERT_TRUE(job_.Connect({"w1", "host1", 7, 2, ""}, &link_).ok());
    job_.RequestTask("w1");
    job_.RequestTask("w1");
    ASSERT_EQ(link_.tasks.size(), 2u);
    engine::Progress p;
    p.folder = "INBOX";
    p.folders_total = 2;
    p.messages_done = 30;
    p.messages_total = 100;
    p.bytes_done = 3000;
    p.throttled_ms = 1500;
    p.throttles = 2;
    p.reconnects = 1;
    p.imap_errors = {{"throttle", 2}, {"temporary", 1}};
    job_.Progress("w1", link_.tasks[0].task_id, link_.tasks[0].epoch, p);
    engine::AccountResult done;
    done.messages = 20;
    done.bytes = 2000;
    done.skipped = 3;
    done.refused = 4;
    done.throttled_ms = 500;
    done.throttles = 1;
    done.imap_errors = {{"throttle", 1}, {"message_refused", 4}};
    skew += absl::Seconds(90);
    job_.Result("w1", link_.tasks[1].task_id, link_.tasks[1].epoch, done, absl::Seconds(90));
  }

  Job job_{Opts(3)};
  StatusTracker tracker_{&job_, absl::Seconds(30), absl::Seconds(1)};
  NullLink link_;
  std::unique_ptr<HttpFrontend> http_;
  std::string base_;
};

TEST_F(HttpFrontendTest, MetricsCarryTheJobsFigures) {
  Drive();
  Response r = Fetch(base_ + "/metrics");
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.type, "text/plain; version=0.0.4")) << r.type;
  const std::string& m = r.body;
  EXPECT_EQ(Sample(m, R"(migrator_accounts{state="pending"})"), 1) << m;
  EXPECT_EQ(Sample(m, R"(migrator_accounts{state="running"})"), 1);
  EXPECT_EQ(Sample(m, R"(migrator_accounts{state="succeeded"})"), 1);
  EXPECT_EQ(Sample(m, R"(migrator_accounts{state="failed"})"), 0);
  EXPECT_EQ(Sample(m, R"(migrator_messages_transferred_total{mode="export"})"), 50);
  EXPECT_EQ(Sample(m, R"(migrator_bytes_transferred_total{mode="export"})"), 5000);
  EXPECT_EQ(Sample(m, R"(migrator_messages_skipped_total{mode="export"})"), 3);
  EXPECT_EQ(Sample(m, R"(migrator_messages_refused_total{mode="export"})"), 4);
  EXPECT_EQ(Sample(m, "migrator_throttled_seconds_total"), 2);  // 1.5 s running + 0.5 s done
  EXPECT_EQ(Sample(m, "migrator_throttles_total"), 3);
  EXPECT_EQ(Sample(m, "migrator_reconnects_total"), 1);
  EXPECT_EQ(Sample(m, R"(migrator_imap_errors_total{class="throttle"})"), 3);
  EXPECT_EQ(Sample(m, R"(migrator_imap_errors_total{class="message_refused"})"), 4);
  EXPECT_EQ(Sample(m, R"(migrator_imap_errors_total{class="temporary"})"), 1);
  EXPECT_EQ(Sample(m, "migrator_workers_connected"), 1);
  EXPECT_EQ(Sample(m, "migrator_queue_depth"), 1);
  EXPECT_EQ(Sample(m, "migrator_retries_total"), 0);
  EXPECT_EQ(Sample(m, "migrator_leases_expired_total"), 0);
  EXPECT_EQ(Sample(m, R"(migrator_stale_reports_rejected_total{kind="result"})"), 0);
  EXPECT_EQ(Sample(m, R"(migrator_job_info{job_id="export-test",mode="export"})"), 1);
  EXPECT_EQ(Sample(m, "migrator_job_finished"), 0);
  // The finished account's 90 s: in the 120 s bucket, not in the 60 s one.
  EXPECT_EQ(Sample(m, R"(migrator_account_duration_seconds_count{state="succeeded"})"), 1);
  EXPECT_NEAR(Sample(m, R"(migrator_account_duration_seconds_sum{state="succeeded"})"), 90, 1);
  EXPECT_EQ(Sample(m, R"(migrator_account_duration_seconds_bucket{state="succeeded",le="60"})"), 0);
  EXPECT_EQ(Sample(m, R"(migrator_account_duration_seconds_bucket{state="succeeded",le="120"})"),
            1);
  EXPECT_TRUE(absl::StrContains(m, "# TYPE migrator_bytes_transferred_total counter"));
  EXPECT_TRUE(absl::StrContains(m, "# TYPE migrator_account_duration_seconds histogram"));
  // No account, no secret.
  EXPECT_FALSE(absl::StrContains(m, "@example.com"));
  EXPECT_FALSE(absl::StrContains(m, "secret-password"));
  // A second scrape observes nothing twice.
  Response again = Fetch(base_ + "/metrics");
  EXPECT_EQ(Sample(again.body, R"(migrator_account_duration_seconds_count{state="succeeded"})"), 1);
}

TEST_F(HttpFrontendTest, CountersNeverGoDown) {
  JobMetrics metrics;
  JobSnapshot s = job_.Snapshot();
  AggregateStatus g;
  g.bytes_done = 500;
  metrics.Update(s, g);
  g.bytes_done = 200;  // a retried account counting again from zero
  metrics.Update(s, g);
  EXPECT_EQ(Sample(metrics.Text(), R"(migrator_bytes_transferred_total{mode="export"})"), 500);
  g.bytes_done = 700;
  metrics.Update(s, g);
  EXPECT_EQ(Sample(metrics.Text(), R"(migrator_bytes_transferred_total{mode="export"})"), 700);
  // The ETA is there only while there is an estimate.
  EXPECT_FALSE(absl::StrContains(metrics.Text(), "\nmigrator_eta_seconds "));
  g.eta = absl::Seconds(42);
  metrics.Update(s, g);
  EXPECT_EQ(Sample(metrics.Text(), "migrator_eta_seconds"), 42);
  g.eta = absl::ZeroDuration();
  metrics.Update(s, g);
  EXPECT_FALSE(absl::StrContains(metrics.Text(), "\nmigrator_eta_seconds "));
}

TEST_F(HttpFrontendTest, ApiIsTheStatusApisJson) {
  Drive();
  Response r = Fetch(base_ + "/api/status");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.type, "application/json");
  nlohmann::json s = nlohmann::json::parse(r.body);
  EXPECT_EQ(s["job_id"], "export-test");
  EXPECT_EQ(s["mode"], "export");
  EXPECT_EQ(s["state"], "running");
  EXPECT_EQ(s["accounts"]["total"], 3);
  EXPECT_EQ(s["accounts"]["running"], 1);
  EXPECT_EQ(s["messages"]["done"], 50);
  EXPECT_EQ(s["bytes"]["done"], 5000);
  EXPECT_EQ(s["workers"][0]["worker_id"], "w1");
  EXPECT_EQ(s["workers_connected"], 1);

  nlohmann::json a = nlohmann::json::parse(Fetch(base_ + "/api/accounts").body);
  ASSERT_EQ(a["accounts"].size(), 3u);
  EXPECT_EQ(a["accounts"][0]["email"], "user0@example.com");
  EXPECT_EQ(a["accounts"][0]["state"], "running");
  EXPECT_EQ(a["accounts"][0]["current_folder"], "INBOX");
  EXPECT_EQ(a["accounts"][0]["messages_done"], 30);
  EXPECT_EQ(a["accounts"][0]["messages_total"], 100);
  EXPECT_EQ(a["accounts"][1]["state"], "succeeded");
  EXPECT_FALSE(absl::StrContains(r.body + Fetch(base_ + "/api/accounts").body, "secret"));

  nlohmann::json pending = nlohmann::json::parse(Fetch(base_ + "/api/accounts?state=pending").body);
  ASSERT_EQ(pending["accounts"].size(), 1u);
  EXPECT_EQ(pending["accounts"][0]["email"], "user2@example.com");
  EXPECT_EQ(Fetch(base_ + "/api/accounts?state=bogus").code, 400);
}

TEST_F(HttpFrontendTest, PageAndNothingElse) {
  Response page = Fetch(base_ + "/");
  ASSERT_EQ(page.code, 200);
  EXPECT_EQ(page.type, "text/html; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(page.body, "id=\"accounts-table\""));
  // Self-contained: no external asset.
  EXPECT_FALSE(absl::StrContains(page.body, "http://"));
  EXPECT_FALSE(absl::StrContains(page.body, "https://"));
  EXPECT_FALSE(absl::StrContains(page.body, "src="));
  EXPECT_EQ(Fetch(base_ + "/index.html").code, 404);
  EXPECT_EQ(Fetch(base_ + "/metrics/x").code, 404);
  EXPECT_EQ(Fetch(base_ + "/api").code, 404);
  Response post = Fetch(base_ + "/api/status", "POST");
  EXPECT_GE(post.code, 400);
  EXPECT_NE(post.code, 200);
}

TEST(HttpFrontendStartTest, RejectsBadAddressesAndBusyPorts) {
  Job job(Opts(1));
  StatusTracker tracker(&job, absl::Seconds(30), absl::Seconds(1));
  EXPECT_TRUE(absl::IsInvalidArgument(HttpFrontend::Start("9100", &job, &tracker).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HttpFrontend::Start("h:x", &job, &tracker).status()));
  auto first = HttpFrontend::Start("127.0.0.1:0", &job, &tracker);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = HttpFrontend::Start((*first)->address(), &job, &tracker);
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

}  // namespace
}  // namespace coordinator
