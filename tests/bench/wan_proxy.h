// wan_proxy: a TCP proxy for loopback benchmarks that emulates a WAN link (the kernel here
// has no netem): a fixed one-way delay and a bandwidth cap.
//
// Model (per route set, i.e. per WanProxy instance):
//   - Two directions: "up" (client -> target) and "down" (target -> client).
//   - Bandwidth: ONE token bucket per direction, shared by every connection of every route of
//     this proxy. N parallel connections therefore cannot move more than the link's rate in
//     either direction, like N TCP streams over one access link. The bucket is applied where
//     bytes enter the proxy (reads); the readers that want tokens are served round-robin in
//     chunks of at most 16 KB, so a bulk stream cannot starve a command channel. The bucket
//     holds at most max(64 KB, 5 ms of rate) of burst and starts full.
//   - Delay: bytes read at time t are written to the other side at t + rtt/2 (never earlier),
//     in order, per direction and connection (timestamped queue). A half-close (EOF) is
//     delayed the same way and propagated with shutdown(SHUT_WR) after the data before it.
//     A reset or socket error on either side aborts the connection (RST to both sides).
//   - Memory: a direction stops reading from its source while its queue holds more than
//     max_queue_bytes (default 4 MB + one-way bandwidth-delay product); back-pressure then
//     reaches the sender through TCP.
//   - Nagle is off on both sides (TCP_NODELAY) so no delay is added beyond the emulated one.
//
// Filters: Options::filter, when set, gives every connection a StreamFilter that sees the
// bytes as read (before the delay) and says what to forward each way, when to close, and
// when to slow the bytes to the client down to a drip or stop them: the fault proxy
// (tests/fixtures/fault_proxy.h) injects IMAP replies and stalls this way.
//
// Threading: Start() and Run() on one thread; Stop() and stats() from any thread. One event
// loop thread (epoll, edge-triggered), no busy-waiting: the loop sleeps until a socket event,
// the next queued chunk's due time, or the next token refill a blocked reader needs.
#ifndef TESTS_BENCH_WAN_PROXY_H_
#define TESTS_BENCH_WAN_PROXY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wanproxy {

struct Route {
  std::string listen;  // "host:port"; port 0 picks a free port
  std::string target;  // "host:port"
};

// Rewrites one connection's byte streams. Called on the event loop thread.
class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  struct Output {
    std::string to_server;  // forwarded up (after the delay, like any byte)
    std::string to_client;  // forwarded down
    // Close both sides (FIN) once what is queued for the client is written; nothing more
    // is read from either side.
    bool close = false;
    // Instead: once what is queued for the client is written, abort both sides (RST).
    bool reset = false;
    // Instead: once what is queued for the client is written, end the stream to the client
    // (shutdown, FIN) and keep the rest open: the client's bytes still reach the server,
    // nothing more reaches the client (the filter drops it).
    bool half_close = false;
    // When >= 0: from byte `pace_from` of the stream to the client on (counted from the
    // connection's start, as the filter hands bytes out), at most `pace_rate` bytes per
    // second reach the client, one byte at a time (0: none any more, a stall). Bytes before
    // pace_from go at the link's speed. Replaces an earlier pace of the connection.
    double pace_rate = -1;
    uint64_t pace_from = 0;
  };
  virtual void FromClient(const std::string& data, Output* out) = 0;
  virtual void FromServer(const std::string& data, Output* out) = 0;
};

struct Options {
  std::vector<Route> routes;
  // When set: one filter per accepted connection (unset: bytes pass unchanged).
  std::function<std::unique_ptr<StreamFilter>()> filter;
  double rtt_ms = 0;     // round-trip time added (rtt/2 each way)
  double rate_mbit = 0;  // per-direction cap in Mbit/s (10^6 bit/s); 0 = unlimited
  // Per connection and direction; 0 = 4 MB + one-way bandwidth-delay product (8 MB with no
  // rate cap).
  size_t max_queue_bytes = 0;
};

struct Stats {
  uint64_t bytes_up = 0;     // client -> target, written
  uint64_t bytes_down = 0;   // target -> client, written
  uint64_t connections = 0;  // accepted so far
  uint64_t active = 0;       // open now
  uint64_t failed_connects = 0;
};

class WanProxy {
 public:
  explicit WanProxy(Options options);
  ~WanProxy();
  WanProxy(const WanProxy&) = delete;
  WanProxy& operator=(const WanProxy&) = delete;

  // Binds and listens on every route. After success, bound() holds "host:port" per route in
  // order (connections are queued by the kernel from here on).
  bool Start(std::string* error);
  const std::vector<std::string>& bound() const { return bound_; }

  // The event loop; returns after Stop() (closing every connection) or on a fatal error.
  void Run();
  // Thread-safe; Run() returns soon after.
  void Stop();
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> bound_;
};

// Parses "host:port" ("[v6]:port" too). Returns false on malformed input.
bool SplitHostPort(const std::string& s, std::string* host, std::string* port);

}  // namespace wanproxy

#endif  // TESTS_BENCH_WAN_PROXY_H_
