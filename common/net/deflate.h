// COMPRESS=DEFLATE (RFC 4978): raw deflate (no zlib header) in both directions
// over an inner stream. Flush() does a Z_SYNC_FLUSH so the peer can decode
// everything written.
#ifndef MIGRATOR_COMMON_NET_DEFLATE_H_
#define MIGRATOR_COMMON_NET_DEFLATE_H_

#include <memory>

#include "common/net/stream.h"

namespace net {

// Wraps `inner`, which is borrowed and must outlive the returned stream.
// Corrupt compressed input on read is kDataLoss (so is data after a peer's
// final deflate block); end of stream and errors of `inner` pass through. Write
// compresses into `inner` (memory bounded: output goes to inner->Write as it is
// produced); Flush does Z_SYNC_FLUSH then inner->Flush(), and adds nothing to
// the wire when nothing was written since the last Flush. Read returns at least
// one byte unless end of stream or error. Close() ends the wrapper only: the
// inner stream stays open for its owner to close. Describe() is inner's plus "
// +DEFLATE". Thread-safety: as `inner` (one thread). Returns nullptr only if
// zlib cannot allocate.
std::unique_ptr<ByteStream> WrapDeflate(ByteStream* inner);

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_DEFLATE_H_
