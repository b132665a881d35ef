// What a gRPC callback reactor may rely on, told to ThreadSanitizer: every callback of a
// reactor, and every call that starts an operation on it from another thread, happens
// before its OnDone (gRPC's guarantee). gRPC keeps that order in libgrpc, which Debian
// builds without TSan, so a TSan build would report the reactor's `delete this` in OnDone
// as a race with them. In any other build both helpers are empty.
#ifndef MIGRATOR_COMMON_RPC_REACTOR_ORDER_H_
#define MIGRATOR_COMMON_RPC_REACTOR_ORDER_H_

#if defined(__SANITIZE_THREAD__)
#define MIG_REACTOR_ORDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MIG_REACTOR_ORDER_TSAN 1
#endif
#endif

#ifdef MIG_REACTOR_ORDER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace rpc {

// At its end (every return path): what this thread did with `reactor` happens before the
// reactor's OnDone. One at the top of each callback and of each call that starts a read, a
// write or Finish.
class ReactorStep {
 public:
  explicit ReactorStep(const void* reactor) : reactor_(const_cast<void*>(reactor)) {}
  ~ReactorStep() {
#ifdef MIG_REACTOR_ORDER_TSAN
    __tsan_release(reactor_);
#endif
  }
  ReactorStep(const ReactorStep&) = delete;
  ReactorStep& operator=(const ReactorStep&) = delete;

 private:
  void* reactor_;
};

// First in OnDone: everything the ReactorSteps of `reactor` covered happened before.
inline void ReactorDone(const void* reactor) {
#ifdef MIG_REACTOR_ORDER_TSAN
  __tsan_acquire(const_cast<void*>(reactor));
#else
  (void)reactor;
#endif
}

}  // namespace rpc

#endif  // MIGRATOR_COMMON_RPC_REACTOR_ORDER_H_
