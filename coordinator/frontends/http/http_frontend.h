// The coordinator's HTTP front end (--metrics-listen ADDR): one civetweb server, read-only,
// plaintext, GET only, serving
//   /metrics       the job's Prometheus metrics (job_metrics.h), text format 0.0.4
//   /              the status page (status_page.h): one self-contained HTML page
//   /api/status    the job summary: the JSON of `migratectl status --json`
//   /api/accounts  the accounts: the JSON of `migratectl accounts --json`
//                  (?state=pending|running|succeeded|failed|cancelled filters)
// Nothing else: no files are served. It carries no secret (the status API's figures: account
// emails, states, counters, worker ids and error messages).
//
// Why civetweb's CivetServer and not prometheus-cpp's Exposer: the Exposer (built on
// civetweb) serves only collectables on URIs of its own and keeps its CivetServer private,
// so a page beside /metrics would need a second HTTP server on a second port. Here one
// CivetServer serves every path, and /metrics is prometheus-cpp's own Registry written by
// its TextSerializer, as the Exposer would.
//
// Thread-safe; handlers run on civetweb's threads and read the job through snapshots.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_HTTP_HTTP_FRONTEND_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_HTTP_HTTP_FRONTEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"

namespace coordinator {

class HttpFrontend {
 public:
  // Serves on `address`: "host:port" (an IPv4 address or name, "[v6]:port"); port 0 picks a
  // free one. kInvalidArgument for a malformed address, kUnavailable when it cannot listen.
  // `job` and `tracker` must outlive the front end.
  static absl::StatusOr<std::unique_ptr<HttpFrontend>> Start(const std::string& address, Job* job,
                                                             StatusTracker* tracker);
  ~HttpFrontend();  // stops serving: waits for requests in progress
  HttpFrontend(const HttpFrontend&) = delete;
  HttpFrontend& operator=(const HttpFrontend&) = delete;

  // "host:port" with the port actually bound.
  const std::string& address() const { return address_; }

  struct Impl;

 private:
  explicit HttpFrontend(std::unique_ptr<Impl> impl, std::string address);
  std::unique_ptr<Impl> impl_;
  std::string address_;
};

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_HTTP_HTTP_FRONTEND_H_
