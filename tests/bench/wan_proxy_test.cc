// Unit tests of the WAN emulator (in-process proxy, loopback sockets, threads).
// Timing checks are LOWER bounds only (on a delay or cap the proxy itself imposes), so a slow
// machine cannot make them fail.
#include "tests/bench/wan_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wanproxy {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A listening loopback socket on a free port.
int Listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) {
    return -1;
  }
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  *port = ntohs(a.sin_port);
  return fd;
}

int Connect(const std::string& hostport) {
  std::string host, port;
  if (!SplitHostPort(hostport, &host, &port)) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

// Reads until EOF (or `limit` bytes).
std::string ReadAll(int fd, size_t limit = SIZE_MAX) {
  std::string out;
  char buf[65536];
  while (out.size() < limit) {
    ssize_t r = recv(fd, buf, std::min(sizeof buf, limit - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// The proxy on a background thread; stopped and joined on destruction.
class RunningProxy {
 public:
  RunningProxy(std::vector<Route> routes, double rtt_ms, double rate_mbit) {
    Options o;
    o.routes = std::move(routes);
    o.rtt_ms = rtt_ms;
    o.rate_mbit = rate_mbit;
    proxy_ = std::make_unique<WanProxy>(o);
    std::string error;
    ok_ = proxy_->Start(&error);
    EXPECT_TRUE(ok_) << error;
    if (ok_) thread_ = std::thread([this] { proxy_->Run(); });
  }
  ~RunningProxy() {
    proxy_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  const std::string& addr(size_t i = 0) const { return proxy_->bound().at(i); }
  WanProxy& proxy() { return *proxy_; }

 private:
  std::unique_ptr<WanProxy> proxy_;
  std::thread thread_;
  bool ok_ = false;
};

// A target that serves `conns` connections with `serve(fd)` each on its own thread.
class Target {
 public:
  template <typename F>
  Target(int conns, F serve) {
    fd_ = Listen(&port_);
    EXPECT_GE(fd_, 0);
    acceptor_ = std::thread([this, conns, serve] {
      for (int i = 0; i < conns; ++i) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        workers_.emplace_back([c, serve] {
          serve(c);
          close(c);
        });
      }
    });
  }
  ~Target() {
    acceptor_.join();
    for (auto& t : workers_) t.join();
    close(fd_);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// Echoes until EOF, then half-closes.
void Echo(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    if (!WriteAll(fd, std::string(buf, static_cast<size_t>(r)))) return;
  }
  shutdown(fd, SHUT_WR);
}

TEST(SplitHostPortTest, Parses) {
  std::string h, p;
  EXPECT_TRUE(SplitHostPort("127.0.0.1:143", &h, &p));
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, "143");
  EXPECT_TRUE(SplitHostPort("[::1]:0", &h, &p));
  EXPECT_EQ(h, "::1");
  EXPECT_FALSE(SplitHostPort("127.0.0.1", &h, &p));
  EXPECT_FALSE(SplitHostPort("127.0.0.1:x", &h, &p));
  EXPECT_FALSE(SplitHostPort(":80", &h, &p));
  EXPECT_FALSE(SplitHostPort("h:99999", &h, &p));
}

// Several MB each way, through the delay, with half-close propagated both ways (the echo
// target only closes after it saw our EOF; we only finish reading after its EOF).
TEST(WanProxyTest, PassesBytesExactlyBothDirectionsAndPropagatesHalfClose) {
  Target target(1, Echo);
  RunningProxy p({{"127.0.0.1:0", target.addr()}}, /*rtt_ms=*/10, /*rate_mbit=*/0);
  int fd = Connect(p.addr());
  ASSERT_GE(fd, 0);
  const std::string sent = RandomBytes(5 << 20, 1);
  std::thread writer([&] {
    EXPECT_TRUE(WriteAll(fd, sent));
    shutdown(fd, SHUT_WR);
  });
  std::string got = ReadAll(fd);
  writer.join();
  close(fd);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "payload corrupted";
  Stats s = p.proxy().stats();
  EXPECT_EQ(s.bytes_up, sent.size());
  EXPECT_EQ(s.bytes_down, sent.size());
  EXPECT_EQ(s.connections, 1u);
}

// Parallel connections on two routes with a rate cap: all bytes arrive intact.
TEST(WanProxyTest, ParallelConnectionsOnSeveralRoutesStayIntact) {
  constexpr int kConns = 3;
  Target t1(kConns, Echo), t2(kConns, Echo);
  RunningProxy p({{"127.0.0.1:0", t1.addr()}, {"127.0.0.1:0", t2.addr()}}, 4, 400);
  std::vector<std::thread> clients;
  std::vector<int> ok(2 * kConns, 0);
  for (int i = 0; i < 2 * kConns; ++i) {
    clients.emplace_back([&, i] {
      int fd = Connect(p.addr(i % 2));
      if (fd < 0) return;
      const std::string sent = RandomBytes(1 << 20, 100 + i);
      std::thread w([&] {
        WriteAll(fd, sent);
        shutdown(fd, SHUT_WR);
      });
      std::string got = ReadAll(fd);
      w.join();
      close(fd);
      ok[i] = got == sent;
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 2 * kConns; ++i) EXPECT_TRUE(ok[i]) << "connection " << i;
  EXPECT_EQ(p.proxy().stats().connections, 2u * kConns);
}

// One ping-pong takes at least the RTT (rtt/2 each way). Lower bound only.
TEST(WanProxyTest, RoundTripTakesAtLeastRtt) {
  Target target(1, Echo);
  RunningProxy p({{"127.0.0.1:0", target.addr()}}, /*rtt_ms=*/50, /*rate_mbit=*/0);
  int fd = Connect(p.addr());
  ASSERT_GE(fd, 0);
  // A first exchange so that the proxy's connect to the target is surely done.
  ASSERT_TRUE(WriteAll(fd, "a"));
  ASSERT_EQ(ReadAll(fd, 1), "a");
  auto t0 = Clock::now();
  ASSERT_TRUE(WriteAll(fd, "b"));
  ASSERT_EQ(ReadAll(fd, 1), "b");
  double rtt = SecondsSince(t0);
  EXPECT_GE(rtt, 0.050) << "round trip took " << rtt * 1000 << " ms";
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(ReadAll(fd), "");
  close(fd);
}

// 2 MB at 8 Mbit/s (1 MB/s, 64 KB burst) needs at least ~2 s; lower bound 1.9 s.
TEST(WanProxyTest, RateCapLimitsOneDirection) {
  constexpr size_t kBytes = 2 << 20;
  std::string received;
  Target target(1, [&](int fd) { received = ReadAll(fd); });
  {
    RunningProxy p({{"127.0.0.1:0", target.addr()}}, /*rtt_ms=*/0, /*rate_mbit=*/8);
    int fd = Connect(p.addr());
    ASSERT_GE(fd, 0);
    auto t0 = Clock::now();
    ASSERT_TRUE(WriteAll(fd, RandomBytes(kBytes, 7)));
    shutdown(fd, SHUT_WR);
    EXPECT_EQ(ReadAll(fd), "");  // the target closes after reading everything
    double secs = SecondsSince(t0);
    EXPECT_GE(secs, 1.9) << "2 MB at 8 Mbit/s took " << secs << " s";
    close(fd);
  }
  EXPECT_EQ(received.size(), kBytes);
}

// The cap is shared: two parallel connections (1 MB each, downstream) together still need
// >= ~2 s at 8 Mbit/s.
TEST(WanProxyTest, RateCapIsSharedByConnections) {
  constexpr size_t kBytes = 1 << 20;
  Target target(2, [](int fd) {
    WriteAll(fd, RandomBytes(kBytes, 9));
    shutdown(fd, SHUT_WR);
    ReadAll(fd);
  });
  RunningProxy p({{"127.0.0.1:0", target.addr()}}, /*rtt_ms=*/0, /*rate_mbit=*/8);
  auto t0 = Clock::now();
  std::vector<std::thread> clients;
  std::vector<size_t> got(2, 0);
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] {
      int fd = Connect(p.addr());
      if (fd < 0) return;
      got[i] = ReadAll(fd).size();
      close(fd);
    });
  }
  for (auto& t : clients) t.join();
  double secs = SecondsSince(t0);
  EXPECT_EQ(got[0], kBytes);
  EXPECT_EQ(got[1], kBytes);
  EXPECT_GE(secs, 1.9) << "2 x 1 MB at a shared 8 Mbit/s took " << secs << " s";
}

// A target that is not listening: the client's connection is closed, not hung.
TEST(WanProxyTest, UnreachableTargetClosesClient) {
  int port = 0;
  int fd0 = Listen(&port);
  close(fd0);  // nothing listens on `port` now
  RunningProxy p({{"127.0.0.1:0", "127.0.0.1:" + std::to_string(port)}}, 0, 0);
  int fd = Connect(p.addr());
  ASSERT_GE(fd, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  EXPECT_LE(recv(fd, &c, 1, 0), 0);
  close(fd);
  EXPECT_EQ(p.proxy().stats().failed_connects, 1u);
}

}  // namespace
}  // namespace wanproxy
