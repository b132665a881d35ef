// ThreadSanitizer builds only (MIGRATOR_TSAN): tells TSan about Abseil's synchronization.
//
// Debian's Abseil is compiled without TSan, so the lock word of an absl::Mutex is changed in
// code TSan does not see: every access guarded by an absl::Mutex (ours and gRPC's) would be
// reported as a race. This file defines the Mutex, CondVar and Notification entry points
// in the executable; the dynamic linker binds every call (ours, gRPC's, Abseil's own) to
// them; each one calls the library's function (dlsym RTLD_NEXT) and reports the lock,
// unlock or happens-before edge through TSan's annotation interface.
//
// Linked into every executable of a TSan build; never into any other build.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

#define MIG_STR2(x) #x
#define MIG_STR(x) MIG_STR2(x)

namespace {

// "_ZN[K]4absl<len><ns><rest>": a mangled name in Abseil's inline namespace (K: a const
// member function).
std::string Mangled(const char* rest, bool is_const) {
  const std::string ns = MIG_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK" : "_ZN") + "4absl" + std::to_string(ns.size()) + ns + rest;
}

template <typename Fn>
Fn Real(const char* rest, bool is_const = false) {
  const std::string name = Mangled(rest, is_const);
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

using MuFn = void (*)(absl::Mutex*);
using MuBoolFn = bool (*)(absl::Mutex*);
using MuCondFn = void (*)(absl::Mutex*, const absl::Condition&);
using MuCondBoolFn = bool (*)(absl::Mutex*, const absl::Condition&);
using MuCondDurFn = bool (*)(absl::Mutex*, const absl::Condition&, absl::Duration);
using MuCondTimeFn = bool (*)(absl::Mutex*, const absl::Condition&, absl::Time);

// > 0 while this thread is inside one of the functions below: Abseil calls some of them from
// others (AwaitWithTimeout calls AwaitWithDeadline, Notification its Mutex); only the
// outermost call is reported.
thread_local int depth = 0;

struct Outermost {
  Outermost() : outer(depth++ == 0) {}
  ~Outermost() { --depth; }
  const bool outer;
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static const MuFn real = Real<MuFn>("5Mutex4LockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  static const MuFn real = Real<MuFn>("5Mutex6UnlockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

bool Mutex::TryLock() {
  static const MuBoolFn real = Real<MuBoolFn>("5Mutex7TryLockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool ok = real(this);
  __tsan_mutex_post_lock(this, ok ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed, 0);
  return ok;
}

void Mutex::ReaderLock() {
  static const MuFn real = Real<MuFn>("5Mutex10ReaderLockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

void Mutex::ReaderUnlock() {
  static const MuFn real = Real<MuFn>("5Mutex12ReaderUnlockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

bool Mutex::ReaderTryLock() {
  static const MuBoolFn real = Real<MuBoolFn>("5Mutex13ReaderTryLockEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  const unsigned read = __tsan_mutex_read_lock;
  __tsan_mutex_pre_lock(this, read | __tsan_mutex_try_lock);
  const bool ok = real(this);
  __tsan_mutex_post_lock(this, read | (ok ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed),
                         0);
  return ok;
}

void Mutex::LockWhen(const Condition& cond) {
  static const MuCondFn real = Real<MuCondFn>("5Mutex8LockWhenERKNS0_9ConditionE");
  Outermost guard;
  if (!guard.outer) return real(this, cond);
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const MuCondDurFn real =
      Real<MuCondDurFn>("5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Outermost guard;
  if (!guard.outer) return real(this, cond, timeout);
  __tsan_mutex_pre_lock(this, 0);
  const bool r = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

// Await*, Wait*: the mutex is released while waiting and held again on return. TSan ignores
// what the thread does between a pre- and a post- annotation: the conditions Abseil
// evaluates under the mutex, here and inside Unlock on the unlocking thread.
void Mutex::Await(const Condition& cond) {
  static const MuCondFn real = Real<MuCondFn>("5Mutex5AwaitERKNS0_9ConditionE");
  Outermost guard;
  if (!guard.outer) return real(this, cond);
  __tsan_mutex_pre_unlock(this, 0);
  real(this, cond);
  __tsan_mutex_post_unlock(this, 0);
  __tsan_mutex_pre_lock(this, 0);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static const MuCondDurFn real =
      Real<MuCondDurFn>("5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Outermost guard;
  if (!guard.outer) return real(this, cond, timeout);
  __tsan_mutex_pre_unlock(this, 0);
  const bool r = real(this, cond, timeout);
  __tsan_mutex_post_unlock(this, 0);
  __tsan_mutex_pre_lock(this, 0);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static const MuCondTimeFn real =
      Real<MuCondTimeFn>("5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Outermost guard;
  if (!guard.outer) return real(this, cond, deadline);
  __tsan_mutex_pre_unlock(this, 0);
  const bool r = real(this, cond, deadline);
  __tsan_mutex_post_unlock(this, 0);
  __tsan_mutex_pre_lock(this, 0);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

void CondVar::Wait(Mutex* mu) {
  using Fn = void (*)(CondVar*, Mutex*);
  static const Fn real = Real<Fn>("7CondVar4WaitEPNS0_5MutexE");
  Outermost guard;
  if (!guard.outer) return real(this, mu);
  __tsan_mutex_pre_unlock(mu, 0);
  real(this, mu);
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  using Fn = bool (*)(CondVar*, Mutex*, Duration);
  static const Fn real = Real<Fn>("7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Outermost guard;
  if (!guard.outer) return real(this, mu, timeout);
  __tsan_mutex_pre_unlock(mu, 0);
  const bool r = real(this, mu, timeout);
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
  return r;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  using Fn = bool (*)(CondVar*, Mutex*, Time);
  static const Fn real = Real<Fn>("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Outermost guard;
  if (!guard.outer) return real(this, mu, deadline);
  __tsan_mutex_pre_unlock(mu, 0);
  const bool r = real(this, mu, deadline);
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
  return r;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const MuCondTimeFn real =
      Real<MuCondTimeFn>("5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Outermost guard;
  if (!guard.outer) return real(this, cond, deadline);
  __tsan_mutex_pre_lock(this, 0);
  const bool r = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

void Notification::Notify() {
  using Fn = void (*)(Notification*);
  static const Fn real = Real<Fn>("12Notification6NotifyEv");
  Outermost guard;
  if (!guard.outer) return real(this);
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  using Fn = void (*)(const Notification*);
  static const Fn real = Real<Fn>("12Notification19WaitForNotificationEv", true);
  Outermost guard;
  if (!guard.outer) return real(this);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  using Fn = bool (*)(const Notification*, Duration);
  static const Fn real =
      Real<Fn>("12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  Outermost guard;
  if (!guard.outer) return real(this, timeout);
  const bool r = real(this, timeout);
  if (r) __tsan_acquire(const_cast<Notification*>(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl
