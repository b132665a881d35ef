// --metrics-listen with the real tools: a real export (coordinator + 2 local workers + real
// Dovecot behind tests/bench's wan_proxy capped at 8 Mbit/s, so that an account lasts over a
// second whatever the machine and a worker reports progress mid-account, --linger) is held
// mid-job (both workers SIGSTOPped, so its numbers stand still), and then
//   - /metrics is scraped and passes `promtool check metrics`, mid-job and at the end;
//   - /api/status and /api/accounts print what `migratectl status|accounts --json` print;
//   - headless Chromium loads the status page: its DOM (--dump-dom) has every account's row
//     with the counts migratectl reports, and a screenshot is saved
//     (<build>/test-artifacts/status_page.png, beside the scrapes and the DOM);
//   - a real Prometheus server scrapes the coordinator every second and its HTTP API returns
//     migrator_bytes_transferred_total equal to the bytes migratectl reports at the end.
// promtool, prometheus and chromium come from Debian (deploy/local/install-deps.sh); when
// missing the test installs them with apt-get as root, else exits 77 (skipped).
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;
constexpr int kUsers = 3, kPerFolder = 100;
const char* kFolders[] = {"INBOX", "Archive"};

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// The Debian packages this test runs, installed when missing (as root); exits 77 otherwise.
void EnsureTools() {
  if (Executable("/usr/bin/promtool") && Executable("/usr/bin/prometheus") &&
      Executable("/usr/bin/chromium")) {
    return;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "SKIP: promtool, prometheus or chromium missing and not root\n");
    std::exit(77);
  }
  absl::Time start = absl::Now();
  int rc = std::system(
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
      "--no-install-recommends prometheus chromium >/dev/null");
  std::fprintf(stderr, "installed prometheus and chromium in %s (exit %d)\n",
               absl::FormatDuration(absl::Now() - start).c_str(), rc);
  if (rc != 0 || !Executable("/usr/bin/chromium") || !Executable("/usr/bin/promtool")) {
    std::fprintf(stderr, "SKIP: cannot install prometheus and chromium\n");
    std::exit(77);
  }
}

struct Http {
  long code = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Http Get(const std::string& url) {
  Http r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
  }
  curl_easy_cleanup(curl);
  return r;
}

nlohmann::json GetJson(const std::string& url) {
  Http r = Get(url);
  if (r.code != 200) return nlohmann::json();
  return nlohmann::json::parse(r.body, nullptr, false);
}

// The value of the sample `series` in a scrape; -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

void WriteText(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

// The status figures that do not move while the workers are stopped (rates, ages and the
// elapsed time do).
nlohmann::json Counts(const nlohmann::json& s) {
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : s["workers"]) {
    workers.push_back({w["worker_id"], w["running"], w["connected"], w["pid"]});
  }
  return {{"job_id", s["job_id"]},     {"state", s["state"]},
          {"accounts", s["accounts"]}, {"messages", s["messages"]},
          {"bytes", s["bytes"]},       {"totals_known", s["totals_known"]},
          {"workers", workers},        {"mode", s["mode"]},
          {"finished", s["finished"]}, {"workers_connected", s["workers_connected"]}};
}

// The accounts without the elapsed time of running ones (it moves).
nlohmann::json AccountCounts(nlohmann::json a) {
  if (!a.is_object() || !a.contains("accounts")) return nlohmann::json();
  for (auto& account : a["accounts"]) account.erase("elapsed_ms");
  return a;
}

// An account's row (<tr data-email=...> ... </tr>) in the dumped DOM; "" when absent.
std::string Row(const std::string& dom, const std::string& email) {
  size_t at = dom.find("data-email=\"" + email + "\"");
  if (at == std::string::npos) return "";
  size_t end = dom.find("</tr>", at);
  return dom.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

class MetricsPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnsureTools();
    dir_ = MakeTempDir();
    testing_fixtures::DovecotOptions o;
    o.users = kUsers;
    auto s = DovecotServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    testing_fixtures::SeedOptions so;
    so.min_size = 2000;
    so.max_size = 10000;
    for (const auto& u : server_->users()) {
      for (const char* f : kFolders) {
        ASSERT_TRUE(server_->SeedGenerated(u.email, f, kPerFolder, so).ok());
      }
    }
    // Accounts go through the bandwidth cap (TLS passes through: the name checked is the
    // server's).
    const char* bin = std::getenv("MIGRATOR_BINARY_DIR");
    proxy_ = Start(
        {absl::StrCat(bin ? bin : ".", "/tests/wan_proxy"), "--listen", "127.0.0.1:0", "--target",
         absl::StrCat(server_->host(), ":", server_->imaps_port()), "--rate-mbit", "8"},
        dir_, {}, "wan_proxy");
    int proxy_port = 0;
    ASSERT_TRUE(PollUntil(
        [&] {
          std::string out = ReadFile(proxy_.stdout_path);
          size_t at = out.find("LISTEN=127.0.0.1:");
          if (at == std::string::npos || out.find("READY") == std::string::npos) return false;
          proxy_port = std::atoi(out.c_str() + at + 17);
          return proxy_port > 0;
        },
        absl::Seconds(10)))
        << ReadFile(proxy_.stderr_path);
    nlohmann::json j;
    j["server"] = {{"host", server_->host()},
                   {"port", proxy_port},
                   {"ssl", true},
                   {"ca_file", server_->ca_file()}};
    for (const auto& u : server_->users())
      j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
    WriteText(dir_ + "/export.pass.config.json", j.dump());
    grpc_ = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
    metrics_ = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
    prom_ = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
    artifacts_ = absl::StrCat(bin ? bin : ".", "/test-artifacts");
    std::system(("mkdir -p '" + artifacts_ + "'").c_str());
  }
  void TearDown() override {
    for (int pid : workers_) ::kill(pid, SIGCONT);
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (proxy_.pid > 0) {
      ::kill(proxy_.pid, SIGTERM);
      Wait(proxy_, absl::Seconds(10));
    }
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Runs `argv`, expects exit 0, returns stdout.
  std::string Run(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(60),
                  const std::map<std::string, std::string>& env = {}) {
    Process p;
    absl::Time start = absl::Now();
    int rc = RunProcess(argv, dir_, env, absl::StrCat("run", ++runs_), timeout, &p);
    EXPECT_EQ(rc, 0) << absl::StrJoin(argv, " ") << "\n" << ReadFile(p.stderr_path);
    std::fprintf(stderr, "%s: %s\n", argv[0].c_str(),
                 absl::FormatDuration(absl::Now() - start).c_str());
    return ReadFile(p.stdout_path);
  }
  nlohmann::json Ctl(const std::string& command) {
    return nlohmann::json::parse(
        Run({Binary("migratectl"), command, "--coordinator", grpc_, "--json"}), nullptr, false);
  }
  // `promtool check metrics` on a scrape of /metrics; returns the scrape.
  std::string ScrapeAndCheck(const std::string& name) {
    Http m = Get("http://" + metrics_ + "/metrics");
    EXPECT_EQ(m.code, 200);
    std::string path = artifacts_ + "/metrics-" + name + ".prom";
    WriteText(path, m.body);
    Process p;
    int rc = RunProcess({"/bin/sh", "-c", "promtool check metrics < " + path + " 2>&1"}, dir_, {},
                        name + "-promtool", absl::Seconds(30), &p);
    std::string out = ReadFile(p.stdout_path);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "") << "promtool's lint:\n" << out;
    return m.body;
  }
  // Headless Chromium on the status page: --dump-dom's output, or a screenshot.
  std::string Chromium(const std::vector<std::string>& action) {
    std::string profile = dir_ + "/chromium-" + std::to_string(++browsers_);
    std::system(("mkdir -p '" + profile + "'").c_str());
    std::vector<std::string> argv = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + profile,
                                     "--virtual-time-budget=5000"};
    argv.insert(argv.end(), action.begin(), action.end());
    argv.push_back("http://" + metrics_ + "/");
    return Run(argv, absl::Seconds(90), {{"HOME", profile}});
  }
  // PIDs of the local worker processes of this job.
  std::vector<int> Workers() {
    std::vector<int> out;
    for (int pid : ProcessesMentioning(dir_)) {
      std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
      if (cmdline.c_str() == Binary("worker")) out.push_back(pid);
    }
    return out;
  }

  std::string dir_, grpc_, metrics_, prom_, artifacts_;
  int runs_ = 0, browsers_ = 0;
  std::vector<int> workers_;
  std::unique_ptr<DovecotServer> server_;
  Process proxy_;
};

TEST_F(MetricsPageTest, PrometheusPromtoolAndChromiumSeeTheJob) {
  absl::Time start = absl::Now();
  // Prometheus scrapes the coordinator's port every second, from before the job starts.
  WriteText(dir_ + "/prometheus.yml",
            absl::StrCat("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                         "scrape_configs:\n  - job_name: migrator\n    static_configs:\n"
                         "      - targets: ['",
                         metrics_, "']\n"));
  Process prom = Start({"prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                        "--storage.tsdb.path=" + dir_ + "/tsdb", "--web.listen-address=" + prom_},
                       dir_, {}, "prometheus");
  Process c =
      Start({Binary("coordinator"), "--mode", "export", "--workers", "2", "--max-workers", "1",
             "--listen", grpc_, "--metrics-listen", metrics_, "--linger", "--lease-timeout", "120s",
             "--output-dir", dir_ + "/out", "--log-dir", dir_ + "/logs"},
            dir_, {{"TMPDIR", dir_}}, "coordinator");
  const std::string api = "http://" + metrics_ + "/api/";

  // Mid-job: an account part-way through (workers report progress every 500 ms); then both
  // workers stopped where they are.
  ASSERT_TRUE(PollUntil(
      [&] {
        nlohmann::json list = GetJson(api + "accounts");
        if (!list.is_object()) return false;
        for (const auto& a : list["accounts"]) {
          if (a["state"] == "running" && a["messages_done"].get<uint64_t>() > 0) return true;
        }
        return false;
      },
      absl::Seconds(60)))
      << ReadFile(c.stderr_path);
  workers_ = Workers();
  ASSERT_EQ(workers_.size(), 2u);
  for (int pid : workers_) ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  // The page's JSON equals migratectl's (progress already in flight may land first: poll).
  nlohmann::json status, accounts;
  ASSERT_TRUE(PollUntil(
      [&] {
        status = Ctl("status");
        accounts = Ctl("accounts");
        nlohmann::json page_status = GetJson(api + "status");
        nlohmann::json page_accounts = GetJson(api + "accounts");
        return page_status.is_object() && Counts(page_status) == Counts(status) &&
               AccountCounts(page_accounts) == AccountCounts(accounts);
      },
      absl::Seconds(30)))
      << status.dump(2) << "\n"
      << accounts.dump(2);
  ASSERT_FALSE(status["finished"].get<bool>()) << "the job ended before it could be held";
  EXPECT_GT(status["accounts"]["running"].get<int>(), 0);
  EXPECT_LT(status["messages"]["done"].get<uint64_t>(), uint64_t{kUsers * kPerFolder * 2});

  // promtool on a mid-job scrape; its figures are the status API's.
  std::string mid = ScrapeAndCheck("mid-job");
  EXPECT_EQ(Sample(mid, R"(migrator_bytes_transferred_total{mode="export"})"),
            status["bytes"]["done"].get<double>())
      << mid;
  EXPECT_EQ(Sample(mid, R"(migrator_messages_transferred_total{mode="export"})"),
            status["messages"]["done"].get<double>());
  EXPECT_EQ(Sample(mid, R"(migrator_accounts{state="running"})"),
            status["accounts"]["running"].get<double>());
  EXPECT_EQ(Sample(mid, "migrator_workers_connected"), 2);
  EXPECT_EQ(Sample(mid, "migrator_job_finished"), 0);

  // The page in a real browser: every account's row with migratectl's numbers.
  std::string dom = Chromium({"--dump-dom"});
  WriteText(artifacts_ + "/status_page.html", dom);
  EXPECT_TRUE(absl::StrContains(dom, ">" + status["job_id"].get<std::string>() + "<")) << dom;
  EXPECT_TRUE(absl::StrContains(
      dom, absl::StrCat("id=\"messages-done\">", status["messages"]["done"].get<uint64_t>(), "<")))
      << dom;
  EXPECT_TRUE(absl::StrContains(dom, absl::StrCat("id=\"bytes-done\" data-value=\"",
                                                  status["bytes"]["done"].get<uint64_t>(), "\"")));
  EXPECT_TRUE(absl::StrContains(dom, absl::StrCat("id=\"accounts-running\">",
                                                  status["accounts"]["running"].get<int>(), "<")));
  ASSERT_EQ(accounts["accounts"].size(), static_cast<size_t>(kUsers));
  for (const auto& a : accounts["accounts"]) {
    std::string email = a["email"].get<std::string>();
    std::string row = Row(dom, email);
    ASSERT_NE(row, "") << email << " has no row:\n" << dom;
    EXPECT_TRUE(absl::StrContains(row, "data-state=\"" + a["state"].get<std::string>() + "\""))
        << row;
    EXPECT_TRUE(absl::StrContains(row, absl::StrCat("class=\"num messages\" data-value=\"",
                                                    a["messages_done"].get<uint64_t>(), "\"")))
        << row;
    EXPECT_TRUE(absl::StrContains(row, absl::StrCat("class=\"num bytes\" data-value=\"",
                                                    a["bytes_done"].get<uint64_t>(), "\"")))
        << row;
    if (!a["worker_id"].get<std::string>().empty()) {
      EXPECT_TRUE(absl::StrContains(row, ">" + a["worker_id"].get<std::string>() + "<")) << row;
    }
  }
  for (const auto& w : status["workers"]) {
    EXPECT_TRUE(absl::StrContains(dom, "data-worker=\"" + w["worker_id"].get<std::string>()))
        << dom;
  }
  const std::string shot = artifacts_ + "/status_page.png";
  ::unlink(shot.c_str());
  Chromium({"--screenshot=" + shot, "--window-size=1200,900"});
  EXPECT_GT(ReadFile(shot).size(), 10000u) << shot;

  // The rest of the job.
  for (int pid : workers_) ASSERT_EQ(::kill(pid, SIGCONT), 0);
  workers_.clear();
  ASSERT_TRUE(PollUntil(
      [&] {
        nlohmann::json s = GetJson(api + "status");
        return s.is_object() && s["finished"] == true;
      },
      absl::Seconds(120)))
      << ReadFile(c.stderr_path);
  status = Ctl("status");
  EXPECT_EQ(status["accounts"]["succeeded"], kUsers);
  EXPECT_EQ(status["messages"]["done"], kUsers * kPerFolder * 2);
  const uint64_t bytes = status["bytes"]["done"].get<uint64_t>();
  std::string end = ScrapeAndCheck("end");
  EXPECT_EQ(Sample(end, R"(migrator_bytes_transferred_total{mode="export"})"), bytes);
  EXPECT_EQ(Sample(end, R"(migrator_accounts{state="succeeded"})"), kUsers);
  EXPECT_EQ(Sample(end, R"(migrator_account_duration_seconds_count{state="succeeded"})"), kUsers);
  EXPECT_EQ(Sample(end, "migrator_job_finished"), 1);
  EXPECT_EQ(Counts(GetJson(api + "status")), Counts(status));
  EXPECT_EQ(GetJson(api + "accounts"), Ctl("accounts"));  // finished: elapsed frozen too

  // Prometheus has scraped the job: its HTTP API returns the bytes migratectl reports.
  std::string answer;
  bool found = PollUntil(
      [&] {
        Http q = Get("http://" + prom_ + "/api/v1/query?query=migrator_bytes_transferred_total");
        answer = q.body;
        nlohmann::json j = nlohmann::json::parse(q.body, nullptr, false);
        if (!j.is_object() || j["status"] != "success" || j["data"]["result"].empty()) {
          return false;
        }
        const auto& r = j["data"]["result"][0];
        return r["metric"]["mode"] == "export" && r["metric"]["job"] == "migrator" &&
               r["value"][1] == std::to_string(bytes);
      },
      absl::Seconds(30));
  EXPECT_TRUE(found) << "Prometheus answered: " << answer << "\n" << ReadFile(prom.stderr_path);

  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  EXPECT_EQ(Wait(c, absl::Seconds(30)), 0) << ReadFile(c.stderr_path);
  EXPECT_NE(Get("http://" + metrics_ + "/metrics").code, 200);  // gone with the coordinator
  ::kill(prom.pid, SIGTERM);
  EXPECT_EQ(Wait(prom, absl::Seconds(30)), 0) << ReadFile(prom.stderr_path);
  std::fprintf(stderr, "whole test: %s\n", absl::FormatDuration(absl::Now() - start).c_str());
}

}  // namespace
}  // namespace fleettest
