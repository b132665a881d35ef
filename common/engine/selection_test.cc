// The selection's rules alone: folders by regex and special use, the UID SEARCH sent to
// server A, the same test on exported metadata, the config's checks and the ages.
#include "common/engine/selection.h"

#include "absl/time/time.h"
#include "common/config/selection.h"
#include "gtest/gtest.h"

namespace {

TEST(SelectorTest, FoldersByRegexAndSpecialUse) {
  config::Selection s;
  s.include_folders = "^(INBOX|Projects/)";
  s.exclude_folders = "(?i)/old$";
  s.skip_special_use = {"\\Junk", "\\trash"};
  engine::Selector sel(s);
  std::string why;
  EXPECT_TRUE(sel.FolderSelected("INBOX", ""));
  EXPECT_TRUE(sel.FolderSelected("Projects/Größe", ""));  // UTF-8 names
  EXPECT_FALSE(sel.FolderSelected("Sent", "\\Sent", &why));
  EXPECT_EQ(why, "not matched by include_folders");
  EXPECT_FALSE(sel.FolderSelected("Projects/OLD", "", &why));
  EXPECT_EQ(why, "matched by exclude_folders");
  EXPECT_FALSE(sel.FolderSelected("INBOX/Spam", "\\Junk", &why));
  EXPECT_EQ(why, "special use \\Junk is skipped");
  EXPECT_FALSE(sel.FolderSelected("INBOX/Deleted", "\\Trash"));  // case-insensitive use
  engine::Selector all{config::Selection()};
  EXPECT_TRUE(all.FolderSelected("anything at all", "\\Junk"));
}

TEST(SelectorTest, SearchCriteriaAndTheSameTestOnExportedMessages) {
  config::Selection s;
  s.since = "2020-01-31";
  s.before = "2021-02-01";
  s.min_size = 100;
  s.max_size = 5000;
  engine::Selector sel(s);
  EXPECT_EQ(sel.SearchCriteria(), "SINCE 31-Jan-2020 BEFORE 1-Feb-2021 LARGER 99 SMALLER 5001");
  EXPECT_TRUE(sel.MessageSelected("31-Jan-2020 00:00:00 +0000", 100));  // bounds included
  EXPECT_TRUE(sel.MessageSelected(" 1-Feb-2020 23:59:59 -1200", 5000));
  EXPECT_TRUE(sel.MessageSelected("31-Jan-2021 23:59:59 +1400", 1000));
  EXPECT_FALSE(sel.MessageSelected("30-Jan-2020 23:59:59 +0000", 1000));  // before since
  EXPECT_FALSE(sel.MessageSelected("01-Feb-2021 00:00:00 +0000", 1000));  // on before: out
  EXPECT_FALSE(sel.MessageSelected("15-Jun-2020 10:00:00 +0000", 99));
  EXPECT_FALSE(sel.MessageSelected("15-Jun-2020 10:00:00 +0000", 5001));
  EXPECT_TRUE(sel.MessageSelected("", 1000));  // no usable date: kept
  EXPECT_EQ(engine::Selector(config::Selection()).SearchCriteria(), "ALL");
}

TEST(SelectionTest, ProblemsAreNamed) {
  config::Selection s;
  s.include_folders = "(unclosed";
  s.skip_special_use = {"Junk"};
  s.since = "2020-13-01";
  s.min_size = 10;
  s.max_size = 5;
  std::vector<std::string> p = config::SelectionProblems(s);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].rfind("include_folders: not a valid regular expression", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind("skip_special_use: \"Junk\"", 0), 0u) << p[1];
  EXPECT_EQ(p[2], "since: must be YYYY-MM-DD, got 2020-13-01");
  EXPECT_EQ(p[3], "min_size (10) is above max_size (5)");
  EXPECT_TRUE(config::SelectionProblems(config::Selection()).empty());
}

TEST(SelectionTest, AgesBecomeDaysAndTheNarrowerBoundWins) {
  absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 12, 3, 10, 0, 0), absl::UTCTimeZone());
  config::Selection s;
  s.max_age_days = 30;
  s.min_age_days = 7;
  config::Selection r = config::ResolveSelection(s, now);
  EXPECT_EQ(r.since, "2026-11-03");   // at most 30 days old
  EXPECT_EQ(r.before, "2026-11-27");  // at least 7 days old: up to and including 26 Nov
  EXPECT_EQ(r.max_age_days, 0);
  EXPECT_EQ(r.min_age_days, 0);
  s.since = "2026-11-20";   // later than the age's start: kept
  s.before = "2026-12-31";  // later than the age's end: replaced
  r = config::ResolveSelection(s, now);
  EXPECT_EQ(r.since, "2026-11-20");
  EXPECT_EQ(r.before, "2026-11-27");
}

// --skip-cross-duplicates keeps a message in the first folder of this order.
TEST(SelectorTest, CrossDuplicateOrderPutsRealFoldersBeforeViewsAndTrash) {
  const std::vector<engine::RankedFolder> folders = {
      {"[Gmail]/Trash", "\\Trash"}, {"Zeta", ""},       {"[Gmail]/All Mail", "\\All"},
      {"Archive", "\\Archive"},     {"Sent", "\\Sent"}, {"inbox", ""},
      {"Starred", "\\Flagged"},     {"Alpha/Beta", ""}, {"Junk", "\\Junk"},
      {"Drafts", "\\Drafts"},       {"Alpha", ""}};
  std::vector<std::string> names;
  for (size_t i : engine::CrossDuplicateOrder(folders)) names.push_back(folders[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"inbox", "Drafts", "Sent", "Alpha", "Alpha/Beta",
                                             "Archive", "Zeta", "Starred", "[Gmail]/All Mail",
                                             "Junk", "[Gmail]/Trash"}));
}

}  // namespace
