// wan_proxy: see wan_proxy.h for the link model. Single-threaded epoll (edge-triggered)
// event loop; per connection two flows (up, down), each a FIFO of timestamped chunks.
#include "tests/bench/wan_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>

namespace wanproxy {

bool SplitHostPort(const std::string& s, std::string* host, std::string* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size()) return false;
  std::string h = s.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return false;
  std::string p = s.substr(colon + 1);
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  if (p.size() > 5 || std::stoi(p) > 65535) return false;
  *host = h;
  *port = p;
  return true;
}

namespace {

constexpr size_t kChunk = 16 * 1024;          // max bytes per read (round-robin quantum)
constexpr size_t kMaxBytesPerPump = 1 << 20;  // then go back to epoll once
constexpr int kMaxIov = 64;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One direction's shared token bucket. Not thread-safe (event loop only).
struct Bucket {
  double rate = 0;  // bytes per ns; 0 = unlimited
  double tokens = 0;
  double burst = 0;
  int64_t last = 0;

  bool unlimited() const { return rate <= 0; }
  void Refill(int64_t now) {
    if (unlimited()) return;
    if (now > last) tokens = std::min(burst, tokens + (now - last) * rate);
    last = now;
  }
  size_t Allow(size_t want) const {
    if (unlimited()) return want;
    double t = std::floor(tokens);
    return t <= 0 ? 0 : std::min(want, static_cast<size_t>(t));
  }
  void Take(size_t n) {
    if (!unlimited()) tokens -= static_cast<double>(n);
  }
  // Time at which a blocked reader should be woken: when a quantum is available.
  int64_t WakeTime() const {
    double need = std::min<double>(kChunk, burst);
    if (tokens >= need) return last;
    return last + static_cast<int64_t>(std::ceil((need - tokens) / rate));
  }
};

enum class Kind { kListener, kClient, kServer, kWake };

struct Conn;
struct Endpoint {
  Kind kind;
  size_t route = 0;
  Conn* conn = nullptr;
};

struct Side {
  int fd = -1;
  bool readable = false;
  bool writable = false;
  Endpoint ep;
};

struct Chunk {
  int64_t due;
  std::string data;
  size_t off = 0;
};

// A filter's pace on one connection's bytes to the client (StreamFilter::Output): a
// bucket of at most one byte, refilled at `rate` bytes per second.
struct Pace {
  double rate = -1;  // bytes per second; < 0: not paced
  uint64_t from = 0;
  double tokens = 0;
  int64_t last = 0;

  bool on() const { return rate >= 0; }
  void Refill(int64_t now) {
    if (now > last) tokens = std::min(1.0, tokens + (now - last) * rate / 1e9);
    last = now;
  }
  // Bytes that may be written now, `written` bytes into the stream.
  uint64_t Allow(uint64_t written) const {
    return (written < from ? from - written : 0) + static_cast<uint64_t>(tokens);
  }
  void Took(uint64_t written_before, uint64_t n) {
    const uint64_t free = written_before < from ? from - written_before : 0;
    if (n > free) tokens -= static_cast<double>(n - free);
  }
  // When the next byte may go once the unpaced part is written; max for never.
  int64_t WakeTime() const {
    if (rate <= 0) return std::numeric_limits<int64_t>::max();
    return last + static_cast<int64_t>(std::ceil((1.0 - tokens) * 1e9 / rate));
  }
};

struct Flow {
  Side* src = nullptr;
  Side* dst = nullptr;
  Bucket* bucket = nullptr;
  std::atomic<uint64_t>* counter = nullptr;
  std::deque<Chunk> q;
  size_t queued = 0;
  uint64_t written = 0;  // to dst, in all
  Pace pace;
  bool eof_read = false;
  int64_t eof_due = 0;
  bool eof_sent = false;
};

struct Conn {
  Side client;
  Side server;
  bool connected = false;
  bool dead = false;
  std::unique_ptr<StreamFilter> filter;
  bool closing = false;       // the filter asked to close once the client's queue is written
  bool resetting = false;     // with closing: abort (RST) instead of FIN
  bool half_closing = false;  // the filter asked to end the client's stream only
  Flow up;                    // client -> server
  Flow down;                  // server -> client
};

struct Listener {
  int fd = -1;
  Endpoint ep;
  sockaddr_storage target{};
  socklen_t target_len = 0;
};

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

struct WanProxy::Impl {
  Options opt;
  int64_t delay_ns = 0;
  size_t max_queue = 0;
  int ep = -1;
  int wake = -1;
  Endpoint wake_ep{Kind::kWake};
  std::vector<Listener> listeners;
  std::vector<std::unique_ptr<Conn>> conns;
  size_t rr = 0;
  Bucket up_bucket, down_bucket;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bytes_up{0}, bytes_down{0}, connections{0}, active{0}, failed_connects{0};

  ~Impl() {
    for (auto& c : conns) Close(c.get(), /*reset=*/true);
    for (auto& l : listeners) {
      if (l.fd >= 0) close(l.fd);
    }
    if (wake >= 0) close(wake);
    if (ep >= 0) close(ep);
  }

  void Close(Conn* c, bool reset) {
    if (c->dead) return;
    c->dead = true;
    for (Side* s : {&c->client, &c->server}) {
      if (s->fd < 0) continue;
      if (reset) {
        linger lg{1, 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      close(s->fd);
      s->fd = -1;
    }
    active.fetch_sub(1, std::memory_order_relaxed);
  }

  bool AddFd(int fd, Endpoint* e) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = e;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  void Accept(Listener& l) {
    for (;;) {
      int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          std::fprintf(stderr, "wan_proxy: accept: %s\n", std::strerror(errno));
        }
        return;
      }
      connections.fetch_add(1, std::memory_order_relaxed);
      active.fetch_add(1, std::memory_order_relaxed);
      auto c = std::make_unique<Conn>();
      c->client.fd = fd;
      c->client.ep = Endpoint{Kind::kClient, l.ep.route, c.get()};
      c->server.ep = Endpoint{Kind::kServer, l.ep.route, c.get()};
      c->up.src = &c->client;
      c->up.dst = &c->server;
      c->up.bucket = &up_bucket;
      c->up.counter = &bytes_up;
      c->down.src = &c->server;
      c->down.dst = &c->client;
      c->down.bucket = &down_bucket;
      c->down.counter = &bytes_down;
      if (opt.filter) c->filter = opt.filter();
      SetNoDelay(fd);
      int sfd = socket(l.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      bool ok = sfd >= 0;
      if (ok) {
        c->server.fd = sfd;
        SetNoDelay(sfd);
        int r = connect(sfd, reinterpret_cast<sockaddr*>(&l.target), l.target_len);
        if (r == 0) {
          c->connected = true;
        } else if (errno != EINPROGRESS) {
          ok = false;
        }
      }
      ok = ok && AddFd(fd, &c->client.ep) && AddFd(sfd, &c->server.ep);
      if (!ok) {
        failed_connects.fetch_add(1, std::memory_order_relaxed);
        Close(c.get(), /*reset=*/true);
      }
      conns.push_back(std::move(c));
    }
  }

  void OnEvent(Endpoint* e, uint32_t events) {
    switch (e->kind) {
      case Kind::kWake: {
        uint64_t v;
        while (read(wake, &v, sizeof v) > 0) {
        }
        return;
      }
      case Kind::kListener:
        Accept(listeners[e->route]);
        return;
      case Kind::kClient:
      case Kind::kServer:
        break;
    }
    Conn* c = e->conn;
    if (c->dead) return;
    Side* s = e->kind == Kind::kClient ? &c->client : &c->server;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->readable = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
      if (e->kind == Kind::kServer && !c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
          failed_connects.fetch_add(1, std::memory_order_relaxed);
          Close(c, /*reset=*/true);
          return;
        }
        if (!(events & EPOLLOUT)) return;  // HUP without error: let a read find out
        c->connected = true;
      }
      s->writable = true;
    }
  }

  bool CanReadIgnoringTokens(const Conn* c, const Flow& f) const {
    return !c->dead && !c->closing && f.src->readable && !f.eof_read && f.queued < max_queue;
  }

  // Reads at most one quantum. Returns bytes read (0 when nothing was read).
  size_t ReadOnce(Conn* c, Flow& f, int64_t now) {
    size_t want = f.bucket->Allow(std::min(kChunk, max_queue - f.queued));
    if (want == 0) return 0;
    std::string buf(want, '\0');
    for (;;) {
      ssize_t r = recv(f.src->fd, buf.data(), want, MSG_DONTWAIT);
      if (r > 0) {
        buf.resize(static_cast<size_t>(r));
        f.bucket->Take(static_cast<size_t>(r));
        if (c->filter) {
          Filter(c, &f == &c->up, buf, now);
          return static_cast<size_t>(r);
        }
        f.queued += static_cast<size_t>(r);
        f.q.push_back(Chunk{now + delay_ns, std::move(buf)});
        return static_cast<size_t>(r);
      }
      if (r == 0) {
        f.eof_read = true;
        f.eof_due = now + delay_ns;
        f.src->readable = false;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        f.src->readable = false;
        return 0;
      }
      Close(c, /*reset=*/true);
      return 0;
    }
  }

  // Runs the connection's filter on bytes read from the client (`up`) or the server and
  // queues what it says each way.
  void Filter(Conn* c, bool up, const std::string& data, int64_t now) {
    StreamFilter::Output out;
    if (up) {
      c->filter->FromClient(data, &out);
    } else {
      c->filter->FromServer(data, &out);
    }
    for (auto [flow, bytes] :
         {std::make_pair(&c->up, &out.to_server), std::make_pair(&c->down, &out.to_client)}) {
      if (bytes->empty()) continue;
      flow->queued += bytes->size();
      flow->q.push_back(Chunk{now + delay_ns, std::move(*bytes)});
    }
    if (out.close || out.reset) c->closing = true;
    if (out.reset) c->resetting = true;
    if (out.half_close) c->half_closing = true;
    if (out.pace_rate >= 0) c->down.pace = Pace{out.pace_rate, out.pace_from, 0, now};
  }

  void WriteDue(Conn* c, Flow& f, int64_t now) {
    if (c->dead) return;
    if (c->closing && &f == &c->down && f.q.empty()) {
      Close(c, /*reset=*/c->resetting);
      return;
    }
    if (c->half_closing && &f == &c->down && f.q.empty() && !f.eof_sent) {
      shutdown(f.dst->fd, SHUT_WR);
      f.eof_sent = true;
    }
    if (f.dst == &c->server && !c->connected) return;
    if (f.pace.on()) f.pace.Refill(now);
    while (f.dst->writable && !f.q.empty() && f.q.front().due <= now) {
      uint64_t allowed = f.pace.on() ? f.pace.Allow(f.written) : UINT64_MAX;
      if (allowed == 0) break;  // paced: the event loop wakes up for the next byte
      iovec iov[kMaxIov];
      int n = 0;
      for (auto it = f.q.begin(); it != f.q.end() && n < kMaxIov && it->due <= now && allowed > 0;
           ++it) {
        iov[n].iov_base = it->data.data() + it->off;
        iov[n].iov_len = std::min<uint64_t>(it->data.size() - it->off, allowed);
        allowed -= iov[n].iov_len;
        ++n;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n;
      ssize_t w = sendmsg(f.dst->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          f.dst->writable = false;
          return;
        }
        Close(c, /*reset=*/true);
        return;
      }
      size_t left = static_cast<size_t>(w);
      if (f.pace.on()) f.pace.Took(f.written, left);
      f.written += left;
      f.queued -= left;
      f.counter->fetch_add(left, std::memory_order_relaxed);
      while (left > 0) {
        Chunk& h = f.q.front();
        size_t rest = h.data.size() - h.off;
        if (left >= rest) {
          left -= rest;
          f.q.pop_front();
        } else {
          h.off += left;
          left = 0;
        }
      }
    }
    if (f.q.empty() && f.eof_read && !f.eof_sent && f.eof_due <= now) {
      shutdown(f.dst->fd, SHUT_WR);
      f.eof_sent = true;
      if (c->up.eof_sent && c->down.eof_sent) Close(c, /*reset=*/false);
    }
    if (!c->dead && c->closing && &f == &c->down && f.q.empty()) Close(c, c->resetting);
    if (!c->dead && c->half_closing && &f == &c->down && f.q.empty() && !f.eof_sent) {
      shutdown(f.dst->fd, SHUT_WR);
      f.eof_sent = true;
    }
  }

  // Moves what can move now. Returns true when more work is possible at once.
  bool Pump(int64_t now) {
    up_bucket.Refill(now);
    down_bucket.Refill(now);
    for (auto& c : conns) {
      WriteDue(c.get(), c->up, now);
      WriteDue(c.get(), c->down, now);
    }
    size_t total = 0;
    bool progress = true;
    size_t n = conns.size();
    while (progress && total < kMaxBytesPerPump) {
      progress = false;
      for (size_t i = 0; i < n; ++i) {
        Conn* c = conns[(rr + i) % n].get();
        for (Flow* f : {&c->up, &c->down}) {
          if (!CanReadIgnoringTokens(c, *f)) continue;
          bool was_eof = f->eof_read;
          size_t r = ReadOnce(c, *f, now);
          total += r;
          if (r > 0 || f->eof_read != was_eof) progress = true;
        }
      }
    }
    if (n > 0) rr = (rr + 1) % n;
    for (auto& c : conns) {
      WriteDue(c.get(), c->up, now);
      WriteDue(c.get(), c->down, now);
    }
    // Sweep closed connections (no epoll event of this round refers to them any more).
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [](const std::unique_ptr<Conn>& c) { return c->dead; }),
                conns.end());
    return total >= kMaxBytesPerPump;
  }

  // Milliseconds until something needs doing without a socket event; -1 for never.
  int Timeout(int64_t now, bool more) const {
    if (more) return 0;
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const auto& c : conns) {
      for (const Flow* f : {&c->up, &c->down}) {
        bool dst_connected = f->dst != &c->server || c->connected;
        if (!f->q.empty()) {
          const bool paced = f->pace.on() && f->pace.Allow(f->written) == 0;
          if (dst_connected && f->dst->writable) {
            next = std::min(
                next, paced ? std::max(f->q.front().due, f->pace.WakeTime()) : f->q.front().due);
          }
        } else if (dst_connected && f->eof_read && !f->eof_sent) {
          next = std::min(next, f->eof_due);
        }
        if (CanReadIgnoringTokens(c.get(), *f)) {
          // Readable and room in the queue: only tokens can be missing.
          next = std::min(next, f->bucket->unlimited() ? now : f->bucket->WakeTime());
        }
      }
    }
    if (next == std::numeric_limits<int64_t>::max()) return -1;
    if (next <= now) return 0;
    int64_t ms = (next - now + 999999) / 1000000;  // round up: never early
    return static_cast<int>(std::min<int64_t>(ms, 60000));
  }
};

WanProxy::WanProxy(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
}

WanProxy::~WanProxy() = default;

bool WanProxy::Start(std::string* error) {
  Impl& m = *impl_;
  const Options& o = m.opt;
  if (o.routes.empty()) {
    *error = "no route";
    return false;
  }
  if (o.rtt_ms < 0 || o.rate_mbit < 0) {
    *error = "negative rtt or rate";
    return false;
  }
  m.delay_ns = static_cast<int64_t>(std::llround(o.rtt_ms * 1e6 / 2));
  double bytes_per_s = o.rate_mbit * 1e6 / 8;
  for (Bucket* b : {&m.up_bucket, &m.down_bucket}) {
    b->rate = bytes_per_s / 1e9;
    b->burst = std::max(64.0 * 1024, bytes_per_s * 0.005);
    b->tokens = b->burst;
    b->last = NowNs();
  }
  if (o.max_queue_bytes > 0) {
    m.max_queue = o.max_queue_bytes;
  } else if (bytes_per_s > 0) {
    m.max_queue = (4u << 20) + static_cast<size_t>(bytes_per_s * m.delay_ns / 1e9);
  } else {
    m.max_queue = 8u << 20;
  }
  m.ep = epoll_create1(EPOLL_CLOEXEC);
  m.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.ep < 0 || m.wake < 0) {
    *error = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &m.wake_ep;
  epoll_ctl(m.ep, EPOLL_CTL_ADD, m.wake, &ev);

  m.listeners.resize(o.routes.size());
  for (size_t i = 0; i < o.routes.size(); ++i) {
    Listener& l = m.listeners[i];
    l.ep = Endpoint{Kind::kListener, i, nullptr};
    std::string lh, lp, th, tp;
    if (!SplitHostPort(o.routes[i].listen, &lh, &lp)) {
      *error = "bad listen address '" + o.routes[i].listen + "' (want host:port)";
      return false;
    }
    if (!SplitHostPort(o.routes[i].target, &th, &tp)) {
      *error = "bad target address '" + o.routes[i].target + "' (want host:port)";
      return false;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int g = getaddrinfo(th.c_str(), tp.c_str(), &hints, &res);
    if (g != 0 || res == nullptr) {
      *error = "cannot resolve target " + o.routes[i].target + ": " + gai_strerror(g);
      return false;
    }
    std::memcpy(&l.target, res->ai_addr, res->ai_addrlen);
    l.target_len = res->ai_addrlen;
    freeaddrinfo(res);

    hints.ai_flags = AI_PASSIVE;
    g = getaddrinfo(lh.c_str(), lp.c_str(), &hints, &res);
    if (g != 0 || res == nullptr) {
      *error = "cannot resolve listen " + o.routes[i].listen + ": " + gai_strerror(g);
      return false;
    }
    l.fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    bool ok = l.fd >= 0 && setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
              bind(l.fd, res->ai_addr, res->ai_addrlen) == 0 && listen(l.fd, 512) == 0;
    freeaddrinfo(res);
    if (!ok) {
      *error = "cannot listen on " + o.routes[i].listen + ": " + std::strerror(errno);
      return false;
    }
    sockaddr_storage sa{};
    socklen_t sl = sizeof sa;
    getsockname(l.fd, reinterpret_cast<sockaddr*>(&sa), &sl);
    int port = sa.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
    bound_.push_back((lh.find(':') != std::string::npos ? "[" + lh + "]" : lh) + ":" +
                     std::to_string(port));
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = &l.ep;
    epoll_ctl(m.ep, EPOLL_CTL_ADD, l.fd, &ev);
  }
  return true;
}

void WanProxy::Run() {
  Impl& m = *impl_;
  epoll_event events[128];
  bool more = false;
  while (!m.stop.load()) {
    int n = epoll_wait(m.ep, events, 128, m.Timeout(NowNs(), more));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "wan_proxy: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      m.OnEvent(static_cast<Endpoint*>(events[i].data.ptr), events[i].events);
    }
    more = m.Pump(NowNs());
  }
  for (auto& c : m.conns) m.Close(c.get(), /*reset=*/true);
  m.conns.clear();
}

void WanProxy::Stop() {
  impl_->stop.store(true);
  uint64_t one = 1;
  ssize_t r = write(impl_->wake, &one, sizeof one);
  (void)r;
}

Stats WanProxy::stats() const {
  Stats s;
  s.bytes_up = impl_->bytes_up.load(std::memory_order_relaxed);
  s.bytes_down = impl_->bytes_down.load(std::memory_order_relaxed);
  s.connections = impl_->connections.load(std::memory_order_relaxed);
  s.active = impl_->active.load(std::memory_order_relaxed);
  s.failed_connects = impl_->failed_connects.load(std::memory_order_relaxed);
  return s;
}

}  // namespace wanproxy
