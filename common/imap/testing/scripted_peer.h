// A scripted IMAP server over an in-memory pipe, for what a real server will not do
// (hostile or broken responses, exact wire checks). The script runs on its own thread.
#ifndef MIGRATOR_COMMON_IMAP_TESTING_SCRIPTED_PEER_H_
#define MIGRATOR_COMMON_IMAP_TESTING_SCRIPTED_PEER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/net/memory_stream.h"

namespace imap::testing {

class ScriptedPeer {
 public:
  // The script gets the peer; `client` is the end to hand to imap::Session::Open.
  explicit ScriptedPeer(std::function<void(ScriptedPeer&)> script,
                        net::MemoryStreamOptions client_options = {}) {
    auto pipe = net::CreateMemoryPipe(client_options, {});
    client = std::move(pipe.first);
    end_ = std::move(pipe.second);
    thread_ = std::thread([this, script] {
      script(*this);
      end_->CloseWrite();
    });
  }
  ~ScriptedPeer() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  void Send(absl::string_view s) {
    (void)end_->Write(s);
    (void)end_->Flush();
  }
  // One line without CRLF; "" at end of stream.
  std::string ReadLine() {
    for (;;) {
      size_t eol = buf_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        return line;
      }
      if (!Fill()) return "";
    }
  }
  std::string ReadBytes(size_t n) {
    while (buf_.size() < n && Fill()) {
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }
  // Reads a command line; if it ends in a literal {n} (or {n+}), answers "+" for
  // synchronizing ones, reads the bytes, and continues, returning everything joined with
  // the literal bytes inline.
  std::string ReadCommand() {
    std::string all;
    for (;;) {
      std::string line = ReadLine();
      all += line;
      size_t open = line.rfind('{');
      if (line.empty() || line.back() != '}' || open == std::string::npos) return all;
      absl::string_view num(line.data() + open + 1, line.size() - open - 2);
      bool non_sync = !num.empty() && num.back() == '+';
      if (non_sync) num.remove_suffix(1);
      size_t n = 0;
      if (!absl::SimpleAtoi(num, &n)) return all;
      if (!non_sync) Send("+ go ahead\r\n");
      all += "\r\n" + ReadBytes(n);
    }
  }
  static std::string TagOf(absl::string_view cmd) {
    return std::string(cmd.substr(0, cmd.find(' ')));
  }
  net::MemoryStream& end() { return *end_; }

  std::unique_ptr<net::MemoryStream> client;

 private:
  bool Fill() {
    char tmp[4096];
    auto n = end_->Read(tmp, sizeof(tmp));
    if (!n.ok() || *n == 0) return false;
    buf_.append(tmp, *n);
    return true;
  }
  std::unique_ptr<net::MemoryStream> end_;
  std::string buf_;
  std::thread thread_;
};

}  // namespace imap::testing

#endif  // MIGRATOR_COMMON_IMAP_TESTING_SCRIPTED_PEER_H_
