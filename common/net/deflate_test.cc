// COMPRESS=DEFLATE tests over in-memory pipes and a real loopback socket.
#include "common/net/deflate.h"

#include <zlib.h>

#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/net/memory_stream.h"
#include "common/net/testing/test_server.h"
#include "common/net/transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace net {
namespace {

using ::testing::HasSubstr;

MemoryStreamOptions Opts(const std::string& name, size_t max_read_chunk = 0) {
  MemoryStreamOptions o;
  o.name = name;
  o.max_read_chunk = max_read_chunk;
  return o;
}

// Reads exactly `n` bytes, failing the test on error or early end of stream.
std::string ReadN(ByteStream& s, size_t n, size_t chunk = 8192) {
  std::string out;
  std::string buf(chunk, '\0');
  while (out.size() < n) {
    auto got = s.Read(buf.data(), std::min(chunk, n - out.size()));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || *got == 0) break;
    out.append(buf.data(), *got);
  }
  return out;
}

// Half compressible text, half random bytes.
std::string TestData(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    if (rng() % 2 == 0) {
      absl::StrAppend(&out, "* ", rng() % 100000, " FETCH (UID ", rng(), " FLAGS (\\Seen))\r\n");
    } else {
      for (int i = 0; i < 64; ++i) out.push_back(static_cast<char>(rng()));
    }
  }
  out.resize(n);
  return out;
}

// Raw deflate (RFC 1951) of `data` with a final block, as another
// implementation sends it.
std::string RawDeflate(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<unsigned>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<unsigned>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(DeflateTest, RoundTripBothWays) {
  auto [a, b] = CreateMemoryPipe(Opts("client"), Opts("server"));
  auto ca = WrapDeflate(a.get());
  auto cb = WrapDeflate(b.get());
  ASSERT_TRUE(ca->Write("a1 SELECT INBOX\r\n").ok());
  ASSERT_TRUE(ca->Flush().ok());
  EXPECT_EQ(ReadN(*cb, 17), "a1 SELECT INBOX\r\n");
  ASSERT_TRUE(cb->Write("* 3 EXISTS\r\na1 OK done\r\n").ok());
  ASSERT_TRUE(cb->Flush().ok());
  EXPECT_EQ(ReadN(*ca, 24), "* 3 EXISTS\r\na1 OK done\r\n");
  EXPECT_EQ(ca->Describe(), "client +DEFLATE");
}

TEST(DeflateTest, CompressesOnTheWire) {
  auto [a, b] = CreateMemoryPipe();
  auto ca = WrapDeflate(a.get());
  const std::string text(100000, 'z');
  ASSERT_TRUE(ca->Write(text).ok());
  ASSERT_TRUE(ca->Flush().ok());
  EXPECT_LT(a->PendingForPeer(), 2000u);
  auto cb = WrapDeflate(b.get());
  EXPECT_EQ(ReadN(*cb, text.size()), text);
}

TEST(DeflateTest, LargeDataWithSplitReads) {
  // The inner stream returns at most 1000 bytes per Read.
  auto [a, b] = CreateMemoryPipe(Opts("a"), Opts("b", 1000));
  auto ca = WrapDeflate(a.get());
  auto cb = WrapDeflate(b.get());
  const std::string data = TestData(6 << 20, 1);
  std::thread writer([&] {
    for (size_t i = 0; i < data.size(); i += 100000) {
      ASSERT_TRUE(ca->Write(absl::string_view(data).substr(i, 100000)).ok());
    }
    ASSERT_TRUE(ca->Flush().ok());
  });
  std::string got = ReadN(*cb, data.size(), 3000);
  writer.join();
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(DeflateTest, ManySmallFlushesEachReadableAtOnce) {
  auto [a, b] = CreateMemoryPipe(Opts("a"), Opts("b", 7));
  auto ca = WrapDeflate(a.get());
  auto cb = WrapDeflate(b.get());
  for (int i = 0; i < 2000; ++i) {
    const std::string line = absl::StrCat("a", i, " NOOP\r\n");
    ASSERT_TRUE(ca->Write(line).ok());
    ASSERT_TRUE(ca->Flush().ok());
    // Everything flushed is decodable without waiting for more input.
    ASSERT_EQ(ReadN(*cb, line.size(), 5), line);
  }
  // A Flush with nothing new written adds nothing to the wire. (The reader may
  // leave the tail of the last sync-flush marker unread: it produced all the
  // bytes asked for.)
  const size_t pending = a->PendingForPeer();
  ASSERT_TRUE(ca->Flush().ok());
  EXPECT_EQ(a->PendingForPeer(), pending);
}

TEST(DeflateTest, ReadsAnotherImplementationsStreamToItsEnd) {
  auto [a, b] = CreateMemoryPipe(Opts("a"), Opts("b", 3));
  const std::string data = TestData(300000, 2);
  ASSERT_TRUE(a->Write(RawDeflate(data)).ok());
  a->CloseWrite();
  auto cb = WrapDeflate(b.get());
  EXPECT_TRUE(ReadN(*cb, data.size(), 5) == data);
  char c;
  auto eof = cb->Read(&c, 1);
  ASSERT_TRUE(eof.ok()) << eof.status();
  EXPECT_EQ(*eof, 0u);
}

TEST(DeflateTest, CorruptInputIsDataLoss) {
  auto [a, b] = CreateMemoryPipe(Opts("peer"), Opts("imap.example:993 (TLS)"));
  ASSERT_TRUE(a->Write(std::string("\xff\xff\xff\xff garbage", 12)).ok());
  auto cb = WrapDeflate(b.get());
  char buf[64];
  auto r = cb->Read(buf, sizeof(buf));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("imap.example:993 (TLS)"));
}

TEST(DeflateTest, DataAfterTheEndOfTheStreamIsDataLoss) {
  auto [a, b] = CreateMemoryPipe();
  ASSERT_TRUE(a->Write(RawDeflate("hello") + "trailing").ok());
  auto cb = WrapDeflate(b.get());
  EXPECT_EQ(ReadN(*cb, 5), "hello");
  char c;
  EXPECT_EQ(cb->Read(&c, 1).status().code(), absl::StatusCode::kDataLoss);
}

TEST(DeflateTest, EndOfStreamAndErrorsPassThrough) {
  {
    auto [a, b] = CreateMemoryPipe();
    auto ca = WrapDeflate(a.get());
    auto cb = WrapDeflate(b.get());
    ASSERT_TRUE(ca->Write("* BYE\r\n").ok());
    ASSERT_TRUE(ca->Flush().ok());
    a->Close();
    EXPECT_EQ(ReadN(*cb, 7), "* BYE\r\n");
    char c;
    auto r = cb->Read(&c, 1);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 0u);
  }
  {
    auto [a, b] = CreateMemoryPipe();
    auto cb = WrapDeflate(b.get());
    a->Abort(absl::UnavailableError("connection reset"));
    char c;
    EXPECT_EQ(cb->Read(&c, 1).status(), absl::UnavailableError("connection reset"));
    EXPECT_EQ(cb->Write("x").code(),
              absl::StatusCode::kOk);  // buffered in zlib
    EXPECT_EQ(cb->Flush(), absl::UnavailableError("connection reset"));
  }
}

TEST(DeflateTest, CloseEndsTheWrapperOnly) {
  auto [a, b] = CreateMemoryPipe();
  auto ca = WrapDeflate(a.get());
  ca->Close();
  ca->Close();
  EXPECT_EQ(ca->Write("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a->Write("still open").ok());
}

// Over a real socket: a plain echo server returns our compressed bytes, which
// our own inflater decodes.
TEST(DeflateTest, RoundTripOverLoopbackEcho) {
  auto server = testing::TestServer::Start(testing::EchoHandler);
  ASSERT_TRUE(server.ok()) << server.status();
  ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = (*server)->port();
  o.io_timeout = std::chrono::milliseconds(10000);
  auto conn = Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto z = WrapDeflate(conn->get());
  const std::string data = TestData(4 << 20, 3);
  for (size_t i = 0; i < data.size(); i += 65536) {
    const std::string piece = data.substr(i, 65536);
    ASSERT_TRUE(z->Write(piece).ok());
    ASSERT_TRUE(z->Flush().ok());
    ASSERT_TRUE(ReadN(*z, piece.size()) == piece) << "at offset " << i;
  }
}

}  // namespace
}  // namespace net
