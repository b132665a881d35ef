// A tiny IMAP server for scheduling benchmarks and network tests: it answers
// the greeting, CAPABILITY, LOGIN (any user and password), LIST (one INBOX),
// LOGOUT, and "OK" to anything else, at once. Enough for `--mode test`, so a
// job's accounts succeed without a mail server's latency. Test-only.
//
// Mode::kEndlessInbox: the same, but INBOX never ends: EXAMINE/SELECT says it
// holds a million messages, and UID FETCH sends one small message every
// `message_interval` and never completes. An `--mode export` account on it
// runs until it is cancelled (the engine stops between two messages) or its
// worker is killed: process tests use it to hold accounts.
//
// Mode::kTinyInbox: INBOX holds `inbox_messages` (set before Start; default 1) small
// messages that UID FETCH sends at once, and UID SEARCH lists: an `--mode export` account
// on it succeeds after a few round trips (scale benchmarks). LOGIN as a user whose name
// starts with "fail" is refused ([AUTHENTICATIONFAILED]): a final failure, no retry.
//
// Thread-safety: Start/Stop from one thread; connections are served on their
// own detached threads. Lifetime: Stop() (or the destructor) closes the
// listening socket; open connections end when their client leaves.
#ifndef MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_
#define MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace fleettest {

class FakeImapServer {
 public:
  enum class Mode { kInstant, kEndlessInbox, kTinyInbox };

  explicit FakeImapServer(Mode mode = Mode::kInstant, std::chrono::milliseconds message_interval =
                                                          std::chrono::milliseconds(100))
      : mode_(mode), message_interval_(message_interval) {}
  ~FakeImapServer() { Stop(); }
  FakeImapServer(const FakeImapServer&) = delete;
  FakeImapServer& operator=(const FakeImapServer&) = delete;

  // Listens on host:port (port 0: any); false on failure.
  bool Start(const std::string& host, int port);
  int port() const { return port_; }
  void set_inbox_messages(int n) { inbox_messages_ = n; }
  uint64_t logins() const { return conns_->logins.load(); }
  // Stops accepting, shuts the open connections down and waits for their threads.
  void Stop();

  // What the connection threads share with the server: the open connections, counted so
  // Stop() can wait for them (they are detached; a job may open thousands).
  struct Connections {
    std::atomic<uint64_t> logins{0};
    std::mutex mu;
    std::condition_variable done;
    std::set<int> open;  // guarded by mu; a connection closes its fd under mu
  };

 private:
  void AcceptLoop();
  const Mode mode_;
  const std::chrono::milliseconds message_interval_;
  int inbox_messages_ = 1;  // kTinyInbox
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<Connections> conns_ = std::make_shared<Connections>();
  std::thread acceptor_;
};

}  // namespace fleettest

#endif  // MIGRATOR_TESTS_DISTRIBUTED_FAKE_IMAP_H_
