// An in-memory "pipe": two connected ByteStream ends, for tests that drive a
// client (the IMAP session) against a scripted peer without sockets.
//
//   auto [client, server] = net::CreateMemoryPipe();
//   std::thread peer([&] { server->Write("* OK ready\r\n"); server->Flush();
//   ... }); auto session = imap::Session::Open(std::move(client), ...);
//
// Semantics per end:
//   - Write appends to the peer's input (immediately, or at Flush when
//     `deliver_on_flush` is set, to catch a writer that forgets to flush).
//   - Read blocks until data is available, the peer closes (then 0 = end of
//   stream once
//     drained), the peer aborts (its status), or `read_timeout` passes
//     (kDeadlineExceeded). It returns at most `max_read_chunk` bytes when that
//     is > 0 (to simulate splits).
//   - Close ends this end: the peer reads what is left then gets 0, and the
//   peer's writes
//     fail with kUnavailable. Calls on a closed end fail with
//     kFailedPrecondition.
//
// Ownership: each end is owned by its holder; the shared buffers live as long
// as either end. Thread-safety: thread-safe. Each end may be used from its own
// thread (and several threads may share one end); all state is guarded by one
// mutex shared by both ends. Memory is not bounded: buffered data grows until
// the peer reads it.
#ifndef MIGRATOR_COMMON_NET_MEMORY_STREAM_H_
#define MIGRATOR_COMMON_NET_MEMORY_STREAM_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/net/stream.h"

namespace net {

struct MemoryStreamOptions {
  // > 0: each Read returns at most this many bytes.
  size_t max_read_chunk = 0;
  // > 0: a Read that waits this long without data fails with kDeadlineExceeded.
  // 0: wait forever.
  std::chrono::milliseconds read_timeout{0};
  // Written bytes reach the peer only at Flush (like a buffering transport).
  bool deliver_on_flush = false;
  // Returned by Describe().
  std::string name = "memory";
};

class MemoryPipeState;  // private, shared by both ends

class MemoryStream final : public ByteStream {
 public:
  ~MemoryStream() override;

  absl::StatusOr<size_t> Read(char* buf, size_t max) override;
  absl::Status Write(absl::string_view data) override;
  absl::Status Flush() override;
  void Close() override;
  std::string Describe() const override { return options_.name; }

  // Half close: the peer reads what was written (and flushed), then gets end of
  // stream; this end can still read. Pending unflushed bytes are delivered
  // first.
  void CloseWrite();
  // Simulates a transport failure: the peer's pending and future Reads and
  // Writes fail with `status` (e.g. absl::UnavailableError("connection
  // reset")). Data not yet read is dropped. This end is closed.
  void Abort(const absl::Status& status);
  // Bytes written by this end (and delivered) that the peer has not read yet.
  size_t PendingForPeer() const;

 private:
  friend std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> CreateMemoryPipe(
      const MemoryStreamOptions&, const MemoryStreamOptions&);
  MemoryStream(std::shared_ptr<MemoryPipeState> state, int side, MemoryStreamOptions options);

  const std::shared_ptr<MemoryPipeState> state_;
  const int side_;  // 0 or 1: index of this end in the shared state
  const MemoryStreamOptions options_;
};

// Creates two connected ends: what `first` writes, `second` reads, and vice
// versa.
std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> CreateMemoryPipe(
    const MemoryStreamOptions& first = {}, const MemoryStreamOptions& second = {});

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_MEMORY_STREAM_H_
