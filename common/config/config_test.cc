#include "common/config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A password that appears nowhere else: no message may contain it.
constexpr char kSecret[] = "Zq9-UNIQUE-s3cr3t-Pw";

const char kSeedExport[] = R"({
  "server": {
    "host": "imap.serverA.com",
    "port": 993,
    "ssl": true
  },
  "accounts": [
    { "email": "sales@c23.com", "password": "123" },
    { "email": "support@c23.com", "password": "123" }
  ]
})";

const char kSeedSchema[] = R"({
  "server": {
    "host": "imap.example.com",
    "port": 993,
    "ssl": true,
    "starttls": false
  },
  "accounts": [
    { "email": "user1@example.com", "password": "secret" },
    { "email": "user2@example.com", "password": "secret" }
  ]
})";

std::string TempDir() {
  std::string tmpl = testing::TempDir() + "/config_test.XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// A valid config whose server block and first account can be replaced.
std::string WithServer(const std::string& server) {
  return absl::StrCat(R"({"server": )", server,
                      R"(, "accounts": [{"email": "a@x.com", "password": ")", kSecret, R"("}]})");
}
std::string WithAccount(const std::string& account) {
  return absl::StrCat(R"({"server": {"host": "h"}, "accounts": [)", account, "]}");
}

// The error message of parsing `json` as "x.json"; fails the test when it parses, or when
// the message contains the secret.
std::string ErrorOf(const std::string& json) {
  absl::StatusOr<Config> c = ParseConfig(json, "x.json");
  EXPECT_FALSE(c.ok()) << json;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg(c.status().message());
  EXPECT_THAT(msg, Not(HasSubstr(kSecret)));
  return msg;
}

TEST(ConfigTest, SeedExamplesLoad) {
  for (const char* text : {kSeedExport, kSeedSchema}) {
    absl::StatusOr<Config> c = ParseConfig(text, "export.pass.config.json");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->path, "export.pass.config.json");
    EXPECT_EQ(c->server.port, 993);
    EXPECT_TRUE(c->server.ssl);
    EXPECT_FALSE(c->server.starttls);
    EXPECT_TRUE(c->server.tls_verify);
    EXPECT_EQ(c->server.max_connections_per_account, 4);
    ASSERT_EQ(c->accounts.size(), 2u);
    EXPECT_EQ(c->accounts[1].index, 1);
    EXPECT_EQ(c->accounts[1].login, c->accounts[1].email);
    EXPECT_EQ(c->accounts[1].auth, AuthKind::kAuto);
    EXPECT_TRUE(c->warnings.empty());
  }
}

TEST(ConfigTest, StallLimitsParseCheckAndWrite) {
  auto d = ParseConfig(
      R"({"server": {"host": "h"}, "accounts": [{"email": "a@b.c", "password": "p"}]})", "d.json");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->server.io_timeout, 120);
  EXPECT_EQ(d->server.min_rate, 1024);
  EXPECT_FALSE(absl::StrContains(ConfigToJson(*d), "io_timeout"));
  auto c = ParseConfig(R"({"server": {"host": "h", "io_timeout": 600, "min_rate": 0},
                           "accounts": [{"email": "a@b.c", "password": "p"}]})",
                       "c.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.io_timeout, 600);
  EXPECT_EQ(c->server.min_rate, 0);
  auto again = ParseConfig(ConfigToJson(*c), "again.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->server.io_timeout, 600);
  EXPECT_EQ(again->server.min_rate, 0);
  for (const char* bad : {R"("io_timeout": 0)", R"("io_timeout": "2m")", R"("min_rate": -1)"}) {
    auto r = ParseConfig(absl::StrCat(R"({"server": {"host": "h", )", bad,
                                      R"(}, "accounts": [{"email": "a@b.c", "password": "p"}]})"),
                         "bad.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "server.")) << r.status();
  }
}

TEST(ConfigTest, StoreConcurrencyParsesChecksAndIsWritten) {
  auto d = ParseConfig(
      R"({"server": {"host": "h"}, "accounts": [{"email": "a@b.c", "password": "p"}]})", "d.json");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->store_concurrency, 0);  // not set: the worker's default
  EXPECT_FALSE(absl::StrContains(ConfigToJson(*d), "store"));
  auto c = ParseConfig(R"({"server": {"host": "h"}, "store": {"concurrency": 32},
                           "accounts": [{"email": "a@b.c", "password": "p"}]})",
                       "c.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store_concurrency, 32);
  EXPECT_TRUE(c->warnings.empty());
  auto again = ParseConfig(ConfigToJson(*c), "again.json");  // the import template keeps it
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->store_concurrency, 32);
  for (const char* bad : {R"({"concurrency": 0})", R"({"concurrency": 257})", R"(8)"}) {
    auto r = ParseConfig(absl::StrCat(R"({"server": {"host": "h"}, "store": )", bad,
                                      R"(, "accounts": [{"email": "a@b.c", "password": "p"}]})"),
                         "bad.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "store")) << r.status();
  }
}

TEST(ConfigTest, HeaderExampleLoads) {
  const char* text = R"({
    "server": {"host": "imap.example.com", "port": 993, "ssl": true, "starttls": false,
               "ca_file": "/etc/ssl/my-ca.pem", "tls_verify": true,
               "max_connections_per_account": 4, "compress": true,
               "max_message_size": 36700160},
    "accounts": [
      {"email": "a@example.com", "password": "secret"},
      {"email": "b@example.com", "login": "b", "password": "..."},
      {"email": "c@example.com", "auth": "plain", "authzid": "c@example.com",
       "login": "admin", "password": "..."},
      {"email": "d@example.com", "auth": "xoauth2", "oauth2_token_file": "/run/d.token"},
      {"email": "e@example.com", "auth": "xoauth2", "oauth2_token_command": "get-token e"}
    ]})";
  absl::StatusOr<Config> c = ParseConfig(text, "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.ca_file, "/etc/ssl/my-ca.pem");
  EXPECT_TRUE(c->server.compress);
  EXPECT_EQ(c->server.max_message_size, 36700160u);
  EXPECT_EQ(c->server.throttle_max_wait, 300);
  EXPECT_EQ(c->server.throttle_budget, 3600);
  EXPECT_EQ(c->server.max_line_length, 998);
  EXPECT_TRUE(c->warnings.empty());
  auto throttled = ParseConfig(R"({"server": {"host": "h", "throttle_max_wait": 60,
                                              "throttle_budget": 600, "max_line_length": 9900},
                                   "accounts": [{"email": "a@b.c", "password": "p"}]})",
                               "t.json");
  ASSERT_TRUE(throttled.ok()) << throttled.status();
  EXPECT_EQ(throttled->server.throttle_max_wait, 60);
  EXPECT_EQ(throttled->server.throttle_budget, 600);
  EXPECT_EQ(throttled->server.max_line_length, 9900);
  EXPECT_FALSE(ParseConfig(R"({"server": {"host": "h", "max_line_length": 10},
                               "accounts": [{"email": "a@b.c", "password": "p"}]})",
                           "l.json")
                   .ok());
  EXPECT_FALSE(ParseConfig(R"({"server": {"host": "h", "throttle_max_wait": 0},
                               "accounts": [{"email": "a@b.c", "password": "p"}]})",
                           "z.json")
                   .ok());
  EXPECT_FALSE(ParseConfig(R"({"server": {"host": "h", "max_message_size": -1},
                               "accounts": [{"email": "a@b.c", "password": "p"}]})",
                           "y.json")
                   .ok());
  EXPECT_EQ(c->accounts[1].login, "b");
  EXPECT_EQ(c->accounts[2].auth, AuthKind::kPlain);
  EXPECT_EQ(c->accounts[2].authzid, "c@example.com");
  EXPECT_EQ(c->accounts[3].auth, AuthKind::kXoauth2);
  EXPECT_EQ(c->accounts[3].oauth2_token_file, "/run/d.token");
  EXPECT_EQ(c->accounts[4].oauth2_token_command, "get-token e");
  EXPECT_TRUE(c->warnings.empty());
}

TEST(ConfigTest, PortAndTlsDefaults) {
  auto server = [](const std::string& s) {
    absl::StatusOr<Config> c = ParseConfig(WithServer(s), "x.json");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->server : ServerConfig();
  };
  EXPECT_EQ(server(R"({"host": "h"})").port, 993);
  EXPECT_TRUE(server(R"({"host": "h"})").ssl);
  EXPECT_EQ(server(R"({"host": "h", "ssl": false})").port, 143);
  ServerConfig st = server(R"({"host": "h", "starttls": true})");
  EXPECT_FALSE(st.ssl);
  EXPECT_TRUE(st.starttls);
  EXPECT_EQ(st.port, 143);
  EXPECT_EQ(server(R"({"host": "h", "port": 1993})").port, 1993);
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "ssl": true, "starttls": true})")),
            "x.json: server.starttls: cannot be true together with \"ssl\": true (choose one)");
}

TEST(ConfigTest, ClearTextAndNoVerifyWarn) {
  absl::StatusOr<Config> c =
      ParseConfig(WithServer(R"({"host": "h", "ssl": false, "tls_verify": false})"), "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_EQ(c->warnings[0],
            "x.json: server: neither ssl nor starttls: passwords are sent in clear text");
  EXPECT_THAT(c->warnings[1], HasSubstr("x.json: server.tls_verify: false"));
}

TEST(ConfigTest, MissingFieldsNameTheirPath) {
  std::string four =
      absl::StrCat(R"({"server": {"host": "h"}, "accounts": [)",
                   R"({"email": "a@x", "password": "p"}, {"email": "b@x", "password": "p"},)",
                   R"({"email": "c@x", "password": "p"}, {"password": "p"}]})");
  EXPECT_EQ(ParseConfig(four, "export.pass.config.json").status().message(),
            "export.pass.config.json: accounts[3].email: missing");
  EXPECT_EQ(ErrorOf(R"({"accounts": [{"email": "a@x", "password": "p"}]})"),
            "x.json: server: missing");
  EXPECT_EQ(ErrorOf(R"({"server": {"host": "h"}})"), "x.json: accounts: missing");
  EXPECT_EQ(ErrorOf(WithServer(R"({"port": 993})")), "x.json: server.host: missing");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x"})")), "x.json: accounts[0].password: missing");
  EXPECT_EQ(ErrorOf(R"({"server": {"host": "h"}, "accounts": []})"),
            "x.json: accounts: must list at least one account");
}

TEST(ConfigTest, TypeErrorsEchoNonSecretValues) {
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "port": "abc"})")),
            "x.json: server.port: must be an integer from 1 to 65535, got \"abc\"");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "port": 0})")),
            "x.json: server.port: must be an integer from 1 to 65535, got 0");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "port": 65536})")),
            "x.json: server.port: must be an integer from 1 to 65535, got 65536");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "port": 993.5})")),
            "x.json: server.port: must be an integer from 1 to 65535, got 993.5");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "port": 18446744073709551615})")),
            "x.json: server.port: must be an integer from 1 to 65535, got "
            "18446744073709551615");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "ssl": "yes"})")),
            "x.json: server.ssl: must be true or false, got \"yes\"");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "starttls": 1})")),
            "x.json: server.starttls: must be true or false, got 1");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": 5})")), "x.json: server.host: must be a string, got 5");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "imaps://h"})")),
            "x.json: server.host: must be a host name or address, got \"imaps://h\"");
  EXPECT_EQ(ErrorOf(WithServer(R"([])")), "x.json: server: must be an object, got an array");
  EXPECT_EQ(ErrorOf(R"({"server": {"host": "h"}, "accounts": {}})"),
            "x.json: accounts: must be an array, got an object");
  EXPECT_EQ(ErrorOf(WithAccount(R"("a@x")")),
            "x.json: accounts[0]: must be an object, got \"a@x\"");
  EXPECT_EQ(ErrorOf(R"([1, 2])"),
            "x.json: must be a JSON object with \"server\" and \"accounts\", got an array");
}

TEST(ConfigTest, MaxConnectionsRange) {
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "max_connections_per_account": 0})")),
            "x.json: server.max_connections_per_account: must be an integer from 1 to 64, "
            "got 0");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p", "max_connections": 65})")),
            "x.json: accounts[0].max_connections: must be an integer from 1 to 64, got 65");
  absl::StatusOr<Config> c = ParseConfig(
      WithAccount(R"({"email": "a@x", "password": "p", "max_connections": 64})"), "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->accounts[0].max_connections, 64);
}

TEST(ConfigTest, ProviderPresetsSetTheKnownLimits) {
  auto gmail =
      ParseConfig(WithServer(R"({"host": "imap.gmail.com", "provider": "gmail"})"), "x.json");
  ASSERT_TRUE(gmail.ok()) << gmail.status();
  const ServerConfig& g = gmail->server;
  EXPECT_EQ(g.provider, Provider::kGmail);
  EXPECT_EQ(g.max_connections_per_account, 15);
  EXPECT_EQ(g.download_bytes_per_day, 2'500'000'000u);
  EXPECT_EQ(g.upload_bytes_per_day, 500'000'000u);
  EXPECT_EQ(g.max_message_size, 35'651'584u);
  EXPECT_EQ(g.messages_per_second, 0);
  EXPECT_EQ(g.budget_window_seconds, 86400);
  // The direction picks the budget: export downloads from this server, import uploads.
  EXPECT_EQ(LimitsOf(g, gmail->accounts[0], Direction::kDownload).bytes_per_day, 2'500'000'000u);
  EXPECT_EQ(LimitsOf(g, gmail->accounts[0], Direction::kUpload).bytes_per_day, 500'000'000u);
  EXPECT_EQ(LimitsOf(g, gmail->accounts[0], Direction::kNone).bytes_per_day, 0u);

  auto m365 =
      ParseConfig(absl::StrCat(R"({"server": {"host": "outlook.office365.com", "provider": "M365"},
                       "accounts": [{"email": "a@x.com", "auth": "xoauth2",
                                     "oauth2_token_file": "/t"}]})"),
                  "x.json");
  ASSERT_TRUE(m365.ok()) << m365.status();
  EXPECT_EQ(m365->server.provider, Provider::kM365);
  EXPECT_EQ(m365->server.max_connections_per_account, 8);
  EXPECT_EQ(m365->server.messages_per_second, 10);
  EXPECT_EQ(m365->server.max_message_size, 36'700'160u);
  EXPECT_EQ(m365->server.download_bytes_per_day, 0u);
  EXPECT_TRUE(m365->warnings.empty()) << m365->warnings[0];

  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "provider": "yahoo"})")),
            "x.json: server.provider: must be \"gmail\" or \"m365\", got \"yahoo\"");
}

TEST(ConfigTest, ExplicitFieldsWinOverThePreset) {
  auto c = ParseConfig(
      R"({"server": {"host": "imap.gmail.com", "provider": "gmail",
                     "max_connections_per_account": 5, "bytes_per_day": 1000000,
                     "messages_per_second": 2.5, "budget_window_seconds": 60},
          "accounts": [{"email": "a@x", "password": "p"},
                       {"email": "b@x", "password": "p", "max_connections": 2,
                        "bytes_per_day": 300, "messages_per_second": 0.5}]})",
      "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.max_connections_per_account, 5);
  EXPECT_EQ(c->server.download_bytes_per_day, 1000000u);  // one value, both directions
  EXPECT_EQ(c->server.upload_bytes_per_day, 1000000u);
  EXPECT_EQ(c->server.max_message_size, 35'651'584u);  // not given: the preset's
  EXPECT_EQ(c->server.budget_window_seconds, 60);
  EXPECT_EQ(c->server.preset_fields, std::set<std::string>{"max_message_size"});
  AccountLimits a = LimitsOf(c->server, c->accounts[0], Direction::kUpload);
  EXPECT_EQ(a.max_connections, 5);
  EXPECT_EQ(a.bytes_per_day, 1000000u);
  EXPECT_EQ(a.messages_per_second, 2.5);
  AccountLimits b = LimitsOf(c->server, c->accounts[1], Direction::kDownload);
  EXPECT_EQ(b.max_connections, 2);
  EXPECT_EQ(b.bytes_per_day, 300u);
  EXPECT_EQ(b.messages_per_second, 0.5);
  // Written back: the file's own fields, the preset's left to the preset.
  const std::string json = ConfigToJson(*c);
  EXPECT_THAT(json, HasSubstr("\"provider\": \"gmail\""));
  EXPECT_THAT(json, HasSubstr("\"bytes_per_day\": 1000000"));
  EXPECT_THAT(json, HasSubstr("\"bytes_per_day\": 300"));
  EXPECT_THAT(json, Not(HasSubstr("max_message_size")));
  auto again = ParseConfig(json, "y.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ConfigToJson(*again), json);
  // A preset-filled field is not written: editing the provider changes it.
  auto preset_only = ParseConfig(WithServer(R"({"host": "h", "provider": "gmail"})"), "x.json");
  ASSERT_TRUE(preset_only.ok());
  EXPECT_THAT(ConfigToJson(*preset_only), Not(HasSubstr("max_connections_per_account")));
  EXPECT_THAT(ConfigToJson(*preset_only), Not(HasSubstr("bytes_per_day")));
}

TEST(ConfigTest, BudgetFieldRanges) {
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "messages_per_second": 0})")),
            "x.json: server.messages_per_second: must be a number above 0, at most 100000, got 0");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "bytes_per_day": -1})")),
            "x.json: server.bytes_per_day: must be an integer from 1 to 1125899906842624, got -1");
  EXPECT_EQ(ErrorOf(WithServer(R"({"host": "h", "budget_window_seconds": 0})")),
            "x.json: server.budget_window_seconds: must be an integer from 1 to 2678400, got 0");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p", "bytes_per_day": "1"})")),
            "x.json: accounts[0].bytes_per_day: must be an integer from 1 to 1125899906842624, "
            "got \"1\"");
}

TEST(ConfigTest, M365WithoutXoauth2Warns) {
  auto c = ParseConfig(
      R"({"server": {"host": "outlook.office365.com", "provider": "m365"},
          "accounts": [{"email": "a@x", "password": "p"}]})",
      "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("x.json: accounts[0].auth: Microsoft 365"));
  EXPECT_THAT(c->warnings[0], HasSubstr("XOAUTH2"));
}

TEST(ConfigTest, ConnectionKeyIsWhoTheServerCounts) {
  Account a;
  a.email = "A@x";
  EXPECT_EQ(ConnectionKey(a), "a@x");
  a.login = "Admin";
  EXPECT_EQ(ConnectionKey(a), "admin");
  a.authzid = "C@x";
  EXPECT_EQ(ConnectionKey(a), "c@x");
}

TEST(ConfigTest, Oauth2TokenMaxAge) {
  absl::StatusOr<Config> c =
      ParseConfig(WithAccount(R"({"email": "a@x", "auth": "xoauth2", "oauth2_token_file": "/t",
                      "oauth2_token_max_age": 600})"),
                  "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->accounts[0].oauth2_token_max_age, 600);
  EXPECT_TRUE(c->warnings.empty());
  c = ParseConfig(WithAccount(R"({"email": "a@x", "auth": "xoauth2", "oauth2_token_file": "/t"})"),
                  "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->accounts[0].oauth2_token_max_age, 0);  // the default
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "auth": "oauthbearer",
                                    "oauth2_token_command": "c", "oauth2_token_max_age": 0})")),
            "x.json: accounts[0].oauth2_token_max_age: must be an integer from 1 to 86400, got 0");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "auth": "xoauth2", "oauth2_token": "t",
                                    "oauth2_token_max_age": 60})")),
            "x.json: accounts[0].oauth2_token_max_age: only used with oauth2_token_file or "
            "oauth2_token_command");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p",
                                    "oauth2_token_max_age": 60})")),
            "x.json: accounts[0].oauth2_token_max_age: only used with oauth2_token_file or "
            "oauth2_token_command");
}

TEST(ConfigTest, EmailRules) {
  auto err = [](const std::string& email_json) {
    return ErrorOf(WithAccount(absl::StrCat(R"({"email": )", email_json, R"(, "password": "p"})")));
  };
  EXPECT_EQ(err(R"("")"), "x.json: accounts[0].email: must not be empty");
  EXPECT_EQ(err(R"("nobody")"), "x.json: accounts[0].email: must contain '@', got \"nobody\"");
  EXPECT_EQ(err(R"("a/b@x")"), "x.json: accounts[0].email: must not contain '/', got \"a/b@x\"");
  EXPECT_EQ(err(R"(".a@x")"), "x.json: accounts[0].email: must not begin with '.', got \".a@x\"");
  EXPECT_EQ(err(R"("a\u0001@x")"),
            "x.json: accounts[0].email: must not contain control characters, got "
            "\"a\\u0001@x\"");
  EXPECT_EQ(err(R"(["a@x"])"), "x.json: accounts[0].email: must be a string, got an array");
}

TEST(ConfigTest, DuplicateEmailNamesBothIndexes) {
  std::string json =
      WithAccount(R"({"email": "a@x.com", "password": "p"}, {"email": "b@x.com", "password": "p"},)"
                  R"({"email": "A@X.com", "password": "p"})");
  EXPECT_EQ(ErrorOf(json),
            "x.json: accounts[2].email: duplicate of accounts[0].email (\"A@X.com\", "
            "case-insensitive)");
}

TEST(ConfigTest, AuthRules) {
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p", "auth": "cram"})")),
            "x.json: accounts[0].auth: must be one of \"login\", \"plain\", \"xoauth2\", "
            "\"oauthbearer\", got \"cram\"");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p", "authzid": "z"})")),
            "x.json: accounts[0].authzid: only allowed with \"auth\": \"plain\"");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "auth": "xoauth2"})")),
            "x.json: accounts[0]: needs one of oauth2_token, oauth2_token_file, "
            "oauth2_token_command with \"auth\": \"xoauth2\"");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "auth": "oauthbearer",
                                    "oauth2_token_file": "f", "oauth2_token_command": "c"})")),
            "x.json: accounts[0]: set only one of oauth2_token, oauth2_token_file, "
            "oauth2_token_command");
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p",
                                    "oauth2_token_file": "f"})")),
            "x.json: accounts[0].oauth2_token_file: only used with \"auth\": \"xoauth2\" or "
            "\"oauthbearer\"");
  absl::StatusOr<Config> c =
      ParseConfig(WithAccount(R"({"email": "a@x", "auth": "oauthbearer", "oauth2_token": "t",
                      "password": "p"})"),
                  "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->accounts[0].auth, AuthKind::kOauthBearer);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0], "x.json: accounts[0].password: ignored with \"auth\": \"oauthbearer\"");
}

TEST(ConfigTest, SecretsAreNeverEchoed) {
  // Wrong types and misplaced secrets: the message names the field, not the value.
  EXPECT_EQ(
      ErrorOf(WithAccount(absl::StrCat(R"({"email": "a@x", "password": [")", kSecret, R"("]})"))),
      "x.json: accounts[0].password: must be a string");
  EXPECT_EQ(ErrorOf(WithAccount(absl::StrCat(R"({"email": "a@x", "auth": "xoauth2",
      "oauth2_token": {"v": ")",
                                             kSecret, R"("}})"))),
            "x.json: accounts[0].oauth2_token: must be a string");
  EXPECT_EQ(ErrorOf(WithAccount(absl::StrCat(R"({"email": "a@x", "auth": "xoauth2",
      "oauth2_token_command": 7})"))),
            "x.json: accounts[0].oauth2_token_command: must be a string");
  // A secret in a syntax error's neighbourhood.
  ErrorOf(absl::StrCat(R"({"server": {"host": "h"}, "accounts": [{"email": "a@x", )",
                       R"("password": )", kSecret, "}]}"));
  ErrorOf(absl::StrCat(R"({"server": {"host": "h"}, "accounts": [{"email": "a@x", )",
                       R"("password": ")", kSecret, "\n\"}]}"));
  // A misspelled field holding the secret: the warning names the field only.
  absl::StatusOr<Config> c =
      ParseConfig(WithAccount(absl::StrCat(R"({"email": "a@x", "password": "p", "pasword": ")",
                                           kSecret, R"("})")),
                  "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0],
            "x.json: accounts[0].pasword: unknown field (ignored); did you mean \"password\"?");
}

TEST(ConfigTest, UnknownFieldsWarn) {
  absl::StatusOr<Config> c = ParseConfig(
      R"({"server": {"host": "h", "prot": 993}, "accounts": [{"email": "a@x", "password": "p"}],
          "comment": "x"})",
      "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_EQ(c->warnings[0], "x.json: comment: unknown field (ignored)");
  EXPECT_EQ(c->warnings[1], "x.json: server.prot: unknown field (ignored); did you mean \"port\"?");
}

TEST(ConfigTest, DuplicateKeysAreErrors) {
  EXPECT_EQ(ErrorOf(WithAccount(R"({"email": "a@x", "password": "p"},
                                   {"email": "b@x", "email": "c@x", "password": "p"})")),
            "x.json: accounts[1].email: duplicate field");
  EXPECT_EQ(ErrorOf(R"({"server": {"host": "h"}, "server": {"host": "g"},
                        "accounts": [{"email": "a@x", "password": "p"}]})"),
            "x.json: server: duplicate field");
}

TEST(ConfigTest, SeveralErrorsReportedTogether) {
  std::string msg = ErrorOf(R"({"server": {"port": "x"}, "accounts": [{"password": "p"}]})");
  EXPECT_EQ(msg,
            "x.json: server.host: missing\n"
            "x.json: server.port: must be an integer from 1 to 65535, got \"x\"\n"
            "x.json: accounts[0].email: missing");
}

TEST(ConfigTest, SyntaxErrorsNameLineAndColumn) {
  std::string text = "{\n  \"server\": {\"host\": \"h\"},\n  \"accounts\": [ x ]\n}\n";
  EXPECT_THAT(ErrorOf(text), HasSubstr("x.json: invalid JSON at line 3, column 17: "));
  EXPECT_THAT(ErrorOf("{\"a\": 1,\n"), HasSubstr("x.json: invalid JSON at line 2, column 1: "));
  EXPECT_THAT(ErrorOf(""), HasSubstr("x.json: invalid JSON at line 1, column 1: "));
  EXPECT_THAT(ErrorOf("{\"server\" 1}"), HasSubstr("x.json: invalid JSON at line 1, column 11: "));
  // The offending token is not echoed.
  EXPECT_THAT(ErrorOf("{\"a\": tru3zzz}"), Not(HasSubstr("zzz")));
}

class ConfigFileTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  std::string path = dir_ + "/nope.json";
  absl::StatusOr<Config> c = LoadConfig(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(), "cannot read " + path + ": No such file or directory");
  EXPECT_EQ(LoadConfig(dir_).status().message(), "cannot read " + dir_ + ": Is a directory");
}

TEST_F(ConfigFileTest, UnreadableFileIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode 000 files";
  std::string path = dir_ + "/c.json";
  WriteFile(path, kSeedExport, 0000);
  absl::StatusOr<Config> c = LoadConfig(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c.status().message(), "cannot read " + path + ": Permission denied");
}

TEST_F(ConfigFileTest, WorldReadableFileWarns) {
  std::string path = dir_ + "/c.json";
  WriteFile(path, kSeedExport, 0644);
  absl::StatusOr<Config> c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0], path +
                                ": readable by others (mode 0644); it holds passwords: "
                                "chmod 600 " +
                                path);
  WriteFile(path, kSeedExport, 0600);
  c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->warnings.empty());
}

TEST_F(ConfigFileTest, WriteThenLoadRoundTripsWithMode0600) {
  absl::StatusOr<Config> in = ParseConfig(
      R"({"server": {"host": "imap.b.com", "port": 1143, "ssl": false, "starttls": true,
                     "ca_file": "/ca.pem", "tls_verify": false,
                     "max_connections_per_account": 2},
          "accounts": [{"email": "a@x", "password": "p1"},
                       {"email": "b@x", "login": "adm", "auth": "plain", "authzid": "b@x",
                        "password": "p2", "max_connections": 3},
                       {"email": "c@x", "auth": "xoauth2", "oauth2_token_command": "t c",
                        "oauth2_token_max_age": 120}]})",
      "in.json");
  ASSERT_TRUE(in.ok()) << in.status();
  std::string path = dir_ + "/out.json";
  mode_t old_umask = ::umask(0);  // the file must be 0600 whatever the umask
  absl::Status s = WriteConfig(*in, path);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok()) << s;
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  absl::StatusOr<Config> out = LoadConfig(path);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ConfigToJson(*out), ConfigToJson(*in));
  EXPECT_EQ(out->server.port, 1143);
  EXPECT_TRUE(out->server.starttls);
  EXPECT_FALSE(out->server.tls_verify);
  EXPECT_EQ(out->accounts[1].login, "adm");
  EXPECT_EQ(out->accounts[1].max_connections, 3);
  EXPECT_EQ(out->accounts[2].oauth2_token_command, "t c");
  EXPECT_EQ(out->accounts[2].oauth2_token_max_age, 120);
  // Only the warnings of the content (clear text is not one: starttls), no mode warning.
  EXPECT_EQ(out->warnings.size(), 1u);
  // No temporary left beside it.
  EXPECT_EQ(std::system(("test $(ls -A '" + dir_ + "' | wc -l) -eq 1").c_str()), 0);
}

TEST_F(ConfigFileTest, TemplateLooksLikeTheSeedExample) {
  absl::StatusOr<Config> c = ParseConfig(kSeedExport, "export.pass.config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  c->server.host = "imap.serverB.com";
  std::string expected = absl::StrReplaceAll(kSeedExport, {{"serverA", "serverB"}});
  expected =
      absl::StrReplaceAll(expected, {{"{ \"email\": \"sales@c23.com\", \"password\": \"123\" }",
                                      "{\n      \"email\": \"sales@c23.com\",\n      "
                                      "\"password\": \"123\"\n    }"},
                                     {"{ \"email\": \"support@c23.com\", \"password\": "
                                      "\"123\" }",
                                      "{\n      \"email\": \"support@c23.com\",\n      "
                                      "\"password\": \"123\"\n    }"}});
  EXPECT_EQ(ConfigToJson(*c), expected + "\n");
  std::string path = dir_ + "/import.pass.config.json";
  ASSERT_TRUE(WriteConfigIfAbsent(*c, path).ok());
  absl::Status again = WriteConfigIfAbsent(*c, path);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(std::system(("test $(ls -A '" + dir_ + "' | wc -l) -eq 1").c_str()), 0);
}

Account OauthAccount() {
  Account a;
  a.index = 3;
  a.email = "d@example.com";
  a.auth = AuthKind::kXoauth2;
  return a;
}

TEST(ResolveSecretTest, PasswordAndInlineToken) {
  Account a;
  a.email = "a@x";
  a.password = kSecret;
  EXPECT_EQ(*ResolveSecret(a), kSecret);
  a.password.clear();
  EXPECT_EQ(ResolveSecret(a).status().message(), "accounts[0] (a@x): no password");
  Account o = OauthAccount();
  o.oauth2_token = "inline";
  EXPECT_EQ(*ResolveSecret(o), "inline");
}

TEST_F(ConfigFileTest, TokenFileIsTrimmed) {
  Account a = OauthAccount();
  a.oauth2_token_file = dir_ + "/d.token";
  WriteFile(a.oauth2_token_file, absl::StrCat(kSecret, "\r\n\n  "), 0600);
  absl::StatusOr<std::string> t = ResolveSecret(a);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, kSecret);
}

TEST_F(ConfigFileTest, TokenFileErrorsNameTheFileNotTheContent) {
  Account a = OauthAccount();
  a.oauth2_token_file = dir_ + "/missing.token";
  absl::Status s = ResolveSecret(a).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "accounts[3] (d@example.com): oauth2_token_file: cannot read " +
                             a.oauth2_token_file + ": No such file or directory");
  a.oauth2_token_file = dir_ + "/multi.token";
  WriteFile(a.oauth2_token_file, absl::StrCat(kSecret, "\nsecond-line"), 0600);
  s = ResolveSecret(a).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(a.oauth2_token_file));
  EXPECT_THAT(s.message(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(s.message(), Not(HasSubstr("second-line")));
  a.oauth2_token_file = dir_ + "/empty.token";
  WriteFile(a.oauth2_token_file, "\n", 0600);
  EXPECT_THAT(ResolveSecret(a).status().message(), HasSubstr("no token (empty)"));
}

TEST(ResolveSecretTest, TokenCommandStdout) {
  Account a = OauthAccount();
  a.oauth2_token_command = "printf tok";
  absl::StatusOr<std::string> t = ResolveSecret(a);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "tok");
  a.oauth2_token_command = "echo '  tok2  '; echo to-stderr >&2";
  EXPECT_EQ(*ResolveSecret(a), "tok2");
}

TEST(ResolveSecretTest, FailingTokenCommand) {
  Account a = OauthAccount();
  a.oauth2_token_command = absl::StrCat("echo ", kSecret, "; exit 3");
  absl::Status s = ResolveSecret(a).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "accounts[3] (d@example.com): oauth2_token_command: exited with status 3");
  a.oauth2_token_command = "kill -9 $$";
  EXPECT_EQ(ResolveSecret(a).status().message(),
            "accounts[3] (d@example.com): oauth2_token_command: killed by signal 9");
  a.oauth2_token_command = "true";
  EXPECT_EQ(ResolveSecret(a).status().message(),
            "accounts[3] (d@example.com): oauth2_token_command: no token (empty)");
  a.oauth2_token_command = "head -c 70000 /dev/zero | tr '\\0' x";
  s = ResolveSecret(a).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), Not(HasSubstr("xxxx")));
}

TEST(ConfigTest, DefaultPathsAndNames) {
  EXPECT_EQ(DefaultConfigPath("export"), "export.pass.config.json");
  EXPECT_EQ(DefaultConfigPath("test"), "export.pass.config.json");
  EXPECT_EQ(DefaultConfigPath("import"), "import.pass.config.json");
  EXPECT_EQ(DefaultConfigPath("validate"), "import.pass.config.json");
  EXPECT_EQ(DefaultConfigPath("bogus"), "");
  EXPECT_STREQ(AuthKindName(AuthKind::kAuto), "auto");
  EXPECT_STREQ(AuthKindName(AuthKind::kOauthBearer), "oauthbearer");
}

}  // namespace
}  // namespace config

namespace config {
namespace {

std::string WithSelection(const std::string& selection) {
  return absl::StrCat(R"({"server": {"host": "h"}, "accounts": [{"email": "a@x.com", )",
                      R"("password": "p"}], "selection": )", selection, "}");
}

TEST(ConfigSelectionTest, SelectionLoadsAndItsProblemsAreNamed) {
  absl::StatusOr<Config> c =
      ParseConfig(WithSelection(R"({"include_folders": "^INBOX", "skip_special_use": ["\\Junk"],
                        "since": "2020-01-01", "max_size": 1000, "just_folders": true,
                        "skip_cross_duplicates": true})"),
                  "x.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->selection.include_folders, "^INBOX");
  EXPECT_EQ(c->selection.skip_special_use, std::vector<std::string>{"\\Junk"});
  EXPECT_EQ(c->selection.since, "2020-01-01");
  EXPECT_EQ(c->selection.max_size, 1000u);
  EXPECT_TRUE(c->selection.just_folders);
  EXPECT_TRUE(c->selection.skip_cross_duplicates);
  EXPECT_FALSE(ParseConfig(kSeedExport, "x.json")->selection.selects_folders());
  auto error = [](const std::string& selection) {
    absl::StatusOr<Config> bad = ParseConfig(WithSelection(selection), "x.json");
    return bad.ok() ? std::string() : std::string(bad.status().message());
  };
  EXPECT_THAT(error(R"({"exclude_folders": "(x"})"),
              HasSubstr("x.json: selection: exclude_folders: not a valid regular expression"));
  EXPECT_THAT(error(R"({"before": "1/2/2020"})"),
              HasSubstr("selection: before: must be YYYY-MM-DD, got 1/2/2020"));
  EXPECT_THAT(error(R"({"skip_special_use": "\\Junk"})"),
              HasSubstr("selection.skip_special_use: must be an array of strings"));
  EXPECT_THAT(error(R"([1])"), HasSubstr("selection: must be an object"));
  absl::StatusOr<Config> typo = ParseConfig(WithSelection(R"({"sinse": "2020-01-01"})"), "x.json");
  ASSERT_TRUE(typo.ok());
  ASSERT_EQ(typo->warnings.size(), 1u);
  EXPECT_THAT(typo->warnings[0], HasSubstr("did you mean \"since\"?"));
}

}  // namespace
}  // namespace config
