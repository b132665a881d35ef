// OAuth2 tokens that expire during an account's run, against a real Dovecot whose oauth2
// passdb asks an introspection endpoint the test controls. The trigger is deterministic:
// when the export has written N messages, the test grants a new token (rewriting the
// token file, or what the token command prints), revokes the current one and kicks the
// account's IMAP sessions (as a provider ends the sessions of an expired token). The
// engine reconnects, the server refuses the cached token, the engine reads a fresh one and
// the export goes on; twice per run.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/engine/engine.h"
#include "common/storage/fs_store.h"
#include "gtest/gtest.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/imap_check.h"
#include "tests/fixtures/oauth2_introspection.h"

namespace {

namespace fs = std::filesystem;
using testing_fixtures::DovecotServer;
using testing_fixtures::IntrospectionServer;

constexpr int kFolders = 6;
constexpr int kPerFolder = 20;
const char* const kFolderNames[kFolders] = {"INBOX", "Sent", "Work", "Work/Q1", "Archive", "Lists"};

// Replaces `path` atomically (a reader never sees a half-written token).
void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << tmp;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  ASSERT_EQ(::rename(tmp.c_str(), path.c_str()), 0) << path;
}

// Runs `on_reach(k)` (k = 1, 2, ...) in the engine's thread when the account's
// messages_done reaches each of `marks`.
class MarkListener : public engine::ProgressListener {
 public:
  MarkListener(std::vector<uint64_t> marks, std::function<void(int)> on_reach)
      : marks_(std::move(marks)), on_reach_(std::move(on_reach)) {}
  void OnProgress(const engine::Progress& p) override {
    for (size_t k = 0; k < marks_.size(); ++k) {
      if (p.messages_done == marks_[k]) on_reach_(static_cast<int>(k) + 1);
    }
  }

 private:
  std::vector<uint64_t> marks_;
  std::function<void(int)> on_reach_;
};

class OAuth2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto intro = IntrospectionServer::Start();
    ASSERT_TRUE(intro.ok()) << intro.status();
    intro_ = std::move(*intro);
    testing_fixtures::DovecotOptions o;
    o.users = 2;
    o.oauth2_introspection_url = intro_->url();
    auto server = DovecotServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    a_ = std::move(*server);
    testing_fixtures::SeedOptions so;
    so.random_flags = true;
    for (int u = 0; u < 2; ++u) {
      for (int f = 0; f < kFolders; ++f) {
        so.seed = u * 100 + f;
        ASSERT_TRUE(a_->SeedGenerated(a_->users()[u].email, kFolderNames[f], kPerFolder, so).ok());
      }
    }
    dir_ = a_->dir() + "/work";
    fs::create_directories(dir_);
    auto store = storage::OpenStore(dir_ + "/exported");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  engine::AccountTask Task(engine::Mode mode, const config::Account& account) {
    engine::AccountTask t;
    t.mode = mode;
    t.server.host = a_->host();
    t.server.port = a_->imaps_port();
    t.server.ssl = true;
    t.server.ca_file = a_->ca_file();
    t.account = account;
    return t;
  }

  // One connection by default: the session the test kicks at a mark is the one the
  // export goes on with (the one logged in with the token just revoked), and folders are
  // left after each mark, so the reconnect with the revoked token is certain.
  config::Account OauthAccount(int user, config::AuthKind kind, int connections = 1) {
    config::Account a;
    a.index = user;
    a.email = a_->users()[user].email;
    a.login = a.email;
    a.auth = kind;
    a.max_connections = connections;
    return a;
  }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Exports `account` while revoking its token twice (at 30 and 70 of 120 messages):
  // `rotate(k)` makes token k+1 what the file or command gives, then the test revokes
  // token k and kicks the sessions.
  engine::AccountResult ExportWithTwoRevocations(const config::Account& account,
                                                 const std::vector<std::string>& tokens,
                                                 const std::function<void(int)>& rotate) {
    int user = account.index;
    MarkListener marks({30, 70}, [&](int k) {
      rotate(k);
      intro_->Revoke(tokens[k - 1]);
      absl::Status kicked = a_->KickUser(a_->users()[user].email);
      EXPECT_TRUE(kicked.ok()) << kicked;
    });
    engine::CancelToken cancel;
    return engine::RunAccount(Task(engine::Mode::kExport, account), *store_, &marks, cancel);
  }

  // The export of `user` holds every message of A, checked by validate against A itself
  // (every folder: no message missing, none extra).
  void ExpectExportExact(const config::Account& account) {
    engine::CancelToken cancel;
    engine::AccountResult v =
        engine::RunAccount(Task(engine::Mode::kValidate, account), *store_, nullptr, cancel);
    ASSERT_TRUE(v.status.ok()) << v.status;
    ASSERT_GE(v.folders.size(), static_cast<size_t>(kFolders));
    uint64_t total = 0;
    for (const auto& f : v.folders) {
      EXPECT_EQ(f.missing, 0u) << f.name;
      EXPECT_EQ(f.extra, 0u) << f.name;
      total += f.source_messages;
    }
    EXPECT_EQ(total, static_cast<uint64_t>(kFolders * kPerFolder));
  }

  // Exports `user` with its token from an oauth2_token_command that prints the file
  // DIR/current (and appends a line to DIR/calls per run), tokens[0] first, tokens[k]
  // after the k-th revocation; expects an exact export. `all_used`: every token was
  // accepted at least once. Returns DIR/calls as the export left it.
  std::string ExportWithCommandTokens(int user, config::AuthKind kind, int connections,
                                      const std::vector<std::string>& tokens,
                                      bool all_used = true) {
    for (const std::string& t : tokens) intro_->Grant(t, a_->users()[user].email);
    config::Account account = OauthAccount(user, kind, connections);
    const std::string current = dir_ + "/current";
    WriteAtomically(current, tokens[0]);
    account.oauth2_token_command =
        absl::StrCat("echo run >> '", dir_, "/calls'; cat '", current, "'");
    engine::AccountResult r = ExportWithTwoRevocations(
        account, tokens, [&](int k) { WriteAtomically(current, tokens[k]); });
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.messages, static_cast<uint64_t>(kFolders * kPerFolder));
    if (all_used) {
      for (const std::string& t : tokens) EXPECT_GE(intro_->accepted(t), 1) << t;
    }
    std::string runs = ReadAll(dir_ + "/calls");
    ExpectExportExact(account);
    return runs;
  }

  std::unique_ptr<IntrospectionServer> intro_;
  std::unique_ptr<DovecotServer> a_;
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(OAuth2Test, TokenFileRereadAfterTwoRevocationsExportIsExact) {
  const std::string email = a_->users()[0].email;
  const std::vector<std::string> tokens = {"tokF-1-Jq7Wc2", "tokF-2-Lx4Rb8", "tokF-3-Hn5Tz1"};
  for (const std::string& t : tokens) intro_->Grant(t, email);
  config::Account account = OauthAccount(0, config::AuthKind::kXoauth2);
  account.oauth2_token_file = dir_ + "/token";
  WriteAtomically(account.oauth2_token_file, tokens[0] + "\n");
  engine::AccountResult r = ExportWithTwoRevocations(account, tokens, [&](int k) {
    WriteAtomically(account.oauth2_token_file, tokens[k] + "\n");
  });
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.messages, static_cast<uint64_t>(kFolders * kPerFolder));
  // Every token was used, and the revoked ones were refused at least once each.
  for (const std::string& t : tokens) EXPECT_GE(intro_->accepted(t), 1) << t;
  EXPECT_EQ(intro_->refused(), 2);
  ExpectExportExact(account);
}

TEST_F(OAuth2Test, TokenCommandRerunOncePerRevocationExportIsExact) {
  const std::string runs = ExportWithCommandTokens(
      1, config::AuthKind::kOauthBearer, 1, {"tokC-1-Vb3Ns6", "tokC-2-Pd9Kw4", "tokC-3-Gm2Yq7"});
  // Once at the start and once per revocation.
  EXPECT_EQ(runs, "run\nrun\nrun\n");
  EXPECT_EQ(intro_->refused(), 2);
}

// Four connections kicked at once: whichever is refused first reads the fresh token, the
// others take it (never more than one run of the command per revocation).
TEST_F(OAuth2Test, ParallelConnectionsShareOneRefreshPerRevocation) {
  const std::string runs = ExportWithCommandTokens(
      1, config::AuthKind::kXoauth2, 4, {"tokP-1-Ac5Ve2", "tokP-2-Mf8Jr3", "tokP-3-Ks1Dx9"},
      /*all_used=*/false);
  EXPECT_TRUE(runs == "run\n" || runs == "run\nrun\n" || runs == "run\nrun\nrun\n") << runs;
}

TEST_F(OAuth2Test, TokenThatCannotBeRefreshedFailsTheAccountNamingItNotTheToken) {
  const std::string email = a_->users()[0].email;
  const std::string token = "tokX-1-Qe8Ud5";
  intro_->Grant(token, email);
  config::Account account = OauthAccount(0, config::AuthKind::kXoauth2);
  const std::string script = dir_ + "/get-token";
  WriteAtomically(script, "echo " + token + "\n");
  account.oauth2_token_command = "sh '" + script + "'";
  // At the first mark the token command breaks (it prints a token and fails) and the
  // token is revoked: the refused login cannot be retried.
  engine::AccountResult r = ExportWithTwoRevocations(account, {token, token}, [&](int k) {
    if (k == 1) WriteAtomically(script, "echo tokX-2-Rw6Fa3\nexit 7\n");
  });
  ASSERT_FALSE(r.status.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(r.status)) << r.status;
  const std::string text = r.status.ToString();
  EXPECT_TRUE(absl::StrContains(text, "account " + email)) << text;
  EXPECT_TRUE(absl::StrContains(text, "no fresh one could be read")) << text;
  EXPECT_TRUE(absl::StrContains(text, "oauth2_token_command: exited with status 7")) << text;
  EXPECT_FALSE(absl::StrContains(text, "tokX-")) << text;
  for (const auto& f : r.folders) EXPECT_FALSE(absl::StrContains(f.error, "tokX-")) << f.error;
}

}  // namespace
