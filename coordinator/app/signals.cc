#include "coordinator/app/signals.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace coordinator {

SignalWatcher::SignalWatcher(Job* job) : thread_([this, job](int sig) { OnSignal(job, sig); }) {}

void SignalWatcher::OnSignal(Job* job, int sig) {
  if (job->finished()) {  // --linger: the end of serving, not a stop
    if (!signalled_.HasBeenNotified()) signalled_.Notify();
    return;
  }
  std::string what = absl::StrCat("interrupted by ", strsignal(sig));
  if (++stops_ == 1) {
    // The operator's feedback on the terminal, at once (the log has the job's own line).
    std::fprintf(stderr, "coordinator: %s: stopping cleanly (again to force)\n", what.c_str());
    job->Stop(what);
  } else {
    job->ForceStop(what + " twice");
  }
}

}  // namespace coordinator
