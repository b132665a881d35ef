// A whole job on the object store through the real architecture: `coordinator --workers 2`
// with real worker processes, `--output-dir s3://bucket/prefix` (s3rver behind the SigV4
// verifier, credentials from the AWS_* variables the workers inherit), real Dovecot A and
// B: export, an incremental re-export, import, validate; exact.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/storage/s3_store.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/distributed/process_util.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"
#include "tests/s3/s3_test_server.h"

namespace {

using fleettest::Binary;
using testing_fixtures::DovecotServer;

constexpr int kUsers = 3;
constexpr const char* kFolders[] = {"INBOX", "Sent", "Work/R\xC3\xA9sum\xC3\xA9"};

class S3JobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fleettest::MakeTempDir();
    auto s3 = testing_s3::S3TestServer::Start("mail-job");
    if (absl::IsUnavailable(s3.status())) GTEST_SKIP() << s3.status().message();
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = std::move(*s3);
    testing_fixtures::DovecotOptions o;
    o.users = kUsers;
    auto servers = testing_fixtures::DovecotPair::Start(o);
    ASSERT_TRUE(servers.ok()) << servers.status();
    a_ = std::move(servers->a);
    b_ = std::move(servers->b);
  }
  void TearDown() override {
    for (int pid : fleettest::ProcessesMentioning(dir_)) ::kill(pid, SIGKILL);
  }

  void Seed(int per_folder, int seed) {
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    for (int u = 0; u < kUsers; ++u) {
      for (const char* folder : kFolders) {
        so.seed = seed + u * 10 + static_cast<int>(std::string(folder).size());
        ASSERT_TRUE(a_->SeedGenerated(a_->users()[u].email, folder, per_folder, so).ok());
      }
    }
  }

  std::string Config(const DovecotServer& s, const std::string& name) {
    nlohmann::json j;
    j["server"] = {
        {"host", s.host()}, {"port", s.imaps_port()}, {"ssl", true}, {"ca_file", s.ca_file()}};
    for (const auto& u : s.users()) {
      j["accounts"].push_back({{"email", u.email}, {"password", u.password}});
    }
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(j.dump(2).c_str(), f);
    std::fclose(f);
    return path;
  }

  // coordinator --workers 2 --mode MODE on s3://bucket/job; its exit code.
  int Mode(const std::string& mode, const std::string& config, const std::string& tag) {
    storage::S3Options o = s3_->Options("job");
    const std::string flag = mode == "export" ? "--output-dir" : "--input-dir";
    std::vector<std::string> argv = {Binary("coordinator"),
                                     "--workers",
                                     "2",
                                     "--log-dir",
                                     dir_ + "/logs",
                                     "--mode",
                                     mode,
                                     "--config",
                                     config,
                                     flag,
                                     absl::StrCat("s3://", s3_->bucket(), "/job")};
    std::map<std::string, std::string> env = {
        {"TMPDIR", dir_},
        {"AWS_ACCESS_KEY_ID", o.credentials.access_key_id},
        {"AWS_SECRET_ACCESS_KEY", o.credentials.secret_access_key},
        {"AWS_ENDPOINT_URL", s3_->endpoint()},
        {"AWS_REGION", o.region},
        {"S3_FORCE_PATH_STYLE", "true"}};
    fleettest::Process p;
    int rc = fleettest::RunProcess(argv, dir_, env, tag, absl::Seconds(120), &p);
    EXPECT_EQ(rc, 0) << tag << "\n"
                     << fleettest::ReadFile(p.stderr_path) << fleettest::ReadFile(p.stdout_path);
    return rc;
  }

  // The number of objects under the job whose key ends in `suffix`.
  size_t Objects(const std::string& suffix) {
    auto store = storage::S3Store::Create(s3_->Options("job"));
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    auto list = (*store)->List("");
    EXPECT_TRUE(list.ok()) << list.status();
    size_t n = 0;
    for (const auto& o : list.ok() ? *list : std::vector<storage::ObjectInfo>{}) {
      n += absl::EndsWith(o.key, suffix) ? 1 : 0;
    }
    return n;
  }

  uint64_t Total(const DovecotServer& s) {
    uint64_t n = 0;
    for (int u = 0; u < kUsers; ++u) {
      n += testing_fixtures::TotalCount(testing_fixtures::FolderCounts(s, u));
    }
    return n;
  }

  std::string dir_;
  std::unique_ptr<testing_s3::S3TestServer> s3_;
  std::unique_ptr<DovecotServer> a_, b_;
};

TEST_F(S3JobTest, ExportReexportImportValidateExact) {
  Seed(20, 1);
  const std::string exp = Config(*a_, "export.pass.config.json");
  ASSERT_EQ(Mode("export", exp, "export"), 0);
  EXPECT_EQ(Objects(".eml"), 180u);
  // One index per folder (3 users x 3 folders), beside each message's .json.
  EXPECT_EQ(Objects("/.index.json"), 9u);
  EXPECT_EQ(Objects(".json") - Objects(".folder.json") - Objects("/.index.json"), 180u);

  // Incremental: only the new messages are uploaded (a message is two PUTs).
  Seed(4, 100);
  ASSERT_TRUE(s3_->ResetStats().ok());
  ASSERT_EQ(Mode("export", exp, "export2"), 0);
  EXPECT_EQ(Objects(".eml"), 216u);
  auto stats = s3_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->by_method["PUT"], 72);
  EXPECT_LT(stats->by_method["PUT"], 180) << "the re-export uploaded old messages again";

  const std::string imp = Config(*b_, "import.json");
  ASSERT_TRUE(s3_->ResetStats().ok());
  ASSERT_EQ(Mode("import", imp, "import"), 0);
  // The folders' indexes, not one GET per .json: 216 .eml, 9 indexes, 9 .folder.json,
  // the refusal records and the listings (a .json each would add 216).
  stats = s3_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LT(stats->by_method["GET"], 300) << "import read the .json one by one";
  ASSERT_EQ(Mode("validate", imp, "validate"), 0);  // every message of the export on B
  EXPECT_EQ(Total(*a_), 216u);
  for (int u = 0; u < kUsers; ++u) {
    auto ca = testing_fixtures::FolderCounts(*a_, u), cb = testing_fixtures::FolderCounts(*b_, u);
    for (const auto& [name, n] : ca) EXPECT_EQ(cb[name], n) << "user " << u << " " << name;
  }
  // Once more: nothing appended twice.
  ASSERT_EQ(Mode("import", imp, "import2"), 0);
  EXPECT_EQ(Total(*b_), 216u);
  stats = s3_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected, 0);  // every request of every worker carried a valid signature
}

}  // namespace
