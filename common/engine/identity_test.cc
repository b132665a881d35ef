#include "common/engine/identity.h"

#include "absl/strings/str_cat.h"
#include "common/imap/message_repair.h"
#include "gtest/gtest.h"

namespace engine {
namespace {

const char kMessage[] =
    "Received: from mx.example.org\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.com>, Carol <carol@example.com>\r\n"
    "Subject: a rather long subject\r\n"
    " folded onto a second line\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <m@example.org>\r\n"
    "\r\n"
    "body\r\n";

TEST(HeaderDigestTest, SurvivesWhatServersDoOnAppend) {
  const std::string d = HeaderDigest(kMessage);
  const std::string m = kMessage;
  // Bare LF and bare CR line ends, a doubled conversion (CR CR LF).
  std::string lf = m, cr = m, crcrlf = m;
  for (std::string* s : {&lf, &cr, &crcrlf}) s->clear();
  for (char c : m) {
    if (c == '\r') continue;
    lf.push_back(c);
    cr.push_back(c == '\n' ? '\r' : c);
    if (c == '\n') crcrlf.append("\r\r");
    crcrlf.push_back(c);
  }
  EXPECT_EQ(HeaderDigest(lf), d);
  EXPECT_EQ(HeaderDigest(cr), d);
  EXPECT_EQ(HeaderDigest(crcrlf), d);
  // Fields added, removed, reordered; folding; a NUL byte; the body.
  EXPECT_EQ(HeaderDigest("X-Spam: no\r\n" + m), d);
  EXPECT_EQ(HeaderDigest(m.substr(m.find("From:"))), d);
  const std::string reordered =
      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nsubject: a rather long subject folded onto a "
      "second line\r\nFROM:Alice\r\n  <alice@example.org>\r\nTo: Bob <bob@example.com>,\r\n"
      "\tCarol <carol@example.com>\r\n\r\nanother body\r\n";
  EXPECT_EQ(HeaderDigest(reordered), d);
  std::string nul = m;
  nul.insert(nul.find("Alice"), 1, '\0');
  EXPECT_EQ(HeaderDigest(nul), d);
  // The repair of --fix-messages, folding every line (a fold inserted where no space was).
  imap::RepairOptions narrow{12};
  EXPECT_EQ(HeaderDigest(imap::RepairMessage(lf, narrow).bytes), d);
  // What B answers to BODY[HEADER.FIELDS (kDigestFields)]: those fields and an empty line.
  EXPECT_EQ(HeaderDigest("From: Alice <alice@example.org>\r\n"
                         "To: Bob <bob@example.com>, Carol <carol@example.com>\r\n"
                         "Subject: a rather long subject\r\n folded onto a second line\r\n"
                         "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n"),
            d);
}

TEST(HeaderDigestTest, TellsApartDifferentFields) {
  const std::string d = HeaderDigest(kMessage);
  const std::string m = kMessage;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = m;
    s.replace(s.find(from), from.size(), to);
    return HeaderDigest(s);
  };
  EXPECT_NE(replaced("a rather", "A rather"), d);  // case counts
  EXPECT_NE(replaced("alice@", "alicia@"), d);
  EXPECT_NE(replaced("22:13:20", "22:13:21"), d);
  EXPECT_NE(HeaderDigest("Cc: x@example.com\r\n" + m), d);
  EXPECT_NE(HeaderDigest("In-Reply-To: <p@example.org>\r\n" + m), d);
  // Not a field: a name with space before its colon, a line without colon.
  EXPECT_EQ(HeaderDigest("Subject : other\r\n" + m), d);
  // Only the header counts.
  EXPECT_EQ(replaced("body", "another body"), d);
  EXPECT_EQ(HeaderDigest(m + "Subject: in the body\r\n"), d);
}

TEST(HeaderDigestTest, SaysWhetherTheHeaderEnded) {
  bool ended = true;
  HeaderDigest("From: a@example.org\r\nSubject: cut", &ended);
  EXPECT_FALSE(ended);
  HeaderDigest(kMessage, &ended);
  EXPECT_TRUE(ended);
  HeaderDigest("From: a@example.org\n\n", &ended);
  EXPECT_TRUE(ended);
}

TEST(TextDigestTest, KeepsTheBodyThroughRewrites) {
  const std::string m = kMessage;
  const std::string d = TextDigest(m);
  std::string lf;
  for (char c : m) {
    if (c != '\r') lf.push_back(c);
  }
  EXPECT_EQ(TextDigest(lf), d);
  EXPECT_EQ(TextDigest("X-Added: yes\r\n" + m), d);
  EXPECT_EQ(TextDigest(m.substr(m.find("From:"))), d);
  EXPECT_EQ(TextDigest(imap::RepairMessage(lf, imap::RepairOptions{3}).bytes), d);
  EXPECT_NE(TextDigest(m + "more\r\n"), d);
  EXPECT_NE(TextDigest(m.substr(0, m.size() - 3) + "X\r\n"), d);
  // The header's end as HeaderDigest sees it: a lone CR ends a line, a second one an empty
  // line; CRs before a LF end one line.
  EXPECT_EQ(TextDigest("A: b\r\rbody"), TextDigest("A: b\r\n\r\nbody"));
  EXPECT_EQ(TextDigest("A: b\rC: d\r\r\n\nbody"), TextDigest("A: b\nC: d\n\nbody"));
  EXPECT_NE(TextDigest("A: b\rbody"), TextDigest("A: b\r\n\r\nbody"));
  // In pieces, split anywhere.
  for (size_t cut = 0; cut <= lf.size(); ++cut) {
    TextDigester t;
    t.Update(absl::string_view(lf).substr(0, cut));
    t.Update(absl::string_view(lf).substr(cut));
    ASSERT_EQ(t.Finish(), d) << cut;
  }
}

const char kDate[] = "14-Nov-2023 22:13:20 +0000";

MessageMeta Meta(const std::string& bytes, const std::string& message_id,
                 const std::string& date = kDate) {
  MessageMeta m;
  m.internaldate = date;
  m.size = bytes.size();
  m.sha256 = absl::StrCat("sha-of-", bytes);
  m.message_id = message_id;
  m.header_digest = HeaderDigest(bytes);
  return m;
}

TargetMessage OnB(uint32_t uid, const MessageMeta& m) {
  TargetMessage t;
  t.uid = uid;
  t.size = m.size;
  t.key = IdentityKey(m.message_id, m.size, m.internaldate);
  return t;
}

struct Outcome {
  std::vector<std::string> missing;  // base names
  std::vector<TargetMessage> extra;
  FolderResult r;
};
Outcome DiffOf(const IdentityMatch& match) {
  Outcome o;
  std::vector<std::pair<std::string, MessageMeta>> missing;
  match.Diff(&missing, &o.extra, &o.r);
  for (const auto& entry : missing) o.missing.push_back(entry.first);
  return o;
}

const std::string kDraft1 = "Subject: draft\r\nMessage-ID: <d@x>\r\n\r\nfirst\r\n";
const std::string kDraft2 = "Subject: draft\r\nMessage-ID: <d@x>\r\n\r\nsecond, longer\r\n";
const std::string kList1 = "Subject: [list] x\r\nMessage-ID: <l@x>\r\n\r\nsame\r\n";
const std::string kList2 = "Subject: [LIST] x\r\nMessage-ID: <l@x>\r\n\r\nsame\r\n";

TEST(IdentityMatchTest, IdenticalCopiesCountEachAndNeedNothingMore) {
  const MessageMeta m = Meta(kDraft1, "<d@x>");
  IdentityMatch match({{"1-01", m}, {"1-02", m}, {"1-03", m}}, {OnB(7, m)});
  EXPECT_FALSE(match.ambiguous());
  EXPECT_TRUE(match.TargetDigestsNeeded().empty());
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-02", "1-03"}));
  EXPECT_TRUE(o.extra.empty());
  EXPECT_EQ(o.r.missing, 2u);
  EXPECT_EQ(o.r.target_messages, 1u);
}

TEST(IdentityMatchTest, TwinsAreToldApartByTheirDigestAndSize) {
  const MessageMeta d1 = Meta(kDraft1, "<d@x>"), d2 = Meta(kDraft2, "<d@x>");
  const MessageMeta l1 = Meta(kList1, "<l@x>"), l2 = Meta(kList2, "<l@x>");
  // B holds the second twin of each, twice: each coarse count agrees with the export's.
  IdentityMatch match({{"1-01", d1}, {"1-02", d2}, {"1-03", l1}, {"1-04", l2}},
                      {OnB(11, d2), OnB(12, d2), OnB(13, l2), OnB(14, l2)});
  ASSERT_TRUE(match.ambiguous());
  EXPECT_TRUE(match.LocalDigestsNeeded().empty());
  EXPECT_EQ(match.TargetDigestsNeeded(), (std::vector<uint32_t>{11, 12, 13, 14}));
  for (uint32_t uid : {11u, 12u}) match.SetTargetDigest(uid, d2.header_digest, d2.size);
  for (uint32_t uid : {13u, 14u}) match.SetTargetDigest(uid, l2.header_digest, l2.size);
  EXPECT_TRUE(match.TargetBytesNeeded().empty());
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01", "1-03"}));
  EXPECT_EQ(o.extra.size(), 2u);
  EXPECT_EQ(o.r.extra, 2u);
}

TEST(IdentityMatchTest, RewrittenTwinsMatchTheirDigestClosestSizeFirst) {
  const MessageMeta d1 = Meta(kDraft1, "<d@x>"), d2 = Meta(kDraft2, "<d@x>");
  // B holds only the second draft, rewritten (a header added: larger, closer to d2's size).
  IdentityMatch match({{"1-01", d1}, {"1-02", d2}}, {OnB(5, d1)});
  ASSERT_TRUE(match.ambiguous());
  match.SetTargetDigest(5, d2.header_digest, d2.size + 20);
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01"}));
  EXPECT_TRUE(o.extra.empty());
  // One whose digest matches none (B rewrote the compared fields) fills the copy left over
  // closest in size; a surplus copy of a content it does match is extra.
  IdentityMatch other({{"1-01", d1}, {"1-02", d2}}, {OnB(5, d1), OnB(6, d1), OnB(7, d1)});
  other.SetTargetDigest(5, HeaderDigest("Subject: rewritten\r\n\r\n"), d1.size + 1);
  other.SetTargetDigest(6, d2.header_digest, d2.size);
  other.SetTargetDigest(7, d2.header_digest, d2.size);
  Outcome o2 = DiffOf(other);
  EXPECT_TRUE(o2.missing.empty());
  ASSERT_EQ(o2.extra.size(), 1u);
  EXPECT_NE(o2.extra[0].uid, 5u);
}

TEST(IdentityMatchTest, RewrittenTwinsAreToldApartByTheirBodies) {
  // R2 had a trace field B dropped: its size on B is closer to R1's than to its own.
  const std::string r1 = "Subject: r\r\nMessage-ID: <r@x>\r\n\r\nfirst\r\n";
  const std::string r2 =
      "Received: from a long way away\r\nSubject: r\r\nMessage-ID: <r@x>\r\n\r\nsecond\r\n";
  const std::string on_b = r2.substr(r2.find("Subject"));
  const MessageMeta m1 = Meta(r1, "<r@x>"), m2 = Meta(r2, "<r@x>");
  IdentityMatch match({{"1-01", m1}, {"1-02", m2}}, {OnB(8, m1)});
  match.SetTargetDigest(8, HeaderDigest(on_b), on_b.size());
  EXPECT_EQ(match.TargetBytesNeeded(), (std::vector<uint32_t>{8}));
  match.SetTargetBytes(8, "sha-of-what-B-holds", TextDigest(on_b));
  EXPECT_EQ(match.LocalTextsNeeded(), (std::vector<std::string>{"1-01", "1-02"}));
  match.SetLocalText("1-01", TextDigest(r1));
  match.SetLocalText("1-02", TextDigest(r2));
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01"}));
  EXPECT_TRUE(o.extra.empty());
}

TEST(IdentityMatchTest, SameDigestAndSizeAreToldApartByTheirBytes) {
  // No Message-ID: the same date, headers and size; the bodies differ.
  const std::string a = "Subject: no id\r\n\r\nbody A\r\n", b = "Subject: no id\r\n\r\nbody B\r\n";
  const MessageMeta ma = Meta(a, ""), mb = Meta(b, "");
  IdentityMatch match({{"1-01", ma}, {"1-02", mb}}, {OnB(3, mb), OnB(4, mb)});
  ASSERT_TRUE(match.ambiguous());
  for (uint32_t uid : {3u, 4u}) match.SetTargetDigest(uid, mb.header_digest, mb.size);
  EXPECT_EQ(match.TargetBytesNeeded(), (std::vector<uint32_t>{3, 4}));
  for (uint32_t uid : {3u, 4u}) match.SetTargetBytes(uid, mb.sha256, TextDigest(b));
  EXPECT_TRUE(match.LocalTextsNeeded().empty());  // the same bytes: nothing more to read
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01"}));
  EXPECT_EQ(o.extra.size(), 1u);
}

TEST(IdentityMatchTest, OlderExportsGetTheirDigestsFromTheCaller) {
  MessageMeta d1 = Meta(kDraft1, "<d@x>"), d2 = Meta(kDraft2, "<d@x>");
  const std::string digest2 = d2.header_digest;
  d1.header_digest.clear();
  d2.header_digest.clear();
  const MessageMeta other = Meta(kList1, "<l@x>");
  MessageMeta undigested_other = other;
  undigested_other.header_digest.clear();
  IdentityMatch match({{"1-01", d1}, {"1-02", d2}, {"1-03", undigested_other}}, {OnB(9, d2)});
  // Only the ambiguous identity's messages are asked for.
  EXPECT_EQ(match.LocalDigestsNeeded(), (std::vector<std::string>{"1-01", "1-02"}));
  match.SetLocalDigest("1-01", HeaderDigest(kDraft1));
  match.SetLocalDigest("1-02", digest2);
  match.SetTargetDigest(9, digest2, d2.size);
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01", "1-03"}));
  EXPECT_TRUE(o.extra.empty());
}

TEST(IdentityMatchTest, AnIdentityBHoldsNoneOfIsMissingWholeWithoutQuestions) {
  const MessageMeta d1 = Meta(kDraft1, "<d@x>"), d2 = Meta(kDraft2, "<d@x>");
  const MessageMeta l1 = Meta(kList1, "<l@x>");
  IdentityMatch match({{"1-01", d1}, {"1-02", d2}, {"1-03", l1}}, {OnB(1, l1)});
  EXPECT_FALSE(match.ambiguous());
  Outcome o = DiffOf(match);
  EXPECT_EQ(o.missing, (std::vector<std::string>{"1-01", "1-02"}));
}

TEST(IdentityMatchTest, UndatedMessagesMatchAnyDateAfterTheDatedOnes) {
  const MessageMeta dated = Meta(kDraft1, "<d@x>");
  MessageMeta undated = dated;
  undated.internaldate = "";
  TargetMessage b1 = OnB(1, dated), b2 = OnB(2, dated);
  b2.key = IdentityKey("<d@x>", 0, "01-Jan-2025 00:00:00 +0000");  // B chose the date
  IdentityMatch match({{"1-01", undated}, {"1-02", dated}}, {b2, b1});
  Outcome o = DiffOf(match);
  EXPECT_TRUE(o.missing.empty());
  EXPECT_TRUE(o.extra.empty());
}

}  // namespace
}  // namespace engine
