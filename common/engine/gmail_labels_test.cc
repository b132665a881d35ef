// Gmail labels alone: the label each folder of a Gmail server stands for, labels between
// the wire (modified UTF-7) and the export (UTF-8), and where a labelled message goes on
// server B.
#include "common/engine/gmail_labels.h"

#include "gtest/gtest.h"

namespace engine {
namespace {

TEST(GmailLabelsTest, FoldersStandForLabels) {
  EXPECT_EQ(GmailLabelOf({"INBOX"}, ""), "\\Inbox");
  EXPECT_EQ(GmailLabelOf({"Inbox"}, ""), "\\Inbox");
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Sent Mail"}, "\\Sent"), "\\Sent");
  EXPECT_EQ(GmailLabelOf({"[Google Mail]", "Gesendet"}, "\\sent"), "\\Sent");  // localized
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Drafts"}, "\\Drafts"), "\\Draft");
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Important"}, "\\Important"), "\\Important");
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Starred"}, "\\Flagged"), "\\Starred");
  // Not labels: All Mail holds everything, Trash and Spam are folders of their own.
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "All Mail"}, "\\All"), "");
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Trash"}, "\\Trash"), "");
  EXPECT_EQ(GmailLabelOf({"[Gmail]", "Spam"}, "\\Junk"), "");
  // User labels: the name, nested levels joined by '/' whatever the server's delimiter.
  EXPECT_EQ(GmailLabelOf({"Work"}, ""), "Work");
  EXPECT_EQ(GmailLabelOf({"Work", "2024", "Société"}, ""), "Work/2024/Société");
  EXPECT_EQ(GmailLabelOf({"Projects"}, "\\Archive"), "Projects");
}

TEST(GmailLabelsTest, LabelsBetweenWireAndExport) {
  EXPECT_EQ(GmailLabelFromWire("\\Inbox"), "\\Inbox");
  EXPECT_EQ(GmailLabelFromWire("Soci&AOk-t&AOk-/2024"), "Société/2024");
  EXPECT_EQ(GmailLabelFromWire("Muy Importante"), "Muy Importante");
  EXPECT_EQ(GmailLabelFromWire("bad&-&"), "bad&-&");  // not modified UTF-7: kept as sent
  EXPECT_EQ(GmailLabelToWire("Société/2024"), "Soci&AOk-t&AOk-/2024");
  EXPECT_EQ(GmailLabelToWire("\\Starred"), "\\Starred");
  EXPECT_TRUE(SameGmailLabel("\\Inbox", "\\INBOX"));
  EXPECT_FALSE(SameGmailLabel("Work", "work"));
  EXPECT_FALSE(SameGmailLabel("\\Inbox", "Inbox"));  // a user label named Inbox is another
}

TEST(GmailLabelsTest, MessagesArePlacedByTheirLabels) {
  GmailPlacement p;
  // INBOX, [Gmail]/All Mail, Work, [Gmail]/Sent Mail, [Gmail]/Trash (a folder of its own).
  p.labels = {"\\Inbox", "", "Work", "\\Sent", ""};
  p.all_mail = 1;
  EXPECT_EQ(p.Place({"\\Inbox", "Work"}), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(p.Place({"\\inbox", "\\Important"}), (std::vector<size_t>{0}));
  EXPECT_EQ(p.Place({"\\Sent"}), (std::vector<size_t>{3}));
  // Archived (no label), or only labels without an imported folder: All Mail.
  EXPECT_EQ(p.Place({}), (std::vector<size_t>{1}));
  EXPECT_EQ(p.Place({"Hidden label", "\\Important"}), (std::vector<size_t>{1}));
  // A Gmail target: All Mail holds every message, the labels are set there.
  p.gmail_target = true;
  EXPECT_EQ(p.Place({"\\Inbox", "Work"}), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(p.Place({}), (std::vector<size_t>{1}));
  // All Mail not imported (left out by the selection): archived messages go nowhere.
  p.gmail_target = false;
  p.all_mail = SIZE_MAX;
  EXPECT_TRUE(p.Place({}).empty());
  EXPECT_EQ(p.Place({"Work"}), (std::vector<size_t>{2}));
}

}  // namespace
}  // namespace engine
