// A tiny IMAP server for scheduling benchmarks and network tests: it answers
// the greeting, CAPABILITY, LOGIN (any user and password), LIST (one INBOX),
// LOGOUT, and "OK" to anything else, at once. Enough for `--mode test`, so a
// job's accounts succeed without a mail server's latency. Test-only.
//
// Thread-safety: Start/Stop from one thread; connections are served on their
// own detached threads. Lifetime: Stop() (or the destructor) closes the
// listening socket; open connections end when their client leaves.
#ifndef MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_
#define MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_

#include <atomic>
#include <string>
#include <thread>

namespace fleettest {

class FakeImapServer {
 public:
  FakeImapServer() = default;
  ~FakeImapServer() { Stop(); }
  FakeImapServer(const FakeImapServer&) = delete;
  FakeImapServer& operator=(const FakeImapServer&) = delete;

  // Listens on host:port (port 0: any); false on failure.
  bool Start(const std::string& host, int port);
  int port() const { return port_; }
  uint64_t logins() const { return logins_.load(); }
  void Stop();

 private:
  void AcceptLoop();
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> logins_{0};
  std::thread acceptor_;
};

}  // namespace fleettest

#endif  // MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_
