// S3OptionsFromLocation and S3Store construction (no network).
#include <map>
#include <string>

#include "common/storage/s3_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fake environment.
class Env {
 public:
  explicit Env(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}
  std::function<const char*(const char*)> Fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

const std::map<std::string, std::string> kCreds = {{"AWS_ACCESS_KEY_ID", "AKID"},
                                                   {"AWS_SECRET_ACCESS_KEY", "SeCrEt"}};

TEST(S3OptionsTest, DefaultsToAwsVirtualHosted) {
  Env env(kCreds);
  auto o = S3OptionsFromLocation("s3://my-bucket/exports/2024/", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->bucket, "my-bucket");
  EXPECT_EQ(o->prefix, "exports/2024");
  EXPECT_EQ(o->region, "us-east-1");
  EXPECT_EQ(o->endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(o->path_style);
  EXPECT_EQ(o->credentials.access_key_id, "AKID");
  EXPECT_EQ(o->credentials.secret_access_key, "SeCrEt");
  EXPECT_EQ(o->credentials.session_token, "");
}

TEST(S3OptionsTest, EndpointRegionTokenPathStyle) {
  auto vars = kCreds;
  vars["AWS_REGION"] = "eu-central-1";
  vars["S3_ENDPOINT"] = "http://127.0.0.1:4569/";
  vars["AWS_SESSION_TOKEN"] = "TOK";
  Env env(vars);
  auto o = S3OptionsFromLocation("s3://bucket", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->prefix, "");
  EXPECT_EQ(o->region, "eu-central-1");
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:4569");
  EXPECT_TRUE(o->path_style);
  EXPECT_EQ(o->credentials.session_token, "TOK");

  vars["AWS_ENDPOINT_URL"] = "minio.local:9000";  // wins over S3_ENDPOINT; https assumed
  vars["S3_FORCE_PATH_STYLE"] = "false";
  Env env2(vars);
  o = S3OptionsFromLocation("s3://bucket/p", env2.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->endpoint, "https://minio.local:9000");
  EXPECT_FALSE(o->path_style);

  vars["S3_FORCE_PATH_STYLE"] = "maybe";
  Env env3(vars);
  EXPECT_EQ(S3OptionsFromLocation("s3://bucket/p", env3.Fn()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(S3OptionsTest, DottedBucketUsesPathStyleOnAws) {
  Env env(kCreds);
  auto o = S3OptionsFromLocation("s3://my.dotted.bucket/x", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->path_style);
}

TEST(S3OptionsTest, RejectsBadLocationsAndMissingCredentials) {
  Env env(kCreds);
  for (const char* bad : {"s3://", "s3://ab", "s3://bad/bucket/../x", "s3://a b/x",
                          "s3://bucket//double", "/local/dir", "s3://bucket/.tmp.x"}) {
    auto o = S3OptionsFromLocation(bad, env.Fn());
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  Env no_secret(std::map<std::string, std::string>{{"AWS_ACCESS_KEY_ID", "AKID"}});
  auto o = S3OptionsFromLocation("s3://bucket/p", no_secret.Fn());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("AWS_SECRET_ACCESS_KEY"));

  auto vars = kCreds;
  vars["S3_ENDPOINT"] = "ftp://host";
  Env ftp(vars);
  EXPECT_EQ(S3OptionsFromLocation("s3://bucket", ftp.Fn()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(S3StoreTest, DescribeShowsNoCredentials) {
  auto vars = kCreds;
  vars["S3_ENDPOINT"] = "http://user:pw@127.0.0.1:1";
  Env env(vars);
  auto o = S3OptionsFromLocation("s3://bucket/pre/fix", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  auto store = S3Store::Create(*o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Describe(), "s3://bucket/pre/fix");
  // Invalid keys are refused before any request.
  EXPECT_EQ((*store)->Put("../x", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->List("no-slash").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(S3StoreTest, UnreachableEndpointIsUnavailableWithoutSecrets) {
  auto vars = kCreds;
  vars["S3_ENDPOINT"] = "http://user:pw@127.0.0.1:1";
  vars["AWS_SESSION_TOKEN"] = "SeSsIoNtOkEn";
  Env env(vars);
  auto o = S3OptionsFromLocation("s3://bucket/p", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  o->max_attempts = 2;
  o->initial_backoff = absl::Milliseconds(1);
  auto store = S3Store::Create(*o);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status s = (*store)->Put("a/b.eml", "data");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  std::string m(s.message());
  EXPECT_THAT(m, HasSubstr("s3://bucket/p"));
  EXPECT_THAT(m, HasSubstr("http://127.0.0.1:1"));
  EXPECT_THAT(m, HasSubstr("a/b.eml"));
  for (const char* secret : {"SeCrEt", "SeSsIoNtOkEn", "pw"}) {
    EXPECT_THAT(m, Not(HasSubstr(secret))) << m;
  }
}

TEST(S3StoreTest, SpillFailureKillsTheWriterBeforeAnyRequest) {
  Env env(kCreds);
  auto o = S3OptionsFromLocation("s3://bucket/p", env.Fn());
  ASSERT_TRUE(o.ok()) << o.status();
  o->endpoint = "http://127.0.0.1:1";
  o->memory_buffer_bytes = 16;
  o->spill_dir = "/nonexistent/spill/dir";
  auto store = S3Store::Create(*o);
  ASSERT_TRUE(store.ok()) << store.status();
  auto writer = (*store)->NewWriter("k.eml");
  ASSERT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->Append("0123456789").ok());  // in memory
  absl::Status s = (*writer)->Append("0123456789");   // spills: fails
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("/nonexistent/spill/dir"));
  EXPECT_EQ((*writer)->Append("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(S3StoreTest, ObjectsOverFiveGibAreRefused) {
  Env env(kCreds);
  auto o = S3OptionsFromLocation("s3://bucket/p", env.Fn());
  ASSERT_TRUE(o.ok());
  auto store = S3Store::Create(*o);
  ASSERT_TRUE(store.ok());
  auto writer = (*store)->NewWriter("k.eml");
  ASSERT_TRUE(writer.ok());
  // The size is checked before the bytes are touched: a view claiming more than 5 GiB
  // (never dereferenced) is refused without buffering anything.
  char byte = 'x';
  absl::Status s = (*writer)->Append(absl::string_view(&byte, S3Store::kMaxPutBytes + 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("EntityTooLarge"));
  EXPECT_EQ((*writer)->bytes_written(), 0u);
}

}  // namespace
}  // namespace storage
