// SigV4 against the worked examples of the Amazon S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk").
#include "common/storage/s3_sigv4.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace storage {
namespace s3 {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

const Credentials kDocCredentials = {"AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";
constexpr char kDate[] = "20130524T000000Z";

TEST(UriEncodeTest, KeepsOnlyUnreservedBytes) {
  EXPECT_EQ(UriEncode("AZaz09-._~", true), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b+c*d(e)f%g!h'i", true), "a%20b%2Bc%2Ad%28e%29f%25g%21h%27i");
  EXPECT_EQ(UriEncode("a/b/c", false), "a/b/c");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("R\xc3\xa9sum\xc3\xa9", false), "R%C3%A9sum%C3%A9");
  EXPECT_EQ(UriEncode("=&?#", true), "%3D%26%3F%23");
}

TEST(CanonicalQueryStringTest, EncodesAndSorts) {
  EXPECT_EQ(CanonicalQueryString({}), "");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "J"}, {"max-keys", "2"}}), "max-keys=2&prefix=J");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "a b/c+d"}, {"list-type", "2"}}),
            "list-type=2&prefix=a%20b%2Fc%2Bd");
  // Sorted by encoded name, then by value.
  EXPECT_EQ(CanonicalQueryString({{"b", "2"}, {"a", "z"}, {"b", "1"}}), "a=z&b=1&b=2");
}

TEST(AmzDateTest, FormatsUtc) { EXPECT_EQ(AmzDate(absl::FromUnixSeconds(1369353600)), kDate); }

TEST(SigV4Test, GetObjectDocExample) {
  SigningRequest req;
  req.method = "GET";
  req.canonical_uri = "/test.txt";
  req.payload_hash = kEmptyPayloadSha256;
  req.headers = {{"Host", kHost},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", kEmptyPayloadSha256},
                 {"x-amz-date", kDate}};
  EXPECT_EQ(
      CanonicalRequest(req),
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(StringToSign(kDate, CredentialScope(kDate, "us-east-1", "s3"), CanonicalRequest(req)),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(AuthorizationHeader(req, kDocCredentials, "us-east-1", "s3"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, PutObjectDocExample) {
  SigningRequest req;
  req.method = "PUT";
  req.canonical_uri = "/" + UriEncode("test$file.text", false);
  req.payload_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  req.headers = {{"Host", kHost},
                 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-date", kDate},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                 {"x-amz-content-sha256", req.payload_hash}};
  EXPECT_EQ(req.canonical_uri, "/test%24file.text");
  EXPECT_THAT(AuthorizationHeader(req, kDocCredentials, "us-east-1", "s3"),
              EndsWith("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                       "x-amz-storage-class,Signature="
                       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST(SigV4Test, ListObjectsDocExample) {
  SigningRequest req;
  req.method = "GET";
  req.canonical_uri = "/";
  req.query = {{"prefix", "J"}, {"max-keys", "2"}};
  req.payload_hash = kEmptyPayloadSha256;
  req.headers = {
      {"host", kHost}, {"x-amz-content-sha256", kEmptyPayloadSha256}, {"x-amz-date", kDate}};
  EXPECT_THAT(
      AuthorizationHeader(req, kDocCredentials, "us-east-1", "s3"),
      EndsWith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

TEST(SigV4Test, LifecycleDocExampleValuelessParameter) {
  SigningRequest req;
  req.method = "GET";
  req.canonical_uri = "/";
  req.query = {{"lifecycle", ""}};
  req.payload_hash = kEmptyPayloadSha256;
  req.headers = {
      {"host", kHost}, {"x-amz-content-sha256", kEmptyPayloadSha256}, {"x-amz-date", kDate}};
  EXPECT_THAT(
      AuthorizationHeader(req, kDocCredentials, "us-east-1", "s3"),
      EndsWith("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

TEST(SigV4Test, HeaderValuesTrimmedAndSecretNeverShown) {
  SigningRequest req;
  req.method = "GET";
  req.canonical_uri = "/k";
  req.payload_hash = kUnsignedPayload;
  req.headers = {{"host", "h"},
                 {"x-amz-content-sha256", kUnsignedPayload},
                 {"x-amz-date", kDate},
                 {"x-amz-meta-a", "  one   two  "},
                 {"X-Amz-Security-Token", "TOKEN"}};
  EXPECT_THAT(CanonicalRequest(req), HasSubstr("\nx-amz-meta-a:one two\n"));
  EXPECT_EQ(SignedHeaders(req),
            "host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-security-token");
  Credentials creds = {"AKID", "SECRET-KEY-MATERIAL", "TOKEN"};
  std::string auth = AuthorizationHeader(req, creds, "eu-west-1", "s3");
  EXPECT_THAT(auth, Not(HasSubstr("SECRET-KEY-MATERIAL")));
  EXPECT_THAT(auth, HasSubstr("Credential=AKID/20130524/eu-west-1/s3/aws4_request,"));
}

TEST(HmacTest, Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace s3
}  // namespace storage
