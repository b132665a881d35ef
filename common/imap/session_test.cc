// Session tests against a scripted peer: exact wire behaviour and broken or hostile servers.
// Behaviour against a real server is in tests/integration/imap_client_test.cc.
#include "common/imap/session.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/commands.h"
#include "common/imap/testing/recording_sink.h"
#include "common/imap/testing/scripted_peer.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

using testing::RecordingSink;
using testing::ScriptedPeer;

constexpr char kGreeting[] = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n";

std::unique_ptr<Session> OpenOrDie(ScriptedPeer& peer, SessionOptions options = {}) {
  auto s = Session::Open(std::move(peer.client), options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(SessionTest, GreetingCapabilitiesAndLoginRefresh) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    std::string cmd = p.ReadCommand();
    EXPECT_EQ(cmd, "A1 LOGIN alice secret");
    p.Send("A1 OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] logged in\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->HasCapability("auth=plain"));
  Credentials c{AuthMethod::kLogin, "alice", "secret", ""};
  ASSERT_TRUE(Authenticate(*s, c).ok());
  EXPECT_TRUE(s->HasCapability("UIDPLUS"));
  EXPECT_FALSE(s->HasCapability("AUTH=PLAIN"));  // replaced, not merged
}

TEST(SessionTest, WrongPasswordIsUnauthenticatedNamingUserNotPassword) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    std::string cmd = p.ReadCommand();
    p.Send(absl::StrCat(ScriptedPeer::TagOf(cmd),
                        " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"));
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  absl::Status st = Authenticate(*s, {AuthMethod::kLogin, "bob@example.com", "hunter2xyz", ""});
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "bob@example.com")) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "hunter2xyz")) << st;
}

TEST(SessionTest, PlainWithoutSaslIrWaitsForContinuationAndSendsAuthzid) {
  std::string received;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    std::string cmd = p.ReadCommand();
    EXPECT_EQ(cmd, "A1 AUTHENTICATE PLAIN");
    p.Send("+ \r\n");
    received = p.ReadLine();
    p.Send("A1 OK done\r\n* CAPABILITY IMAP4rev1 X-AFTER\r\n");  // untagged after: ignored
    std::string cap = p.ReadCommand();
    p.Send(absl::StrCat("* CAPABILITY IMAP4rev1 X-AFTER\r\n", ScriptedPeer::TagOf(cap), " OK\r\n"));
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  ASSERT_TRUE(Authenticate(*s, {AuthMethod::kPlain, "admin", "pw", "user@x"}).ok());
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(received, &decoded));
  EXPECT_EQ(decoded, std::string("user@x\0admin\0pw", 15));
  EXPECT_TRUE(s->HasCapability("X-AFTER"));
}

TEST(SessionTest, Xoauth2ErrorChallengeIsAnsweredAndFails) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n");
    std::string cmd = p.ReadCommand();
    EXPECT_TRUE(absl::StartsWith(cmd, "A1 AUTHENTICATE XOAUTH2 ")) << cmd;
    p.Send("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n");
    EXPECT_EQ(p.ReadLine(), "");  // the empty answer
    p.Send("A1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  absl::Status st = Authenticate(*s, {AuthMethod::kXoauth2, "u@gmail.com", "tok3n", ""});
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), "tok3n"));
}

TEST(SessionTest, SynchronizingLiteralWaitsForPlusAndStopsOnNo) {
  std::vector<std::string> seen;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    seen.push_back(p.ReadLine());  // "A1 CREATE {6}" : refuse instead of "+"
    p.Send("A1 NO [LIMIT] too long\r\n");
    seen.push_back(p.ReadLine());  // the next command, not the literal bytes
    p.Send("A2 OK\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  absl::Status st = Create(*s, "na\xC3\xAFve");
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_TRUE(Noop(*s).ok());
  peer.Join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "A1 CREATE {6}");
  EXPECT_EQ(seen[1], "A2 NOOP");
}

TEST(SessionTest, LiteralPlusSendsWithoutWaiting) {
  std::string cmd;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send("* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n");
    cmd = p.ReadLine();
    std::string bytes = p.ReadBytes(6);
    std::string rest = p.ReadLine();
    EXPECT_EQ(bytes, "na\xC3\xAFve");
    EXPECT_EQ(rest, "");
    p.Send("A1 OK created\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  EXPECT_TRUE(Create(*s, "na\xC3\xAFve").ok());
  peer.Join();
  EXPECT_EQ(cmd, "A1 CREATE {6+}");
}

TEST(SessionTest, PipeliningNeverExceedsTheCap) {
  constexpr int kCommands = 8;
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    // Answer each command only once the next one has arrived (the last on its own).
    std::string prev = p.ReadCommand();
    for (int i = 1; i < kCommands; ++i) {
      std::string next = p.ReadCommand();
      p.Send(absl::StrCat(ScriptedPeer::TagOf(prev), " OK\r\n"));
      prev = next;
    }
    p.Send(absl::StrCat(ScriptedPeer::TagOf(prev), " OK\r\n"));
  });
  SessionOptions opts;
  opts.limits.max_pipelined_commands = 2;
  auto s = OpenOrDie(peer, opts);
  ASSERT_TRUE(s);
  std::vector<std::string> tags;
  for (int i = 0; i < kCommands; ++i) {
    auto tag = s->Send(Command("NOOP"));
    ASSERT_TRUE(tag.ok()) << tag.status();
    EXPECT_LE(s->in_flight(), 2u);
    tags.push_back(*tag);
  }
  for (const std::string& t : tags) {
    auto r = s->Wait(t);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, StatusKind::kOk);
  }
}

TEST(SessionTest, ByeThenDisconnectIsUnavailableWithReason) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    p.ReadCommand();
    p.Send("* BYE server shutting down for maintenance\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  absl::Status st = Noop(*s);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "maintenance")) << st;
  EXPECT_TRUE(absl::IsUnavailable(Noop(*s)));  // stays failed
}

TEST(SessionTest, GreetingByeIsUnavailable) {
  ScriptedPeer peer([](ScriptedPeer& p) { p.Send("* BYE too many connections\r\n"); });
  auto s = Session::Open(std::move(peer.client), {});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsUnavailable(s.status())) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "too many connections"));
}

TEST(SessionTest, UnknownTagIsDataLoss) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    p.ReadCommand();
    p.Send("Z99 OK who?\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  absl::Status st = Noop(*s);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

TEST(SessionTest, MalformedResponseFailsCleanly) {
  ScriptedPeer peer([](ScriptedPeer& p) {
    p.Send(kGreeting);
    p.ReadCommand();
    p.Send("* LIST (\\HasNoChildren \"/\" \"x\"\r\nA1 OK\r\n");  // unbalanced
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  auto st = List(*s);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::IsDataLoss(st.status()) || absl::IsOutOfRange(st.status())) << st.status();
}

TEST(SessionTest, NoCodesMapToStatusCodes) {
  struct Case {
    const char* answer;
    absl::StatusCode code;
  } cases[] = {
      {"NO [OVERQUOTA] quota", absl::StatusCode::kResourceExhausted},
      {"NO [UNAVAILABLE] later", absl::StatusCode::kUnavailable},
      {"NO [THROTTLED] slow down", absl::StatusCode::kUnavailable},
      {"NO [TRYCREATE] no such mailbox", absl::StatusCode::kNotFound},
      {"NO [X-WHATEVER foo] hmm", absl::StatusCode::kFailedPrecondition},
      {"BAD parse error", absl::StatusCode::kInvalidArgument},
  };
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    for (const Case& c : cases) {
      std::string cmd = p.ReadCommand();
      p.Send(absl::StrCat(ScriptedPeer::TagOf(cmd), " ", c.answer, "\r\n"));
    }
  });
  SessionOptions options;
  std::vector<ReplyClass> told;  // on_reply: one call per NO / BAD, with its class
  options.on_reply = [&told](const ReplyInfo& info) { told.push_back(info.cls); };
  auto s = OpenOrDie(peer, options);
  ASSERT_TRUE(s);
  for (const Case& c : cases) {
    absl::Status st = Noop(*s);
    EXPECT_EQ(st.code(), c.code) << c.answer << " -> " << st;
  }
  EXPECT_EQ(told, (std::vector<ReplyClass>{ReplyClass::kTargetFull, ReplyClass::kTemporary,
                                           ReplyClass::kThrottle, ReplyClass::kNotFound,
                                           ReplyClass::kOther, ReplyClass::kBadCommand}));
}

TEST(SessionTest, OnReplyHearsSlowDownsAndAClosingBye) {
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    p.Send(absl::StrCat(ScriptedPeer::TagOf(p.ReadCommand()), " OK Success [THROTTLED]\r\n"));
    p.Send(absl::StrCat(ScriptedPeer::TagOf(p.ReadCommand()), " OK done\r\n"));
    p.ReadCommand();
    p.Send("* BYE Session expired, please login again\r\n");
  });
  SessionOptions options;
  std::vector<ReplyInfo> told;
  options.on_reply = [&told](const ReplyInfo& info) { told.push_back(info); };
  auto s = OpenOrDie(peer, options);
  ASSERT_TRUE(s);
  EXPECT_TRUE(Noop(*s).ok());
  EXPECT_TRUE(Noop(*s).ok());  // a plain OK: not told
  EXPECT_TRUE(absl::IsUnavailable(Noop(*s)));
  ASSERT_EQ(told.size(), 2u);
  EXPECT_TRUE(told[0].slow_down);
  EXPECT_EQ(told[1].cls, ReplyClass::kTemporary);
  EXPECT_EQ(s->slow_downs(), 1u);
}

TEST(SessionTest, FetchStreamsLargeBodyBeforeUidAndKeepsSmallOnesInline) {
  const std::string big(300 * 1024, 'x');
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    std::string cmd = p.ReadCommand();
    EXPECT_TRUE(absl::StartsWith(cmd, "A1 UID FETCH 7,9 (UID FLAGS")) << cmd;
    p.Send(absl::StrCat("* 1 FETCH (FLAGS (\\Seen $Forwarded) BODY[] {", big.size(), "}\r\n", big,
                        " UID 7 INTERNALDATE \"01-Jan-2020 10:00:00 +0000\" "
                        "RFC822.SIZE ",
                        big.size(), ")\r\n"));
    p.Send("* 2 FETCH (UID 9 FLAGS () RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n");
    p.Send("* 2 EXISTS\r\nA1 OK done\r\n");
  });
  SessionOptions opts;
  opts.parser_limits.max_inline_literal = 64 * 1024;
  opts.parser_limits.literal_chunk = 16 * 1024;
  auto s = OpenOrDie(peer, opts);
  ASSERT_TRUE(s);
  RecordingSink sink;
  FetchOptions fo;
  ASSERT_TRUE(UidFetch(*s, {7, 9}, fo, &sink).ok());
  ASSERT_EQ(sink.bodies.size(), 2u);
  EXPECT_EQ(sink.bodies[0], big);
  EXPECT_EQ(sink.bodies[1], "hello");
  ASSERT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(sink.messages[0].uid, 7u);
  EXPECT_EQ(sink.messages[0].seq, 1u);
  EXPECT_EQ(sink.messages[0].body_size, big.size());
  EXPECT_EQ(sink.messages[0].flags, (std::vector<std::string>{"\\Seen", "$Forwarded"}));
  EXPECT_EQ(sink.messages[0].internaldate, "01-Jan-2020 10:00:00 +0000");
  EXPECT_EQ(sink.messages[1].uid, 9u);
}

TEST(SessionTest, MultiAppendReturnsAppendUids) {
  std::string cmd;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send("* OK [CAPABILITY IMAP4rev1 MULTIAPPEND UIDPLUS] hi\r\n");
    cmd = p.ReadCommand();
    p.Send("A1 OK [APPENDUID 38505 3955:3956] done\r\n");
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  std::vector<AppendMessage> msgs(2);
  msgs[0].flags = {"\\Seen", "\\Recent", "$Label1"};
  msgs[0].internaldate = "01-Jan-2020 10:00:00 +0000";
  msgs[0].body = std::make_shared<StringLiteralSource>("a\r\n");
  msgs[1].body = std::make_shared<StringLiteralSource>("bb\r\n");
  auto r = AppendMany(*s, "INBOX", msgs);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].uidvalidity, 38505u);
  EXPECT_EQ((*r)[0].uid, 3955u);
  EXPECT_EQ((*r)[1].uid, 3956u);
  peer.Join();
  EXPECT_EQ(cmd,
            "A1 APPEND INBOX (\\Seen $Label1) \"01-Jan-2020 10:00:00 +0000\" {3}\r\na\r\n"
            " () {4}\r\nbb\r\n");
}

// A literal whose source fails after its first bytes: the command cannot be completed.
class FailingSource : public LiteralSource {
 public:
  uint64_t size() const override { return 100; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override {
    if (offset > 0) return absl::InternalError("Input/output error");
    std::memset(buf, 'x', 10);
    return 10;
  }
  std::string Describe() const override { return "source UID 7"; }
};

TEST(SessionTest, ALiteralWhoseSourceFailsClosesTheConnection) {
  std::string received;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send("* OK [CAPABILITY IMAP4rev1 MULTIAPPEND LITERAL+] hi\r\n");
    for (std::string chunk = p.ReadBytes(1); !chunk.empty(); chunk = p.ReadBytes(1)) {
      received += chunk;  // until the client closes: it must not wait for an answer
    }
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  std::vector<AppendMessage> msgs(2);
  msgs[0].body = std::make_shared<StringLiteralSource>("a\r\n");
  msgs[1].body = std::make_shared<FailingSource>();
  auto r = AppendMany(*s, "INBOX", msgs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "Input/output error")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "source UID 7, a 100-byte literal"))
      << r.status();
  // The session is done: the next command fails at once with the same cause.
  auto next = s->Send(Command("NOOP"));
  ASSERT_FALSE(next.ok());  // (else the session, destroyed first, ends the peer)
  peer.Join();              // returns: the connection was closed
  EXPECT_TRUE(absl::StartsWith(received, "A1 APPEND INBOX () {3+}\r\na\r\n () {100+}\r\n"))
      << received;
}

TEST(SessionTest, ReadOnlySessionRefusesWritesWithoutSendingThem) {
  std::vector<std::string> received;
  ScriptedPeer peer([&](ScriptedPeer& p) {
    p.Send(kGreeting);
    for (std::string cmd = p.ReadCommand(); !cmd.empty(); cmd = p.ReadCommand()) {
      received.push_back(cmd);
      if (absl::StrContains(cmd, "EXAMINE")) p.Send("* 0 EXISTS\r\n* OK [UIDVALIDITY 5] ok\r\n");
      p.Send(absl::StrCat(ScriptedPeer::TagOf(cmd), " OK done\r\n"));
      if (absl::StrContains(cmd, "LOGOUT")) break;
    }
  });
  auto s = OpenOrDie(peer);
  ASSERT_TRUE(s);
  s->set_read_only(true);
  AppendMessage m;
  m.body = std::make_shared<StringLiteralSource>("Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(Append(*s, "INBOX", m).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::Status created = Create(*s, "New");
  EXPECT_EQ(created.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(created.message(), "CREATE")) << created;
  EXPECT_FALSE(Select(*s, "INBOX", /*read_only=*/false).ok());
  // Reading still works, on the same session.
  EXPECT_TRUE(Select(*s, "INBOX", /*read_only=*/true).ok());
  EXPECT_TRUE(Logout(*s).ok());
  peer.Join();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0], "A1 EXAMINE INBOX");
  EXPECT_EQ(received[1], "A2 LOGOUT");
}

}  // namespace
}  // namespace imap
