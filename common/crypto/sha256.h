// Incremental SHA-256 (OpenSSL), hex output. Not thread-safe; one per stream.
#ifndef MIGRATOR_COMMON_CRYPTO_SHA256_H_
#define MIGRATOR_COMMON_CRYPTO_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace crypto {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  // Lower-case hex digest; the object is reset afterwards.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(absl::string_view data);

}  // namespace crypto

#endif  // MIGRATOR_COMMON_CRYPTO_SHA256_H_
