#include "common/net/memory_stream.h"

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace net {
namespace {

MemoryStreamOptions Opts(const std::string& name) {
  MemoryStreamOptions o;
  o.name = name;
  return o;
}

std::string ReadSome(ByteStream& s, size_t max = 1024) {
  std::string buf(max, '\0');
  auto n = s.Read(buf.data(), max);
  EXPECT_TRUE(n.ok()) << n.status();
  buf.resize(n.ok() ? *n : 0);
  return buf;
}

TEST(MemoryStreamTest, BytesFlowBothWays) {
  auto [a, b] = CreateMemoryPipe(Opts("client"), Opts("server"));
  ASSERT_TRUE(a->Write("ping").ok());
  EXPECT_EQ(ReadSome(*b), "ping");
  ASSERT_TRUE(b->Write("pong").ok());
  ASSERT_TRUE(b->Write("!").ok());
  EXPECT_EQ(ReadSome(*a), "pong!");
  EXPECT_EQ(a->Describe(), "client");
  EXPECT_EQ(b->Describe(), "server");
}

TEST(MemoryStreamTest, ReadBlocksUntilTheOtherThreadWrites) {
  auto [a, b] = CreateMemoryPipe();
  absl::Notification reading;
  std::string got;
  std::thread reader([&, b = b.get()] {
    reading.Notify();
    got = ReadSome(*b);
  });
  reading.WaitForNotification();
  ASSERT_TRUE(a->Write("late").ok());
  reader.join();
  EXPECT_EQ(got, "late");
}

TEST(MemoryStreamTest, MaxReadChunkSplitsReads) {
  MemoryStreamOptions o;
  o.max_read_chunk = 2;
  auto [a, b] = CreateMemoryPipe({}, o);
  ASSERT_TRUE(a->Write("abcde").ok());
  EXPECT_EQ(ReadSome(*b), "ab");
  EXPECT_EQ(ReadSome(*b), "cd");
  EXPECT_EQ(ReadSome(*b, 1), "e");
}

TEST(MemoryStreamTest, DeliverOnFlushHoldsWritesBack) {
  MemoryStreamOptions o;
  o.deliver_on_flush = true;
  o.read_timeout = std::chrono::milliseconds(50);
  auto [a, b] = CreateMemoryPipe(o, o);
  ASSERT_TRUE(a->Write("a1 NOOP\r\n").ok());
  EXPECT_EQ(a->PendingForPeer(), 0u);
  char c;
  EXPECT_EQ(b->Read(&c, 1).status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(a->Flush().ok());
  EXPECT_EQ(a->PendingForPeer(), 9u);
  EXPECT_EQ(ReadSome(*b), "a1 NOOP\r\n");
}

TEST(MemoryStreamTest, CloseGivesEndOfStreamAfterTheData) {
  auto [a, b] = CreateMemoryPipe();
  ASSERT_TRUE(a->Write("* BYE\r\n").ok());
  a->Close();
  a->Close();
  EXPECT_EQ(ReadSome(*b), "* BYE\r\n");
  char c;
  auto r = b->Read(&c, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_EQ(b->Write("x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a->Write("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a->Read(&c, 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryStreamTest, CloseWakesABlockedReader) {
  auto [a, b] = CreateMemoryPipe();
  absl::Notification reading;
  absl::StatusOr<size_t> r;
  std::thread reader([&, b = b.get()] {
    reading.Notify();
    char c;
    r = b->Read(&c, 1);
  });
  reading.WaitForNotification();
  a->Close();
  reader.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST(MemoryStreamTest, CloseWriteIsAHalfClose) {
  auto [a, b] = CreateMemoryPipe();
  ASSERT_TRUE(a->Write("last").ok());
  a->CloseWrite();
  EXPECT_EQ(ReadSome(*b), "last");
  char c;
  EXPECT_EQ(*b->Read(&c, 1), 0u);
  ASSERT_TRUE(b->Write("reply").ok());
  EXPECT_EQ(ReadSome(*a), "reply");
  EXPECT_EQ(a->Write("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryStreamTest, AbortFailsThePeer) {
  auto [a, b] = CreateMemoryPipe();
  ASSERT_TRUE(a->Write("unread").ok());
  a->Abort(absl::UnavailableError("connection reset by peer"));
  char c;
  EXPECT_EQ(b->Read(&c, 1).status(), absl::UnavailableError("connection reset by peer"));
  EXPECT_EQ(b->Write("x"), absl::UnavailableError("connection reset by peer"));
}

TEST(MemoryStreamTest, ReadTimeout) {
  MemoryStreamOptions o;
  o.read_timeout = std::chrono::milliseconds(20);
  auto [a, b] = CreateMemoryPipe(o, o);
  char c;
  EXPECT_EQ(a->Read(&c, 1).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(MemoryStreamTest, LargeTransferBetweenThreads) {
  auto [a, b] = CreateMemoryPipe();
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 11));
  std::thread writer([&, a = a.get()] {
    for (size_t i = 0; i < data.size(); i += 4096) {
      ASSERT_TRUE(a->Write(absl::string_view(data).substr(i, 4096)).ok());
    }
    a->CloseWrite();
  });
  std::string got;
  std::string buf(1000, '\0');
  for (;;) {
    auto n = b->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(buf.data(), *n);
  }
  writer.join();
  EXPECT_TRUE(got == data);
}

}  // namespace
}  // namespace net
