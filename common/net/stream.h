// The byte-stream seam: everything above the transport (the IMAP session, the
// engine) talks to a ByteStream and never to sockets or OpenSSL directly. Tests
// use in-memory streams.
#ifndef MIGRATOR_COMMON_NET_STREAM_H_
#define MIGRATOR_COMMON_NET_STREAM_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace net {

class ProgressWatch;

// A bidirectional byte stream. Not thread-safe: one reader and one writer
// thread at most, and Read and Write may be called concurrently from those two
// threads only if the implementation says so (TcpStream/TlsStream: no; use one
// thread).
class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Blocks until at least one byte is available, then reads up to `max` bytes
  // into `buf`. Returns the count (> 0), 0 on orderly end of stream, or an
  // error: kDeadlineExceeded when the I/O timeout passes, kUnavailable when the
  // peer reset the connection or the transport failed.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t max) = 0;

  // Writes all of `data` (buffering allowed: call Flush before waiting for an
  // answer).
  virtual absl::Status Write(absl::string_view data) = 0;

  // Pushes buffered output to the peer. Default: nothing is buffered.
  virtual absl::Status Flush() { return absl::OkStatus(); }

  // Closes the stream; further calls fail. Idempotent.
  virtual void Close() = 0;

  // A short description for error messages, e.g. "imap.example.com:993 (TLS)".
  virtual std::string Describe() const = 0;

  // The progress deadlines of this stream's reads and writes (progress.h), for its user to
  // say what the bytes are for; null when the stream has none (in-memory streams).
  virtual ProgressWatch* progress() { return nullptr; }
};

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_STREAM_H_
