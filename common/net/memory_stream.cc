#include "common/net/memory_stream.h"

#include <algorithm>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace net {

// Both ends' buffers. Index i of the arrays belongs to end i.
class MemoryPipeState {
 public:
  struct Inbox {       // bytes flowing towards one end
    std::string data;  // unread bytes start at read_pos
    size_t read_pos = 0;
    bool writer_closed = false;  // the other end closed or half-closed: EOF once drained
    absl::Status failure;        // non-OK: the other end aborted with this status
    size_t available() const { return data.size() - read_pos; }
  };

  absl::Mutex mu;
  absl::CondVar changed;
  Inbox inbox[2] ABSL_GUARDED_BY(mu);
  std::string unflushed[2] ABSL_GUARDED_BY(mu);  // written by end i, not yet delivered
  bool closed[2] ABSL_GUARDED_BY(mu) = {false, false};
};

namespace {

// Moves end `side`'s unflushed bytes into the peer's inbox.
void Deliver(MemoryPipeState& st, int side) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu) {
  if (st.unflushed[side].empty()) return;
  st.inbox[1 - side].data += st.unflushed[side];
  st.unflushed[side].clear();
  st.changed.SignalAll();
}

}  // namespace

MemoryStream::MemoryStream(std::shared_ptr<MemoryPipeState> state, int side,
                           MemoryStreamOptions options)
    : state_(std::move(state)), side_(side), options_(std::move(options)) {}

MemoryStream::~MemoryStream() { Close(); }

absl::StatusOr<size_t> MemoryStream::Read(char* buf, size_t max) {
  if (max == 0) return absl::InvalidArgumentError("Read with an empty buffer");
  MemoryPipeState& st = *state_;
  const bool timed = options_.read_timeout.count() > 0;
  const absl::Time deadline =
      timed ? absl::Now() + absl::FromChrono(options_.read_timeout) : absl::InfiniteFuture();
  absl::MutexLock lock(&st.mu);
  MemoryPipeState::Inbox& in = st.inbox[side_];
  for (;;) {
    if (st.closed[side_]) {
      return absl::FailedPreconditionError(absl::StrCat(options_.name, ": stream is closed"));
    }
    if (!in.failure.ok()) return in.failure;
    if (in.available() > 0) break;
    if (in.writer_closed) return 0;
    if (st.changed.WaitWithDeadline(&st.mu, deadline) && absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("read from ", options_.name, " timed out after ",
                       absl::FormatDuration(absl::FromChrono(options_.read_timeout))));
    }
  }
  size_t n = std::min(max, in.available());
  if (options_.max_read_chunk > 0) n = std::min(n, options_.max_read_chunk);
  std::memcpy(buf, in.data.data() + in.read_pos, n);
  in.read_pos += n;
  if (in.read_pos == in.data.size()) {
    in.data.clear();
    in.read_pos = 0;
  } else if (in.read_pos >= 64 * 1024 && in.read_pos * 2 >= in.data.size()) {
    in.data.erase(0, in.read_pos);
    in.read_pos = 0;
  }
  return n;
}

absl::Status MemoryStream::Write(absl::string_view data) {
  MemoryPipeState& st = *state_;
  absl::MutexLock lock(&st.mu);
  if (st.closed[side_]) {
    return absl::FailedPreconditionError(absl::StrCat(options_.name, ": stream is closed"));
  }
  if (!st.inbox[side_].failure.ok()) return st.inbox[side_].failure;
  MemoryPipeState::Inbox& out = st.inbox[1 - side_];
  if (out.writer_closed) {
    return absl::FailedPreconditionError(absl::StrCat(options_.name, ": write side is closed"));
  }
  if (st.closed[1 - side_]) {
    return absl::UnavailableError(absl::StrCat("connection closed by the peer of ", options_.name));
  }
  st.unflushed[side_].append(data.data(), data.size());
  if (!options_.deliver_on_flush) Deliver(st, side_);
  return absl::OkStatus();
}

absl::Status MemoryStream::Flush() {
  MemoryPipeState& st = *state_;
  absl::MutexLock lock(&st.mu);
  if (st.closed[side_]) {
    return absl::FailedPreconditionError(absl::StrCat(options_.name, ": stream is closed"));
  }
  if (!st.inbox[side_].failure.ok()) return st.inbox[side_].failure;
  Deliver(st, side_);
  return absl::OkStatus();
}

void MemoryStream::CloseWrite() {
  MemoryPipeState& st = *state_;
  absl::MutexLock lock(&st.mu);
  Deliver(st, side_);
  st.inbox[1 - side_].writer_closed = true;
  st.changed.SignalAll();
}

void MemoryStream::Close() {
  MemoryPipeState& st = *state_;
  absl::MutexLock lock(&st.mu);
  if (st.closed[side_]) return;
  Deliver(st, side_);
  st.closed[side_] = true;
  st.inbox[1 - side_].writer_closed = true;
  st.inbox[side_] = MemoryPipeState::Inbox();
  st.changed.SignalAll();
}

void MemoryStream::Abort(const absl::Status& status) {
  MemoryPipeState& st = *state_;
  absl::MutexLock lock(&st.mu);
  st.closed[side_] = true;
  st.unflushed[side_].clear();
  MemoryPipeState::Inbox& peer = st.inbox[1 - side_];
  peer.data.clear();
  peer.read_pos = 0;
  peer.failure = status.ok() ? absl::UnavailableError("connection aborted") : status;
  st.changed.SignalAll();
}

size_t MemoryStream::PendingForPeer() const {
  absl::MutexLock lock(&state_->mu);
  return state_->inbox[1 - side_].available();
}

std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> CreateMemoryPipe(
    const MemoryStreamOptions& first, const MemoryStreamOptions& second) {
  auto state = std::make_shared<MemoryPipeState>();
  std::unique_ptr<MemoryStream> a(new MemoryStream(state, 0, first));
  std::unique_ptr<MemoryStream> b(new MemoryStream(state, 1, second));
  return {std::move(a), std::move(b)};
}

}  // namespace net
