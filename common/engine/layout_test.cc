#include "common/engine/layout.h"

#include <random>

#include "gtest/gtest.h"

namespace engine {
namespace {

TEST(LayoutTest, EscapesWhatIsUnsafeAndRoundTrips) {
  EXPECT_EQ(EscapeComponent("INBOX"), "INBOX");
  EXPECT_EQ(EscapeComponent(".."), "%2E.");
  EXPECT_EQ(EscapeComponent("."), "%2E");
  EXPECT_EQ(EscapeComponent(""), "%-");
  EXPECT_EQ(EscapeComponent("a/b"), "a%2Fb");
  EXPECT_EQ(EscapeComponent("100%"), "100%25");
  EXPECT_EQ(EscapeComponent("x.eml"), "x%2Eeml");
  EXPECT_EQ(EscapeComponent("a.b"), "a.b");
  EXPECT_EQ(EscapeComponent("R\xC3\xA9sum\xC3\xA9"), "R\xC3\xA9sum\xC3\xA9");
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    std::string e = EscapeComponent(s);
    EXPECT_EQ(e.find('/'), std::string::npos);
    EXPECT_NE(e, ".");
    EXPECT_NE(e, "..");
    EXPECT_NE(e[0], '.');
    auto back = UnescapeComponent(e);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
}

TEST(LayoutTest, LongComponentsAreCutWithAHash) {
  std::string a(300, 'x'), b = a;
  b[299] = 'y';
  std::string ea = EscapeComponent(a), eb = EscapeComponent(b);
  EXPECT_LE(ea.size(), 220u);
  EXPECT_NE(ea, eb);
}

TEST(LayoutTest, FolderPathsAndMessageNames) {
  EXPECT_EQ(FolderPath("Parent.Child", '.'), "Parent/Child");
  EXPECT_EQ(FolderPath("a/../../b", '/'), "a/%2E./%2E./b");
  EXPECT_EQ(FolderPath("flat/name", 0), "flat%2Fname");
  EXPECT_EQ(MessageBase(1700000000, 42), "1700000000-0000000042");
  uint64_t v;
  uint32_t uid;
  EXPECT_TRUE(ParseMessageBase("1700000000-0000000042", &v, &uid));
  EXPECT_EQ(v, 1700000000u);
  EXPECT_EQ(uid, 42u);
  EXPECT_FALSE(ParseMessageBase("incoming", &v, &uid));
  EXPECT_FALSE(ParseMessageBase("1-42", &v, &uid));
}

TEST(LayoutTest, MetadataJsonRoundTrips) {
  MessageMeta m;
  m.flags = {"\\Seen", "$Forwarded"};
  m.internaldate = "01-Jan-2024 00:00:00 +0000";
  m.size = 123;
  m.sha256 = "ab";
  m.message_id = "<x@y>";
  m.uidvalidity = 9;
  m.uid = 3;
  auto back = MessageMetaFromJson(MessageMetaToJson(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->flags, m.flags);
  EXPECT_EQ(back->uid, 3u);
  FolderMeta f;
  f.name = "Sent";
  f.raw_name = "Sent";
  f.claimed[5] = "1-0000000001";
  auto fb = FolderMetaFromJson(FolderMetaToJson(f));
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(fb->claimed.at(5), "1-0000000001");
  EXPECT_TRUE(absl::IsDataLoss(FolderMetaFromJson("{not json").status()));
}

// The Gmail fields are optional: absent unless set (a .json without them is as before), and
// the message id, above 2^53, is written as a string of digits.
TEST(LayoutTest, GmailFieldsAreOptionalAndRoundTrip) {
  MessageMeta m;
  m.internaldate = "01-Jan-2024 00:00:00 +0000";
  m.size = 5;
  const std::string plain = MessageMetaToJson(m);
  EXPECT_EQ(plain.find("gmail"), std::string::npos) << plain;
  auto none = MessageMetaFromJson(plain);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->gmail_msgid.has_value());
  EXPECT_FALSE(none->gmail_labels.has_value());
  m.gmail_msgid = uint64_t{1278455344230334865u};
  m.gmail_labels = std::vector<std::string>{"\\Inbox", "Société/2024"};
  const std::string json = MessageMetaToJson(m);
  EXPECT_NE(json.find("\"1278455344230334865\""), std::string::npos) << json;
  auto back = MessageMetaFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->gmail_msgid, m.gmail_msgid);
  EXPECT_EQ(back->gmail_labels, m.gmail_labels);
  m.gmail_labels = std::vector<std::string>{};  // no label: an empty list, not absent
  back = MessageMetaFromJson(MessageMetaToJson(m));
  ASSERT_TRUE(back.ok() && back->gmail_labels.has_value());
  EXPECT_TRUE(back->gmail_labels->empty());

  FolderMeta f;
  f.name = f.raw_name = "INBOX";
  EXPECT_EQ(FolderMetaToJson(f).find("gmail"), std::string::npos);
  f.gmail_label = "\\Inbox";
  auto fb = FolderMetaFromJson(FolderMetaToJson(f));
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(fb->gmail_label, "\\Inbox");
  EXPECT_FALSE(fb->gmail_all_mail);
  f.gmail_label.clear();
  f.gmail_all_mail = true;
  fb = FolderMetaFromJson(FolderMetaToJson(f));
  ASSERT_TRUE(fb.ok());
  EXPECT_TRUE(fb->gmail_all_mail);
}

TEST(LayoutTest, HeaderDigestIsAnOptionalField) {
  MessageMeta m;
  m.internaldate = "01-Jan-2024 00:00:00 +0000";
  m.size = 5;
  m.sha256 = "ab";
  m.uid = 1;
  // Not written when unknown, so an export reads as before.
  EXPECT_EQ(MessageMetaToJson(m).find("header_digest"), std::string::npos);
  m.header_digest = "cd";
  auto back = MessageMetaFromJson(MessageMetaToJson(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->header_digest, "cd");
  // A .json written before the field existed.
  auto old = MessageMetaFromJson(
      R"({"flags": [], "internaldate": "01-Jan-2024 00:00:00 +0000", "size": 5, "sha256": "ab",
          "message_id": "<x@y>", "source": {"uidvalidity": 9, "uid": 1}})");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->header_digest, "");
  EXPECT_EQ(old->message_id, "<x@y>");
}

TEST(LayoutTest, RefusalRecordRoundTripsWithKeywordEntries) {
  RefusalRecord r;
  r.target = "imap.example.com:993";
  RefusedEntry refused{"INBOX", "a@x/INBOX/", "9-0000000004", {}};
  refused.message.uid = 4;
  refused.message.kind = "too big";
  refused.message.reason = "NO [LIMIT] Mail size is larger than the maximum size allowed";
  RefusedEntry kept{"Tags", "a@x/Tags/", "9-0000000007", {}};
  kept.message.uid = 7;
  kept.message.kind = "keywords dropped";
  kept.message.keywords = {"$Extra1", "$Extra2"};
  r.entries = {refused, kept};
  const std::string json = RefusalRecordToJson(r);
  auto back = RefusalRecordFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_TRUE(back->entries[0].message.keywords.empty());
  EXPECT_EQ(back->entries[0].message.reason, refused.message.reason);
  EXPECT_EQ(back->entries[1].base, "9-0000000007");
  EXPECT_EQ(back->entries[1].message.keywords, kept.message.keywords);
}

}  // namespace
}  // namespace engine
