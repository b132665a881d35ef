#include "common/sys/signals.h"

#include <pthread.h>
#include <signal.h>

namespace sys {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

void SignalThread::BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalThread::SignalThread(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)), thread_([this] {
        sigset_t set = StopSignals();
        for (;;) {
          int sig = 0;
          if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) return;
          on_signal_(sig);
        }
      }) {}

SignalThread::~SignalThread() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace sys
