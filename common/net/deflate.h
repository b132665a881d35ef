// COMPRESS=DEFLATE (RFC 4978): raw deflate (no zlib header) in both directions over an
// inner stream. Flush() does a Z_SYNC_FLUSH so the peer can decode everything written.
#ifndef MIGRATOR_COMMON_NET_DEFLATE_H_
#define MIGRATOR_COMMON_NET_DEFLATE_H_

#include <memory>

#include "common/net/stream.h"

namespace net {

// Wraps `inner`, which is borrowed and must outlive the returned stream. Corrupt compressed
// input on read is kDataLoss.
std::unique_ptr<ByteStream> WrapDeflate(ByteStream* inner);

}  // namespace net

#endif  // MIGRATOR_COMMON_NET_DEFLATE_H_
