// The S3 XML reader: ListObjectsV2 pages, error bodies, entities, malformed input.
#include "common/storage/s3_xml.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace storage {
namespace s3 {
namespace {

using ::testing::HasSubstr;

TEST(XmlUnescapeTest, PredefinedAndNumericEntities) {
  EXPECT_EQ(*XmlUnescape("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"), "a & b <c> \"d\" 'e'");
  EXPECT_EQ(*XmlUnescape("&#233;&#xE9;&#x1F600;"), "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(*XmlUnescape("&amp;amp;"), "&amp;");
  EXPECT_EQ(*XmlUnescape(""), "");
  EXPECT_FALSE(XmlUnescape("&nbsp;").ok());
  EXPECT_FALSE(XmlUnescape("a & b").ok());
  EXPECT_FALSE(XmlUnescape("&#0;").ok());
  EXPECT_FALSE(XmlUnescape("&#xD800;").ok());
  EXPECT_FALSE(XmlUnescape("&#x110000;").ok());
}

constexpr char kPage[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix>p/</Prefix>
  <!-- a comment with <Key>not-a-key</Key> -->
  <KeyCount>3</KeyCount>
  <MaxKeys>3</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>p/a &amp; b &lt;1&gt;.eml</Key>
    <LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;0123&quot;</ETag>
    <Size>42</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Key>p/R&#xE9;sum&#233; it&apos;s 100% +~*(x).json</Key><Size>0</Size></Contents>
  <Contents>
    <Key><![CDATA[p/cdata <raw> & text]]></Key>
    <Size>18446744073709551615</Size>
    <Owner><ID>x</ID><DisplayName/></Owner>
  </Contents>
</ListBucketResult>
)";

TEST(ParseListObjectsV2Test, KeysSizesTruncationToken) {
  auto page = ParseListObjectsV2(kPage);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 3u);
  EXPECT_EQ(page->objects[0].key, "p/a & b <1>.eml");
  EXPECT_EQ(page->objects[0].size, 42u);
  EXPECT_EQ(page->objects[1].key, "p/R\xc3\xa9sum\xc3\xa9 it's 100% +~*(x).json");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_EQ(page->objects[2].key, "p/cdata <raw> & text");
  EXPECT_EQ(page->objects[2].size, 18446744073709551615ull);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(ParseListObjectsV2Test, EmptyLastPage) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>"
      "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(ParseListObjectsV2Test, RejectsMalformedDocuments) {
  const char* bad[] = {
      "",
      "<Error><Code>AccessDenied</Code></Error>",
      "<ListBucketResult><Contents><Key>k</Key></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a &bogus; b</Key></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k",
      "<ListBucketResult></ListBucketResult>trailing",
      "<ListBucketResult><Key attr=\"unterminated></ListBucketResult>",
      "<ListBucketResult><!-- unterminated </ListBucketResult>",
  };
  for (const char* xml : bad) {
    EXPECT_FALSE(ParseListObjectsV2(xml).ok()) << xml;
  }
}

TEST(WalkXmlTest, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < kMaxXmlDepth + 1; ++i) deep += "<a>";
  for (int i = 0; i < kMaxXmlDepth + 1; ++i) deep += "</a>";
  absl::Status s = WalkXml(deep, [](const auto&, const auto&) {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("nested too deep"));
}

TEST(WalkXmlTest, AttributesWithAngleBracketsAndSelfClosing) {
  std::vector<std::string> seen;
  absl::Status s = WalkXml("<r a=\"x>y\" b='>'><e/><f k='v' /></r>",
                           [&](const std::vector<std::string>& path, const std::string&) {
                             seen.push_back(path.back());
                           });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, (std::vector<std::string>{"e", "f", "r"}));
}

TEST(ParseErrorBodyTest, CodeAndMessage) {
  ErrorBody e = ParseErrorBody(
      "<?xml version=\"1.0\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key "
      "does not exist &amp; never did.</Message><Key>a/b</Key></Error>");
  EXPECT_EQ(e.code, "NoSuchKey");
  EXPECT_EQ(e.message, "The specified key does not exist & never did.");
  EXPECT_EQ(ParseErrorBody("").code, "");
  EXPECT_EQ(ParseErrorBody("<html><body>502 Bad Gateway</body></html>").code, "");
  EXPECT_EQ(ParseErrorBody("<Error><Code>Truncated").code, "");
}

}  // namespace
}  // namespace s3
}  // namespace storage
