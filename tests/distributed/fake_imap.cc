#include "tests/distributed/fake_imap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace fleettest {
namespace {

constexpr char kCaps[] = "IMAP4rev1 LITERAL+ ID NAMESPACE";

bool SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads one command line, literals ({N} / {N+}) included; false at EOF.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool Command(std::string* out) {
    out->clear();
    for (;;) {
      std::string line;
      if (!Line(&line)) return false;
      *out += line;
      size_t open = line.rfind('{');
      if (line.empty() || line.back() != '}' || open == std::string::npos) return true;
      bool plus = line[line.size() - 2] == '+';
      size_t n = std::strtoul(line.c_str() + open + 1, nullptr, 10);
      if (!plus && !SendAll(fd_, "+ go ahead\r\n")) return false;
      std::string literal;
      if (!Bytes(n, &literal)) return false;
      *out += literal;
    }
  }

 private:
  bool Fill() {
    char b[4096];
    ssize_t n = ::recv(fd_, b, sizeof(b), 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  bool Line(std::string* line) {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    *line = buf_.substr(0, eol);
    buf_.erase(0, eol + 2);
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    *out = buf_.substr(0, n);
    buf_.erase(0, n);
    return true;
  }
  int fd_;
  std::string buf_;
};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

constexpr uint64_t kEndlessExists = 1000000;

// Message `n` (UID n) as an untagged FETCH response with its body.
std::string MessageFetch(uint64_t n) {
  std::string body = "Message-ID: <" + std::to_string(n) +
                     "@fake.test>\r\nSubject: fake\r\n\r\nbody " + std::to_string(n) + "\r\n";
  std::string size = std::to_string(body.size());
  std::string id = std::to_string(n);
  return "* " + id + " FETCH (UID " + id +
         " FLAGS () INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" RFC822.SIZE " + size + " BODY[] {" +
         size + "}\r\n" + body + ")\r\n";
}

// EXAMINE/SELECT's untagged answer for a mailbox of `exists` messages, UIDs 1..exists.
std::string Selected(uint64_t exists) {
  return "* " + std::to_string(exists) + " EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT " +
         std::to_string(exists + 1) + "] ok\r\n";
}

// Mode::kEndlessInbox's answer to UID FETCH: one message per `every`, until
// the client goes away (never the tagged completion).
void Trickle(int fd, std::chrono::milliseconds every) {
  for (uint64_t n = 1; n <= kEndlessExists; ++n) {
    if (!SendAll(fd, MessageFetch(n))) return;
    std::this_thread::sleep_for(every);  // the trickle's pace
  }
}

// LOGIN's user (the first argument, quotes removed).
std::string LoginUser(const std::string& rest) {
  size_t at = rest.find(' ');
  if (at == std::string::npos) return "";
  std::string user = rest.substr(at + 1);
  if (!user.empty() && user[0] == '"') return user.substr(1, user.find('"', 1) - 1);
  return user.substr(0, user.find(' '));
}

void Serve(int fd, const std::shared_ptr<FakeImapServer::Connections>& conns,
           FakeImapServer::Mode mode, std::chrono::milliseconds every, int tiny_messages) {
  const bool endless = mode == FakeImapServer::Mode::kEndlessInbox;
  const bool tiny = mode == FakeImapServer::Mode::kTinyInbox;
  const uint64_t tiny_exists = static_cast<uint64_t>(tiny_messages > 0 ? tiny_messages : 0);
  LineReader in(fd);
  std::string line;
  bool ok = SendAll(fd, std::string("* OK [CAPABILITY ") + kCaps + "] fake ready\r\n");
  while (ok && in.Command(&line)) {
    size_t sp = line.find(' ');
    std::string tag = line.substr(0, sp);
    std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
    std::string verb = Upper(rest.substr(0, rest.find(' ')));
    std::string reply;
    if (verb == "CAPABILITY") {
      reply = std::string("* CAPABILITY ") + kCaps + "\r\n";
    } else if (verb == "LOGIN") {
      conns->logins.fetch_add(1);
      if (tiny && LoginUser(rest).rfind("fail", 0) == 0) {
        ok = SendAll(fd, tag + " NO [AUTHENTICATIONFAILED] invalid credentials\r\n");
        continue;
      }
    } else if (verb == "LIST") {
      reply = "* LIST (\\HasNoChildren) \"/\" INBOX\r\n";
    } else if (verb == "NAMESPACE") {
      reply = "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n";
    } else if ((endless || tiny) && (verb == "EXAMINE" || verb == "SELECT")) {
      reply = Selected(endless ? kEndlessExists : tiny_exists);
    } else if (tiny && verb == "UID" && Upper(rest).rfind("UID FETCH", 0) == 0) {
      for (uint64_t n = 1; n <= tiny_exists; ++n) reply += MessageFetch(n);
    } else if (tiny && verb == "UID" && Upper(rest).rfind("UID SEARCH", 0) == 0) {
      reply = "* SEARCH";
      for (uint64_t n = 1; n <= tiny_exists; ++n) reply += " " + std::to_string(n);
      reply += "\r\n";
    } else if (endless && verb == "UID" && Upper(rest).rfind("UID FETCH", 0) == 0) {
      Trickle(fd, every);
      break;
    } else if (verb == "LOGOUT") {
      SendAll(fd, "* BYE bye\r\n" + tag + " OK done\r\n");
      break;
    }
    ok = SendAll(fd, reply + tag + " OK done\r\n");
  }
}

// One connection's thread: serves it, then closes it and tells Stop().
void Connection(int fd, std::shared_ptr<FakeImapServer::Connections> conns,
                FakeImapServer::Mode mode, std::chrono::milliseconds every, int tiny_messages) {
  Serve(fd, conns, mode, every, tiny_messages);
  std::lock_guard<std::mutex> lock(conns->mu);
  ::close(fd);
  conns->open.erase(fd);
  conns->done.notify_all();
}

}  // namespace

bool FakeImapServer::Start(const std::string& host, int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return false;
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return true;
}

void FakeImapServer::AcceptLoop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) return;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      std::lock_guard<std::mutex> lock(conns_->mu);
      conns_->open.insert(fd);
    }
    std::thread(Connection, fd, conns_, mode_, message_interval_, inbox_messages_).detach();
  }
}

void FakeImapServer::Stop() {
  if (listen_fd_ < 0) return;
  stopping_.store(true);
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::unique_lock<std::mutex> lock(conns_->mu);
  for (int fd : conns_->open) ::shutdown(fd, SHUT_RDWR);  // ends reads and writes at once
  conns_->done.wait(lock, [this] { return conns_->open.empty(); });
}

}  // namespace fleettest
