// Pipelined command pairs against a scripted peer: SELECT + UID FETCH
// (SelectAndFetch) and NAMESPACE + LIST with LIST-STATUS (ListAll). The peer
// reads both commands before it answers either, and the client gives up after a
// short read timeout: a client that waits for the first answer before sending
// the second command fails these tests.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "common/imap/testing/recording_sink.h"
#include "common/imap/testing/scripted_peer.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

using testing::RecordingSink;
using testing::ScriptedPeer;

constexpr char kGreeting[] =
    "* OK [CAPABILITY IMAP4rev1 NAMESPACE SPECIAL-USE LIST-STATUS] ready\r\n";

net::MemoryStreamOptions ClientOptions() {
  net::MemoryStreamOptions o;
  o.read_timeout = std::chrono::milliseconds(5000);
  return o;
}

std::unique_ptr<Session> OpenOrDie(ScriptedPeer& peer) {
  auto s = Session::Open(std::move(peer.client), SessionOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Reads two commands before answering; returns them.
std::vector<std::string> ReadPair(ScriptedPeer& p) {
  std::vector<std::string> cmds;
  cmds.push_back(p.ReadCommand());
  cmds.push_back(p.ReadCommand());
  return cmds;
}

constexpr char kExamineOk[] = "* 2 EXISTS\r\n* OK [UIDVALIDITY 77] ok\r\n* OK [UIDNEXT 10] ok\r\n";

TEST(PipelineTest, SelectAndFetchSendsBothAtOnceAndReportsTheMailboxFirst) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        cmds = ReadPair(p);
        p.Send(absl::StrCat(kExamineOk, "A1 OK [READ-ONLY] done\r\n"));
        p.Send("* 1 FETCH (UID 3 RFC822.SIZE 2 BODY[] {2}\r\nhi)\r\n");
        p.Send(
            "* 2 FETCH (UID 9 RFC822.SIZE 3 BODY[] {3}\r\nyou)\r\nA2 OK "
            "done\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  uint64_t uidvalidity_seen = 0;
  size_t bodies_before = 99;
  auto box =
      SelectAndFetch(*s, "Sent", true, "1:*", FetchOptions(), &sink, [&](const SelectedMailbox& b) {
        uidvalidity_seen = b.uidvalidity;
        bodies_before = sink.bodies.size();
        return absl::OkStatus();
      });
  peer.Join();
  ASSERT_TRUE(box.ok()) << box.status();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], "A1 EXAMINE Sent");
  EXPECT_TRUE(absl::StartsWith(cmds[1], "A2 UID FETCH 1:* (UID")) << cmds[1];
  EXPECT_EQ(box->exists, 2u);
  EXPECT_EQ(box->uidvalidity, 77u);
  EXPECT_TRUE(box->read_only);
  EXPECT_EQ(uidvalidity_seen, 77u);
  EXPECT_EQ(bodies_before, 0u);  // the callback ran before the first message
  EXPECT_EQ(sink.bodies, (std::vector<std::string>{"hi", "you"}));
  EXPECT_EQ(s->in_flight(), 0u);
}

TEST(PipelineTest, FailedSelectFailsWithItsOwnErrorAndDeliversNothing) {
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        ReadPair(p);
        p.Send(
            "A1 NO [NONEXISTENT] no such mailbox\r\nA2 BAD no mailbox "
            "selected\r\n");
        p.ReadCommand();  // NOOP: the session is still usable
        p.Send("A3 OK noop\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  bool called = false;
  auto box =
      SelectAndFetch(*s, "Gone", false, "1:*", FetchOptions(), &sink, [&](const SelectedMailbox&) {
        called = true;
        return absl::OkStatus();
      });
  EXPECT_EQ(box.status().code(), absl::StatusCode::kNotFound) << box.status();
  EXPECT_TRUE(absl::StrContains(box.status().message(), "Gone")) << box.status();
  EXPECT_FALSE(called);
  EXPECT_TRUE(Noop(*s).ok());
  peer.Join();
}

// A server that keeps the previous mailbox selected after a failed SELECT would
// stream the wrong mailbox's messages: they must never reach the sink.
TEST(PipelineTest, FetchDataAfterAFailedSelectNeverReachesTheSink) {
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        ReadPair(p);
        p.Send("A1 NO no such mailbox\r\n");
        p.Send(
            "* 1 FETCH (UID 3 RFC822.SIZE 2 BODY[] {2}\r\nhi)\r\nA2 OK "
            "done\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  auto box = SelectAndFetch(*s, "Gone", true, "1:*", FetchOptions(), &sink,
                            [](const SelectedMailbox&) { return absl::OkStatus(); });
  peer.Join();
  EXPECT_FALSE(box.ok());
  EXPECT_TRUE(sink.bodies.empty());
  EXPECT_TRUE(sink.messages.empty());
}

TEST(PipelineTest, RefusedFetchOnAnEmptyMailboxIsAnEmptyResult) {
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        ReadPair(p);
        p.Send("* 0 EXISTS\r\n* OK [UIDVALIDITY 5] ok\r\nA1 OK done\r\n");
        p.Send("A2 BAD invalid message set\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  int calls = 0;
  auto box =
      SelectAndFetch(*s, "Empty", true, "1:*", FetchOptions(), &sink, [&](const SelectedMailbox&) {
        ++calls;
        return absl::OkStatus();
      });
  peer.Join();
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->exists, 0u);
  EXPECT_EQ(calls, 1);  // the mailbox is reported although no message came
}

TEST(PipelineTest, CallbackErrorStopsBeforeAnyMessage) {
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        ReadPair(p);
        p.Send(absl::StrCat(kExamineOk, "A1 OK done\r\n"));
        p.Send(
            "* 1 FETCH (UID 3 RFC822.SIZE 2 BODY[] {2}\r\nhi)\r\nA2 OK "
            "done\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  auto box = SelectAndFetch(
      *s, "Sent", true, "1:*", FetchOptions(), &sink,
      [](const SelectedMailbox&) { return absl::ResourceExhaustedError("disk full"); });
  peer.Join();
  EXPECT_EQ(box.status().code(), absl::StatusCode::kResourceExhausted) << box.status();
  EXPECT_TRUE(sink.bodies.empty());
}

TEST(PipelineTest, ManyPairsGoOutAtOnceAndAFailedSelectFailsOnlyItsOwn) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        for (int i = 0; i < 6; ++i) cmds.push_back(p.ReadCommand());
        p.Send(absl::StrCat(kExamineOk, "A1 OK done\r\n"));
        p.Send("* 1 FETCH (UID 3 RFC822.SIZE 1 BODY[] {1}\r\na)\r\nA2 OK done\r\n");
        p.Send("A3 NO [NONEXISTENT] gone\r\nA4 BAD no mailbox selected\r\n");
        p.Send("* 1 EXISTS\r\n* OK [UIDVALIDITY 8] ok\r\nA5 OK done\r\n");
        p.Send("* 1 FETCH (UID 4 RFC822.SIZE 1 BODY[] {1}\r\nc)\r\nA6 OK done\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sinks[3];
  std::vector<MailboxFetch> requests(3);
  const char* names[] = {"A", "B", "C"};
  for (int i = 0; i < 3; ++i) {
    requests[i].mailbox = names[i];
    requests[i].sink = &sinks[i];
  }
  ASSERT_TRUE(SelectAndFetchMany(*s, requests).ok());
  peer.Join();
  ASSERT_EQ(cmds.size(), 6u);
  EXPECT_EQ(cmds[4], "A5 EXAMINE C");
  ASSERT_TRUE(requests[0].result.ok()) << requests[0].result.status();
  EXPECT_EQ(requests[0].result->uidvalidity, 77u);
  EXPECT_EQ(sinks[0].bodies, std::vector<std::string>{"a"});
  EXPECT_EQ(requests[1].result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(sinks[1].bodies.empty());
  ASSERT_TRUE(requests[2].result.ok()) << requests[2].result.status();
  EXPECT_EQ(requests[2].result->uidvalidity, 8u);
  EXPECT_EQ(sinks[2].bodies, std::vector<std::string>{"c"});
}

TEST(PipelineTest, ListAllPipelinesNamespaceAndListAndReadsListStatus) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        cmds = ReadPair(p);
        p.Send("* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\nA1 OK ns\r\n");
        p.Send(
            "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
            "* STATUS INBOX (MESSAGES 12 UIDVALIDITY 3)\r\n"
            "* LIST (\\Sent) \".\" \"INBOX.Sent\"\r\n"
            "* STATUS \"INBOX.Sent\" (MESSAGES 0 UIDVALIDITY 4)\r\n"
            "* LIST (\\Noselect) \".\" \"INBOX.Dir\"\r\n"
            "A2 OK list\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto list = ListAll(*s, /*with_status=*/true);
  peer.Join();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(cmds[0], "A1 NAMESPACE");
  EXPECT_EQ(cmds[1], "A2 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UIDVALIDITY))");
  ASSERT_EQ(list->namespaces.personal.size(), 1u);
  EXPECT_EQ(list->namespaces.personal[0].prefix, "INBOX.");
  ASSERT_EQ(list->mailboxes.size(), 3u);
  EXPECT_EQ(list->mailboxes[0].messages, uint64_t{12});
  EXPECT_EQ(list->mailboxes[0].uidvalidity, uint64_t{3});
  EXPECT_EQ(list->mailboxes[1].special_use(), "\\Sent");
  EXPECT_EQ(list->mailboxes[1].messages, uint64_t{0});
  EXPECT_FALSE(list->mailboxes[2].messages.has_value());
}

TEST(PipelineTest, ListAllWithoutNamespaceOrListStatusFallsBack) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send("* OK [CAPABILITY IMAP4rev1] ready\r\n");
        cmds = ReadPair(p);
        p.Send("* LIST (\\Noselect) \"/\" \"\"\r\nA1 OK delim\r\n");
        p.Send(
            "* LIST () \"/\" INBOX\r\n* LIST () \"/\" \"a/b\"\r\nA2 OK "
            "list\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto list = ListAll(*s, /*with_status=*/true);
  peer.Join();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(cmds[0], "A1 LIST \"\" \"\"");
  EXPECT_EQ(cmds[1], "A2 LIST \"\" \"*\"");
  ASSERT_EQ(list->namespaces.personal.size(), 1u);
  EXPECT_EQ(list->namespaces.personal[0].delimiter, '/');
  ASSERT_EQ(list->mailboxes.size(), 2u);
  EXPECT_FALSE(list->mailboxes[0].messages.has_value());
}

TEST(PipelineTest, ListAllAsksForSizeOnlyWhenAskedAndOffered) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send("* OK [CAPABILITY IMAP4rev1 NAMESPACE LIST-STATUS STATUS=SIZE] ready\r\n");
        cmds = ReadPair(p);
        p.Send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA1 OK ns\r\n");
        p.Send(
            "* LIST () \"/\" INBOX\r\n"
            "* STATUS INBOX (MESSAGES 2 UIDVALIDITY 3 SIZE 7300)\r\n"
            "A2 OK list\r\n");
        cmds.push_back(p.ReadCommand());
        cmds.push_back(p.ReadCommand());
        p.Send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA3 OK ns\r\n");
        p.Send("* LIST () \"/\" INBOX\r\n* STATUS INBOX (MESSAGES 2 UIDVALIDITY 3)\r\nA4 OK\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto sized = ListAll(*s, /*with_status=*/true, /*with_size=*/true);
  auto plain = ListAll(*s, /*with_status=*/true);
  peer.Join();
  ASSERT_TRUE(sized.ok()) << sized.status();
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_EQ(cmds.size(), 4u);
  EXPECT_EQ(cmds[1], "A2 LIST \"\" \"*\" RETURN (STATUS (MESSAGES UIDVALIDITY SIZE))");
  EXPECT_EQ(cmds[3], "A4 LIST \"\" \"*\" RETURN (STATUS (MESSAGES UIDVALIDITY))");
  ASSERT_EQ(sized->mailboxes.size(), 1u);
  EXPECT_EQ(sized->mailboxes[0].size, uint64_t{7300});
  EXPECT_EQ(sized->mailboxes[0].messages, uint64_t{2});
  EXPECT_FALSE(plain->mailboxes[0].size.has_value());
}

TEST(PipelineTest, StatusEachPipelinesAndKeepsEachMailboxOwnResult) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send("* OK [CAPABILITY IMAP4rev1 STATUS=SIZE] ready\r\n");
        for (int i = 0; i < 3; ++i) cmds.push_back(p.ReadCommand());  // all before any answer
        p.Send("* STATUS INBOX (MESSAGES 4 UIDVALIDITY 9 SIZE 1234)\r\nA1 OK\r\n");
        p.Send("A2 NO [NONEXISTENT] no such mailbox\r\n");
        p.Send("* STATUS \"a b\" (MESSAGES 0 UIDVALIDITY 5 SIZE 0)\r\nA3 OK\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto st = StatusEach(*s, {"INBOX", "Gone", "a b"}, /*with_size=*/true);
  peer.Join();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], "A1 STATUS INBOX (MESSAGES UIDVALIDITY SIZE)");
  EXPECT_EQ(cmds[2], "A3 STATUS \"a b\" (MESSAGES UIDVALIDITY SIZE)");
  ASSERT_EQ(st->size(), 3u);
  ASSERT_TRUE((*st)[0].ok());
  EXPECT_EQ((*st)[0]->messages, uint64_t{4});
  EXPECT_EQ((*st)[0]->size, uint64_t{1234});
  EXPECT_FALSE((*st)[1].ok());
  EXPECT_TRUE(absl::StrContains((*st)[1].status().message(), "Gone")) << (*st)[1].status();
  ASSERT_TRUE((*st)[2].ok());
  EXPECT_EQ((*st)[2]->size, uint64_t{0});
}

TEST(PipelineTest, StatusEachWithoutStatusSizeAsksNoSize) {
  std::string cmd;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send("* OK [CAPABILITY IMAP4rev1] ready\r\n");
        cmd = p.ReadCommand();
        p.Send("* STATUS INBOX (MESSAGES 4 UIDVALIDITY 9)\r\nA1 OK\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto st = StatusEach(*s, {"INBOX"}, /*with_size=*/true);
  peer.Join();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(cmd, "A1 STATUS INBOX (MESSAGES UIDVALIDITY)");
  ASSERT_TRUE((*st)[0].ok());
  EXPECT_FALSE((*st)[0]->size.has_value());
}

TEST(PipelineTest, SizesOnlyFetchAsksForUidAndSizeOnly) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        cmds = ReadPair(p);
        p.Send(absl::StrCat(kExamineOk, "A1 OK [READ-ONLY] done\r\n"));
        p.Send("* 1 FETCH (UID 3 RFC822.SIZE 20)\r\n* 2 FETCH (UID 9 RFC822.SIZE 30)\r\nA2 OK\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  FetchOptions o;
  o.body = false;
  o.attributes = false;
  auto box = SelectAndFetch(*s, "INBOX", true, "1:*", o, &sink, nullptr);
  peer.Join();
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(cmds[1], "A2 UID FETCH 1:* (UID RFC822.SIZE)");
  ASSERT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(sink.messages[0].size + sink.messages[1].size, 50u);
}

// Gmail's extension (X-GM-EXT-1): X-GM-MSGID and X-GM-LABELS asked for and read (a 64-bit
// id; system labels as atoms, user labels quoted or as atoms, an empty list).
TEST(PipelineTest, GmailFetchAsksForMsgidAndLabelsAndReadsThem) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        cmds = ReadPair(p);
        p.Send(absl::StrCat(kExamineOk, "A1 OK [READ-ONLY] done\r\n"));
        p.Send(
            "* 1 FETCH (X-GM-MSGID 1278455344230334865 X-GM-LABELS (\\Inbox \\Sent Important "
            "\"Muy Importante\" \"Soci&AOk-t&AOk-\") UID 3 RFC822.SIZE 2)\r\n"
            "* 2 FETCH (UID 9 RFC822.SIZE 3 X-GM-MSGID 7 X-GM-LABELS ())\r\nA2 OK\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  RecordingSink sink;
  FetchOptions o;
  o.body = false;
  o.attributes = false;
  o.gmail = true;
  auto box = SelectAndFetch(*s, "[Gmail]/All Mail", true, "1:*", o, &sink, nullptr);
  peer.Join();
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(cmds[1], "A2 UID FETCH 1:* (UID RFC822.SIZE X-GM-MSGID X-GM-LABELS)");
  ASSERT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(sink.messages[0].gmail_msgid, uint64_t{1278455344230334865u});
  EXPECT_TRUE(sink.messages[0].has_gmail_labels);
  EXPECT_EQ(sink.messages[0].gmail_labels,
            (std::vector<std::string>{"\\Inbox", "\\Sent", "Important", "Muy Importante",
                                      "Soci&AOk-t&AOk-"}));
  EXPECT_EQ(sink.messages[1].gmail_msgid, uint64_t{7});
  EXPECT_TRUE(sink.messages[1].has_gmail_labels);
  EXPECT_TRUE(sink.messages[1].gmail_labels.empty());
}

TEST(PipelineTest, GmailLabelsAreAddedWithOneStorePerMessagePipelined) {
  std::vector<std::string> cmds;
  ScriptedPeer peer(
      [&](ScriptedPeer& p) {
        p.Send(kGreeting);
        cmds = ReadPair(p);
        p.Send("A1 OK Success\r\nA2 NO [NONEXISTENT] No such label\r\n");
      },
      ClientOptions());
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto st = AddGmailLabels(*s, {{4, {"\\Inbox", "Work/2024"}}, {5, {"Soci&AOk-t&AOk-"}}});
  peer.Join();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(cmds[0], "A1 UID STORE 4 +X-GM-LABELS (\\Inbox \"Work/2024\")");
  EXPECT_EQ(cmds[1], "A2 UID STORE 5 +X-GM-LABELS (\"Soci&AOk-t&AOk-\")");
  ASSERT_EQ(st->size(), 2u);
  EXPECT_TRUE((*st)[0].ok());
  EXPECT_FALSE((*st)[1].ok());
  EXPECT_TRUE(absl::StrContains((*st)[1].message(), "UID 5")) << (*st)[1];
}

}  // namespace
}  // namespace imap
