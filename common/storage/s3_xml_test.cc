// The S3 XML reader: ListObjectsV2 pages, error bodies, entities, malformed input.
#include "common/storage/s3_xml.h"

#include <cstring>
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
  EXPECT_FALSE(XmlUnescape("&#1;").ok());  // not an XML character
  EXPECT_FALSE(XmlUnescape("a <b/> c").ok());
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

std::string Nested(int depth, const std::string& inner = "") {
  std::string xml;
  for (int i = 0; i < depth; ++i) xml += "<a>";
  xml += inner;
  for (int i = 0; i < depth; ++i) xml += "</a>";
  return xml;
}

TEST(WalkXmlTest, DepthIsBounded) {
  EXPECT_TRUE(WalkXml(Nested(kMaxXmlDepth), [](const auto&, const auto&) {}).ok());
  absl::Status s = WalkXml(Nested(kMaxXmlDepth + 1), [](const auto&, const auto&) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("nested deeper than 32 elements at line 1"));
  // Far deeper, and self-closing at the limit (expat reports its end even after the stop).
  EXPECT_FALSE(WalkXml(Nested(100000), [](const auto&, const auto&) {}).ok());
  std::string self_closing = Nested(kMaxXmlDepth, "<b/>");
  EXPECT_THAT(std::string(WalkXml(self_closing, [](const auto&, const auto&) {}).message()),
              HasSubstr("nested deeper"));
}

// "Billion laughs": ten levels of ten references would expand to 10^10 bytes.
constexpr char kBillionLaughs[] = R"(<?xml version="1.0"?>
<!DOCTYPE ListBucketResult [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<ListBucketResult><Contents><Key>&lol9;</Key><Size>1</Size></Contents></ListBucketResult>
)";

TEST(WalkXmlTest, RefusesDtdsAndEntityDeclarations) {
  auto page = ParseListObjectsV2(kBillionLaughs);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(page.status().message()),
              HasSubstr("document type declaration (DTD) not allowed at line 2"));
  // An external entity (would read a local file) and an external DTD are refused alike.
  const char* external[] = {
      "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
      "<!DOCTYPE r SYSTEM \"http://example.com/r.dtd\"><r/>",
      "<!DOCTYPE r><r/>",
  };
  for (const char* xml : external) {
    absl::Status s = WalkXml(xml, [](const auto&, const auto&) {});
    EXPECT_THAT(std::string(s.message()), HasSubstr("(DTD) not allowed")) << xml;
  }
  // Without a DTD an entity is simply undefined.
  EXPECT_THAT(std::string(ParseListObjectsV2("<ListBucketResult><Contents><Key>&lol9;</Key>"
                                             "</Contents></ListBucketResult>")
                              .status()
                              .message()),
              HasSubstr("undefined entity"));
  EXPECT_EQ(ParseErrorBody(kBillionLaughs).code, "");
}

TEST(WalkXmlTest, TruncatedDocumentsFailWithTheirPosition) {
  std::string page = kPage;
  // Every proper prefix that cuts into the root element is an error, never a shorter page.
  size_t root_end = page.rfind("</ListBucketResult>") + strlen("</ListBucketResult>");
  for (size_t n = 0; n < root_end; ++n) {
    EXPECT_FALSE(ParseListObjectsV2(page.substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(ParseListObjectsV2(page.substr(0, root_end)).ok());
  absl::Status s = ParseListObjectsV2(page.substr(0, page.find("<Size>42"))).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("malformed XML: no element found at line"));
}

TEST(WalkXmlTest, TextOfOneElementIsBounded) {
  std::string key(kMaxXmlText, 'k');
  auto ok = ParseListObjectsV2(absl::StrCat("<ListBucketResult><Contents><Key>", key,
                                            "</Key></Contents></ListBucketResult>"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->objects[0].key.size(), kMaxXmlText);
  // One byte more, also when it comes as entities or CDATA pieces.
  for (const std::string& extra :
       {std::string("k"), std::string("&amp;"), std::string("<![CDATA[k]]>")}) {
    auto big = ParseListObjectsV2(absl::StrCat("<ListBucketResult><Contents><Key>", key, extra,
                                               "</Key></Contents></ListBucketResult>"));
    ASSERT_FALSE(big.ok()) << extra;
    EXPECT_THAT(std::string(big.status().message()),
                HasSubstr("text of <Key> longer than 1048576 bytes"));
  }
  // The error shows the start of a long element name, not all of it.
  std::string name(100000, 'n');
  absl::Status s =
      WalkXml(absl::StrCat("<", name, ">", key, "x</", name, ">"), [](const auto&, const auto&) {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("text of <nnnn"));
  EXPECT_LT(s.message().size(), 200u);
}

TEST(ParseListObjectsV2Test, KeyWithRawControlBytesIsKeptForTheStoreToSkip) {
  constexpr char kRaw[] =
      "<ListBucketResult><Contents><Key>p/a\x01"
      "b\x00"
      "c</Key><Size>1</Size></Contents>"
      "<Contents><Key>p/ok</Key><Size>2</Size></Contents></ListBucketResult>";
  auto page = ParseListObjectsV2(std::string(kRaw, sizeof(kRaw) - 1));
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key,
            "p/a\x7f"
            "b\x7f"
            "c");
  EXPECT_FALSE(ValidateKey(page->objects[0].key).ok());
  EXPECT_EQ(page->objects[1].key, "p/ok");
}

TEST(WalkXmlTest, OtherEncodingsAreReadAsUtf8) {
  std::vector<std::string> texts;
  absl::Status s = WalkXml("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>R\xe9sum\xe9</r>",
                           [&](const auto&, const std::string& t) { texts.push_back(t); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(texts, (std::vector<std::string>{"R\xc3\xa9sum\xc3\xa9"}));
  EXPECT_FALSE(WalkXml("<r>\xff\xfe</r>", [](const auto&, const auto&) {}).ok());  // not UTF-8
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
