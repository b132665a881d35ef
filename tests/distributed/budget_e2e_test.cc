// Byte budgets through the real coordinator and worker, against a real Dovecot: an account
// with a small bytes_per_day and a short budget window is parked mid-export (the status API
// shows it parked with its resume time) while another account finishes on the only worker
// slot; the coordinator is SIGKILLed while the account is parked and started again (the
// durable state keeps the park and what was spent); once the window reopens the account
// finishes. The export is exact: every message once, what was stored before the park never
// fetched again, and the budget counted exactly the bytes stored.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"

namespace fleettest {
namespace {

using testing_fixtures::DovecotServer;

const char* kFolders[] = {"INBOX", "Work", "Sent"};
constexpr int kPerFolder = 10;
constexpr int kWindowSeconds = 10;

// The exported messages under `root`: .eml path -> (inode, size), and how many have their
// .json (a message counts as exported once its .json exists).
struct Exported {
  std::map<std::string, std::pair<ino_t, uint64_t>> eml;
  size_t recorded = 0;
  uint64_t Bytes() const {
    uint64_t n = 0;
    for (const auto& [path, file] : eml) n += file.second;
    return n;
  }
};

Exported Scan(const std::string& root) {
  Exported out;
  for (const std::string& f : FilesUnder(root)) {
    if (!absl::EndsWith(f, ".eml")) continue;
    struct stat st;
    if (::stat(f.c_str(), &st) != 0) continue;
    out.eml[f] = {st.st_ino, static_cast<uint64_t>(st.st_size)};
    struct stat js;
    const std::string json = f.substr(0, f.size() - 4) + ".json";
    if (::stat(json.c_str(), &js) == 0) ++out.recorded;
  }
  return out;
}

class BudgetE2ETest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int pid : ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
    if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  Process StartCoordinator(const std::string& config, const std::string& tag) {
    address_ = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
    return Start({Binary("coordinator"), "--mode", "export", "--workers", "1", "--max-workers", "1",
                  "--config", config, "--output-dir", dir_ + "/out", "--log-dir", dir_ + "/logs",
                  "--listen", address_, "--linger"},
                 dir_, {{"TMPDIR", dir_}}, tag);
  }

  bool Ctl(const std::vector<std::string>& args, nlohmann::json* out, std::string* text = nullptr) {
    std::vector<std::string> argv = {Binary("migratectl"), args[0], "--coordinator", address_,
                                     "--timeout",          "2s"};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    Process p;
    if (RunProcess(argv, dir_, {}, "ctl", absl::Seconds(20), &p) != 0) return false;
    if (text != nullptr) *text = ReadFile(p.stdout_path);
    if (out == nullptr) return true;
    *out = nlohmann::json::parse(ReadFile(p.stdout_path), nullptr, false);
    return !out->is_discarded();
  }

  // The account `email` of `migratectl accounts --json`; null when not reachable.
  nlohmann::json Account(const std::string& email) {
    nlohmann::json all;
    if (!Ctl({"accounts", "--json"}, &all)) return nullptr;
    for (const auto& a : all["accounts"]) {
      if (a["email"] == email) return a;
    }
    return nullptr;
  }

  std::string dir_ = MakeTempDir();
  std::string address_;
};

TEST_F(BudgetE2ETest, ParkedAccountResumesWhenItsWindowReopensAndExportsExactly) {
  auto server = DovecotServer::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string big = (*server)->users()[0].email;
  const std::string small = (*server)->users()[1].email;
  uint64_t total = 0;
  for (const char* f : kFolders) {
    for (int i = 0; i < kPerFolder; ++i) {
      const size_t size = 6000 + 613 * i + (f[0] == 'W' ? 250 : 0);
      const std::string body = testing_fixtures::GenerateMessage(1000 * f[0] + i, size);
      total += body.size();
      ASSERT_TRUE(
          (*server)
              ->SeedMessage(big, f, body, {"\\Seen"}, absl::FromUnixSeconds(1700000000 + i * 60))
              .ok());
    }
  }
  ASSERT_TRUE((*server)->SeedGenerated(small, "INBOX", 8).ok());
  const uint64_t budget = total * 6 / 10;  // two windows

  nlohmann::json config;
  config["server"] = {{"host", (*server)->host()},
                      {"port", (*server)->imaps_port()},
                      {"ssl", true},
                      {"ca_file", (*server)->ca_file()},
                      {"max_connections_per_account", 2},
                      {"budget_window_seconds", kWindowSeconds}};
  config["accounts"] = {
      {{"email", big}, {"password", (*server)->users()[0].password}, {"bytes_per_day", budget}},
      {{"email", small}, {"password", (*server)->users()[1].password}}};
  const std::string config_path = dir_ + "/export.pass.config.json";
  ASSERT_TRUE(WriteFile(config_path, config.dump(2)));

  // 1. One worker slot: the big account starts first (config order), is parked mid-export,
  //    and the small one finishes meanwhile.
  Process c1 = StartCoordinator(config_path, "coordinator1");
  nlohmann::json parked;
  ASSERT_TRUE(PollUntil(
      [&] {
        parked = Account(big);
        nlohmann::json other = Account(small);
        return parked.is_object() && parked["parked"] == true && other.is_object() &&
               other["state"] == "succeeded";
      },
      absl::Seconds(60)))
      << parked.dump(2) << ReadFile(c1.stderr_path);
  EXPECT_EQ(parked["state"], "pending");
  const std::string resume_at = parked["resume_at"].get<std::string>();
  absl::Time resume;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", resume_at, &resume, nullptr)) << resume_at;
  EXPECT_GT(resume, absl::Now());
  EXPECT_LE(resume, absl::Now() + absl::Seconds(kWindowSeconds));
  const uint64_t spent = parked["budget_spent"].get<uint64_t>();
  EXPECT_EQ(parked["budget_bytes"], budget);
  EXPECT_LE(spent, budget);
  EXPECT_GT(spent, budget - 15000);  // stopped at the first message that did not fit
  EXPECT_TRUE(absl::StrContains(parked["last_error"].get<std::string>(), "byte budget spent"))
      << parked.dump(2);
  nlohmann::json status;
  ASSERT_TRUE(Ctl({"status", "--json"}, &status));
  EXPECT_EQ(status["accounts"]["parked"], 1);
  std::string table;
  ASSERT_TRUE(Ctl({"accounts"}, nullptr, &table));
  EXPECT_TRUE(absl::StrContains(table, "parked until " + resume_at)) << table;

  // What is stored at the park: recorded whole, and exactly what the budget counted.
  const Exported at_park = Scan(dir_ + "/out/" + big);
  EXPECT_EQ(at_park.recorded, at_park.eml.size());
  EXPECT_EQ(at_park.Bytes(), spent);
  EXPECT_GT(at_park.eml.size(), 0u);
  EXPECT_LT(at_park.eml.size(), 3u * kPerFolder);

  // 2. The coordinator dies while the account is parked; started again, it keeps the park.
  ASSERT_EQ(::kill(c1.pid, SIGKILL), 0);
  Wait(c1, absl::Seconds(10));
  Process c2 = StartCoordinator(config_path, "coordinator2");
  nlohmann::json restored;
  ASSERT_TRUE(PollUntil(
      [&] {
        restored = Account(big);
        return restored.is_object();
      },
      absl::Seconds(30)))
      << ReadFile(c2.stderr_path);
  ASSERT_LT(absl::Now(), resume) << "the restart took longer than the window: no test";
  EXPECT_EQ(restored["parked"], true) << restored.dump(2);
  EXPECT_EQ(restored["resume_at"], resume_at);
  EXPECT_EQ(restored["budget_spent"], spent);
  nlohmann::json other = Account(small);
  EXPECT_EQ(other["state"], "succeeded");
  EXPECT_TRUE(absl::StrContains(other["last_error"].get<std::string>(), "earlier run"));

  // 3. The window reopens: the account finishes.
  ASSERT_TRUE(PollUntil(
      [&] {
        return Ctl({"status", "--json"}, &status) && status["finished"] == true;
      },
      absl::Seconds(90)))
      << ReadFile(c2.stderr_path);
  EXPECT_GE(absl::Now(), resume);
  ASSERT_EQ(::kill(c2.pid, SIGTERM), 0);
  EXPECT_EQ(Wait(c2, absl::Seconds(30)), 0) << ReadFile(c2.stderr_path);

  // Exact: every message of every folder once, byte for byte; nothing stored before the
  // park was fetched or written again.
  const Exported done = Scan(dir_ + "/out/" + big);
  EXPECT_EQ(done.eml.size(), 3u * kPerFolder);
  EXPECT_EQ(done.recorded, done.eml.size());
  EXPECT_EQ(done.Bytes(), total);
  for (const auto& [path, file] : at_park.eml) {
    auto it = done.eml.find(path);
    ASSERT_NE(it, done.eml.end()) << path;
    EXPECT_EQ(it->second.first, file.first) << path << " was written again";
  }
  auto session = testing_fixtures::LoginAs(**server, 0);
  ASSERT_TRUE(session.ok()) << session.status();
  for (const char* f : kFolders) {
    std::vector<std::string> served, exported;
    for (const auto& m : testing_fixtures::MessagesIn(**session, f)) served.push_back(m.body);
    for (const auto& [path, file] : done.eml) {
      if (absl::StrContains(path, absl::StrCat("/", big, "/", f, "/"))) {
        exported.push_back(ReadFile(path));
      }
    }
    std::sort(exported.begin(), exported.end());
    EXPECT_EQ(exported.size(), static_cast<size_t>(kPerFolder)) << f;
    EXPECT_TRUE(exported == served) << f;
  }
  // The report of the second run: one attempt, only what was left moved.
  std::vector<std::string> reports = Glob(dir_ + "/logs", ".report.json");
  ASSERT_EQ(reports.size(), 1u);  // the SIGKILLed run wrote none
  nlohmann::json report = nlohmann::json::parse(ReadFile(reports[0]), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  for (const auto& a : report["accounts"]) {
    EXPECT_EQ(a["state"], "succeeded") << a.dump(2);
    if (a["email"] != big) continue;
    EXPECT_EQ(a["attempts"], 1) << a.dump(2);
    EXPECT_EQ(a["bytes_done"].get<uint64_t>(), total - at_park.Bytes()) << a.dump(2);
    EXPECT_EQ(a["messages_done"].get<size_t>(), 3 * kPerFolder - at_park.eml.size());
  }
}

}  // namespace
}  // namespace fleettest
