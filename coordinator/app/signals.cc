#include "coordinator/app/signals.h"

#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace coordinator {

void SignalWatcher::BlockSignals() {
  sigset_t set = Set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWatcher::SignalWatcher(Job* job) : thread_([this, job] { Loop(job); }) {}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

sigset_t SignalWatcher::Set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

void SignalWatcher::Loop(Job* job) {
  sigset_t set = Set();
  for (int count = 0;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) return;
    if (job->finished()) {  // --linger: the end of serving, not a stop
      if (!signalled_.HasBeenNotified()) signalled_.Notify();
      continue;
    }
    std::string what = absl::StrCat("interrupted by ", strsignal(sig));
    if (++count == 1) {
      // The operator's feedback on the terminal, at once (the log has the job's own line).
      std::fprintf(stderr, "coordinator: %s: stopping cleanly (again to force)\n", what.c_str());
      job->Stop(what);
    } else {
      job->ForceStop(what + " twice");
    }
  }
}

}  // namespace coordinator
