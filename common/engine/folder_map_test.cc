// The folder map alone: rules in order, special-use and localized-name automapping, B's
// naming rules, collisions found before anything moves.
#include "common/engine/folder_map.h"

#include "gtest/gtest.h"

namespace {

engine::FolderMeta Folder(const std::string& name, const std::string& use = "", char delim = '.',
                          const std::string& ns = "") {
  engine::FolderMeta m;
  m.name = m.raw_name = name;
  m.delimiter = std::string(1, delim);
  m.special_use = use;
  m.namespace_prefix = ns;
  return m;
}

engine::TargetInfo Target(char delim = '/', const std::string& prefix = "") {
  engine::TargetInfo t;
  t.delimiter = delim;
  t.prefix = prefix;
  imap::MailboxInfo sent;
  sent.name = sent.raw_name = prefix + "Sent";
  sent.attributes = {"\\Sent"};
  imap::MailboxInfo trash;
  trash.name = trash.raw_name = prefix + "Trash";
  trash.attributes = {"\\Trash"};
  t.folders = {sent, trash};
  return t;
}

std::vector<engine::MappedFolder> MapOrDie(const config::FolderMap& map,
                                           const std::vector<engine::FolderMeta>& folders,
                                           const engine::TargetInfo& target) {
  auto m = engine::FolderMapper(map).MapAll(folders, target);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : std::vector<engine::MappedFolder>(folders.size());
}

TEST(FolderMapTest, RulesThenSpecialUseThenTheSameName) {
  config::FolderMap map;
  map.rules = {{"Sent Items", "", "Outbox/Old", false}, {"", "^INBOX\\.?(.*)$", "Mail/\\1", false}};
  auto m = MapOrDie(map,
                    {Folder("INBOX"), Folder("Sent Items"), Folder("Work.Clients"),
                     Folder("Papierkorb", "\\Trash"), Folder("INBOX.Lists", "", '.', "")},
                    Target());
  EXPECT_EQ(m[0].raw, "INBOX");
  EXPECT_EQ(m[1].name, "Outbox/Old");
  EXPECT_EQ(m[1].how, "rule 1");
  EXPECT_EQ(m[2].name, "Work/Clients");  // delimiter converted
  EXPECT_EQ(m[2].how, "same name");
  EXPECT_EQ(m[3].name, "Trash");
  EXPECT_EQ(m[3].how, "special use \\Trash");
  EXPECT_EQ(m[4].name, "Mail/Lists");  // rule 2 on the '/'-joined name "INBOX/Lists"
  EXPECT_EQ(m[4].how, "rule 2");
}

TEST(FolderMapTest, LocalizedNamesAutomapUnlessAFolderHasTheUseItself) {
  auto m =
      MapOrDie({}, {Folder("[Gmail]/Gesendet", "", '/'), Folder("Éléments supprimés")}, Target());
  EXPECT_EQ(m[0].name, "Sent");
  EXPECT_EQ(m[0].how, "localized name of \\Sent");
  EXPECT_EQ(m[1].name, "Trash");
  // A folder with \Sent itself wins; "Sent Items" keeps its own name.
  m = MapOrDie({}, {Folder("Sent", "\\Sent"), Folder("Sent Items")}, Target());
  EXPECT_EQ(m[0].name, "Sent");
  EXPECT_EQ(m[1].name, "Sent Items");
  config::FolderMap off;
  off.automap = false;
  m = MapOrDie(off, {Folder("Papierkorb", "\\Trash")}, Target());
  EXPECT_EQ(m[0].name, "Papierkorb");
  EXPECT_EQ(engine::LocalizedSpecialUse({"Projects", "Sent"}), "");  // not at the top
}

TEST(FolderMapTest, CollisionsAreErrorsUnlessARuleMerges) {
  config::FolderMap exchange;
  exchange.target = "exchange";
  auto clash = engine::FolderMapper(exchange).MapAll({Folder("Work"), Folder("work")}, Target());
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(clash.status().message().find("folders 'Work' and 'work' would both land in 'work'"),
            std::string::npos)
      << clash.status();
  // On a plain IMAP target the two names differ.
  EXPECT_TRUE(engine::FolderMapper({}).MapAll({Folder("Work"), Folder("work")}, Target()).ok());
  config::FolderMap merge = exchange;
  merge.rules = {{"", "(?i)^work$", "Work", true}};
  auto merged = MapOrDie(merge, {Folder("Work"), Folder("work")}, Target());
  EXPECT_EQ(merged[0].name, "Work");
  EXPECT_EQ(merged[1].name, "Work");
  // A rule sending two folders to one name without merge is caught too.
  config::FolderMap into_one;
  into_one.rules = {{"", "^Old.*$", "Archive", false}};  // the match is replaced
  EXPECT_FALSE(
      engine::FolderMapper(into_one).MapAll({Folder("Old1"), Folder("Old2")}, Target()).ok());
}

TEST(FolderMapTest, TargetNamingRules) {
  config::FolderMap gmail;
  gmail.target = "gmail";
  auto m = MapOrDie(gmail, {Folder(" Notes ^2024 ")}, Target());
  EXPECT_EQ(m[0].name, "Notes _2024");
  EXPECT_NE(m[0].how.find("renamed"), std::string::npos);
  config::FolderMap exchange;
  exchange.target = "exchange";
  m = MapOrDie(exchange, {Folder("Files"), Folder("Projects.Files")}, Target('/', "INBOX/"));
  EXPECT_EQ(m[0].name, "INBOX/Files (migrated)");
  EXPECT_EQ(m[1].name, "INBOX/Projects/Files");  // only the top level is reserved
  // B's delimiter inside a level does not become hierarchy.
  m = MapOrDie({}, {Folder("a/b.c")}, Target('/'));
  EXPECT_EQ(m[0].name, "a_b/c");
}

}  // namespace
