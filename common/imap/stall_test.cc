// Bounded stalls at the session over real loopback sockets, against scripted servers doing
// what a healthy server never does: one stops reading an upload, one answers a command only
// with keepalive lines. Each is cut by its progress rule (net/progress.h), well before the
// idle timeout would (it never would for the keepalives), and the error says where.
#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "common/net/testing/test_server.h"
#include "gtest/gtest.h"

namespace imap {
namespace {

// A message named like the import's literals.
class NamedLiteral : public StringLiteralSource {
 public:
  explicit NamedLiteral(std::string data) : StringLiteralSource(std::move(data)) {}
  std::string Describe() const override { return "source UID 7"; }
};

SessionOptions Options(int port, int io_timeout_s) {
  SessionOptions o;
  o.connect.host = "127.0.0.1";
  o.connect.port = port;
  o.connect.io_timeout = std::chrono::seconds(io_timeout_s);  // window: a quarter of it
  return o;
}

TEST(StallTest, AServerThatStopsReadingAnUploadIsCutAfterOneWindow) {
  absl::Notification client_done;
  auto server = net::testing::TestServer::Start([&](net::testing::ServerConn& c) {
    c.WriteAll("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
    std::string line;
    c.ReadLine(&line);  // the APPEND: its literal is never read
    client_done.WaitForNotificationWithTimeout(absl::Seconds(60));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto s = Session::Connect(Options((*server)->port(), 4));
  ASSERT_TRUE(s.ok()) << s.status();
  AppendMessage m;
  // More than the loopback buffers on both sides hold.
  m.body = std::make_shared<NamedLiteral>(std::string(48 << 20, 'x'));
  auto r = Append(**s, "INBOX", m);
  client_done.Notify();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  const std::string msg(r.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "write to 127.0.0.1:")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "too slow")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "below min_rate 1024 bytes/s")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "while sending source UID 7, a 50331648-byte literal")) << msg;
  // Not the idle timeout: the rate rule's window (1 s) is what ended it.
  EXPECT_FALSE(absl::StrContains(msg, "timed out after")) << msg;
}

TEST(StallTest, KeepaliveLinesDoNotHoldACommandPastItsDeadline) {
  absl::Notification client_done;
  auto server = net::testing::TestServer::Start([&](net::testing::ServerConn& c) {
    c.WriteAll("* OK [CAPABILITY IMAP4rev1] ready\r\n");
    std::string line;
    c.ReadLine(&line);  // the NOOP: answered by keepalives only, every 100 ms
    while (!client_done.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (!c.WriteAll("* OK still here\r\n")) break;
    }
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto s = Session::Connect(Options((*server)->port(), 2));
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status st = (*s)->Execute(Command("NOOP"));
  client_done.Notify();
  EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "the command's deadline passed")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "waiting for the answer to NOOP")) << st;
}

TEST(StallTest, MinRateZeroLeavesOnlyTheIdleTimeout) {
  absl::Notification client_done;
  auto server = net::testing::TestServer::Start([&](net::testing::ServerConn& c) {
    c.WriteAll("* OK [CAPABILITY IMAP4rev1] ready\r\n");
    std::string line;
    c.ReadLine(&line);
    c.WriteAll("* 1 FETCH (UID 5 BODY[] {100}\r\nabc");  // then nothing
    client_done.WaitForNotificationWithTimeout(absl::Seconds(60));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  SessionOptions o = Options((*server)->port(), 2);
  o.connect.min_rate = 0;
  auto s = Session::Connect(o);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status st = (*s)->Execute(Command("NOOP"));
  client_done.Notify();
  EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "timed out after 2000ms")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(),
                                "inside the FETCH response for message 1 (UID 5): 3 of its "
                                "100-byte literal received"))
      << st;
}

}  // namespace
}  // namespace imap
