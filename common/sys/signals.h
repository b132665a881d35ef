// Stop signals taken on a thread of their own: SIGINT and SIGTERM are blocked in every
// thread (BlockStopSignals() before any thread starts, so all inherit the mask) and one
// thread takes them with sigwait and calls back. No async-signal-safety constraints on the
// callback: it runs on an ordinary thread.
#ifndef MIGRATOR_COMMON_SYS_SIGNALS_H_
#define MIGRATOR_COMMON_SYS_SIGNALS_H_

#include <functional>
#include <thread>

namespace sys {

class SignalThread {
 public:
  // Blocks SIGINT, SIGTERM and SIGUSR1 (the thread's own wake-up) in the calling thread.
  static void BlockStopSignals();

  // Calls `on_signal(SIGINT or SIGTERM)` on its thread for every one that arrives, until
  // destroyed. Call BlockStopSignals() first.
  explicit SignalThread(std::function<void(int)> on_signal);
  ~SignalThread();  // stops and joins the thread
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

}  // namespace sys

#endif  // MIGRATOR_COMMON_SYS_SIGNALS_H_
