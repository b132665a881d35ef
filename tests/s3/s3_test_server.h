// A throwaway S3 server for tests: s3rver behind a SigV4-verifying proxy
// (tests/s3/s3_server.sh, tests/s3/sigv4_proxy.py). This class runs the script and parses
// its KEY=VALUE output.
//
//   auto server = testing_s3::S3TestServer::Start();
//   if (server.status().code() == absl::StatusCode::kUnavailable) -> skip (no s3rver)
//   storage::S3Options o = (*server)->Options("my/prefix");
//   auto store = storage::S3Store::Create(o);
//
// The script is found through MIGRATOR_SOURCE_DIR (set by ctest), else the path compiled
// in (MIGRATOR_S3_SERVER_SCRIPT).
//
// Lifetime: the destructor stops both servers and deletes their directory (kept, with its
// path printed, when a test failed). A watcher started by the script also stops them when
// this process dies.
// Thread-safety: const methods may be called from any thread; Inject/ResetStats are
// serialized by the proxy.
#ifndef MIGRATOR_TESTS_S3_S3_TEST_SERVER_H_
#define MIGRATOR_TESTS_S3_S3_TEST_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/storage/s3_store.h"

namespace testing_s3 {

// Counters of the verifying proxy.
struct ProxyStats {
  int verified = 0;
  int rejected = 0;
  int injected = 0;
  std::map<std::string, int> by_method;  // verified requests per HTTP method
};

class S3TestServer {
 public:
  // kUnavailable when the script reports that s3rver cannot be installed (exit 77): the
  // message holds the reason. Other failures: kInternal.
  static absl::StatusOr<std::unique_ptr<S3TestServer>> Start(
      const std::string& bucket = "test-bucket");
  ~S3TestServer();

  const std::string& endpoint() const { return endpoint_; }                // through the verifier
  const std::string& direct_endpoint() const { return direct_endpoint_; }  // s3rver itself
  const std::string& bucket() const { return bucket_; }
  const std::string& dir() const { return dir_; }

  // Options for a store at s3://bucket/prefix through the verifying proxy, with the right
  // credentials and short retry backoffs.
  storage::S3Options Options(const std::string& prefix) const;

  // The proxy's admin API (see sigv4_proxy.py).
  absl::StatusOr<ProxyStats> Stats() const;
  absl::Status ResetStats() const;
  // The next `count` verified requests (of `method` if not empty) get HTTP `status` with
  // S3 error `code` instead of reaching s3rver; status 0: the connection is closed without a
  // reply. With `delay_ms`, the reply comes that late (status 0: the real one, delayed).
  absl::Status Inject(int status, const std::string& code, int count,
                      const std::string& method = "", int delay_ms = 0) const;

 private:
  S3TestServer() = default;
  absl::StatusOr<std::string> Admin(const std::string& method, const std::string& path) const;

  std::string script_;
  std::string dir_;
  std::string endpoint_;
  std::string direct_endpoint_;
  std::string bucket_;
  std::string access_key_;
  std::string secret_key_;
};

}  // namespace testing_s3

#endif  // MIGRATOR_TESTS_S3_S3_TEST_SERVER_H_
