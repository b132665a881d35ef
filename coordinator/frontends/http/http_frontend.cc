#include "coordinator/frontends/http/http_frontend.h"

#include <cstring>
#include <utility>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "civetweb.h"
#include "coordinator/frontends/http/job_metrics.h"
#include "coordinator/frontends/http/status_page.h"
#include "proto/status_convert.h"
#include "proto/status_json.h"

namespace coordinator {
namespace {

namespace pb = ::migrator::v1;

// The page runs its own inline script and style and fetches /api/* from this origin only.
constexpr char kPagePolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void Send(mg_connection* conn, int status, const char* type, const std::string& body,
          bool page = false) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", type, -1);
  std::string length = absl::StrCat(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
  if (page) mg_response_header_add(conn, "Content-Security-Policy", kPagePolicy, -1);
  mg_response_header_send(conn);
  mg_write(conn, body.data(), body.size());
}

void NotFound(mg_connection* conn) { Send(conn, 404, "text/plain; charset=utf-8", "not found\n"); }

// One exact path (civetweb matches handlers by prefix); GET only (anything else: civetweb's
// 405).
class Route : public CivetHandler {
 public:
  explicit Route(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const mg_request_info* info = mg_get_request_info(conn);
    if (info == nullptr || info->local_uri == nullptr || path_ != info->local_uri) {
      NotFound(conn);
      return true;
    }
    Serve(conn, info->query_string ? info->query_string : "");
    return true;
  }

 protected:
  virtual void Serve(mg_connection* conn, const std::string& query) = 0;

 private:
  const std::string path_;
};

// Splits "host:port" / "[v6]:port"; false when malformed.
bool SplitAddress(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return false;
  }
  if (host->front() == '[') return host->size() > 2 && host->back() == ']';
  return host->find(':') == std::string::npos;
}

}  // namespace

struct HttpFrontend::Impl {
  Impl(Job* j, StatusTracker* t) : job(j), tracker(t) {}

  Job* const job;
  StatusTracker* const tracker;
  JobMetrics metrics;
  std::vector<std::unique_ptr<Route>> routes;
  std::unique_ptr<CivetServer> server;  // last: stopped first, before what handlers use
};

namespace {

class MetricsRoute : public Route {
 public:
  explicit MetricsRoute(HttpFrontend::Impl* impl) : Route("/metrics"), impl_(impl) {}
  void Serve(mg_connection* conn, const std::string&) override {
    JobSnapshot s = impl_->job->Snapshot();
    impl_->metrics.Update(s, impl_->tracker->Aggregate(s));
    Send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", impl_->metrics.Text());
  }

 private:
  HttpFrontend::Impl* const impl_;
};

class PageRoute : public Route {
 public:
  PageRoute() : Route("/") {}
  void Serve(mg_connection* conn, const std::string&) override {
    Send(conn, 200, "text/html; charset=utf-8", StatusPageHtml(), /*page=*/true);
  }
};

class StatusRoute : public Route {
 public:
  explicit StatusRoute(HttpFrontend::Impl* impl) : Route("/api/status"), impl_(impl) {}
  void Serve(mg_connection* conn, const std::string&) override {
    JobSnapshot s = impl_->job->Snapshot(SnapshotDetail::kSummary);
    pb::GetStatusResponse status;
    fleetproto::ToProto(s, impl_->tracker->Aggregate(s), &status);
    Send(conn, 200, "application/json", statusfmt::StatusJson(status).dump(2) + "\n");
  }

 private:
  HttpFrontend::Impl* const impl_;
};

class AccountsRoute : public Route {
 public:
  explicit AccountsRoute(HttpFrontend::Impl* impl) : Route("/api/accounts"), impl_(impl) {}
  void Serve(mg_connection* conn, const std::string& query) override {
    pb::AccountState want = pb::ACCOUNT_STATE_UNSPECIFIED;
    char state[32] = {};
    int n =
        query.empty() ? -1 : mg_get_var(query.data(), query.size(), "state", state, sizeof state);
    if (n != -1 && (n < 0 || !statusfmt::ParseState(state, &want))) {  // -1: no state given
      Send(conn, 400, "text/plain; charset=utf-8",
           "state must be pending, running, succeeded, failed or cancelled\n");
      return;
    }
    pb::ListAccountsResponse list;
    for (const AccountView& a : impl_->job->Snapshot().accounts) {
      if (want != pb::ACCOUNT_STATE_UNSPECIFIED && fleetproto::ToProto(a.task.state) != want) {
        continue;
      }
      fleetproto::ToProto(a, list.add_accounts());
    }
    Send(conn, 200, "application/json", statusfmt::AccountsJson(list.accounts()).dump(2) + "\n");
  }

 private:
  HttpFrontend::Impl* const impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpFrontend>> HttpFrontend::Start(const std::string& address,
                                                                  Job* job,
                                                                  StatusTracker* tracker) {
  std::string host;
  int port = 0;
  if (!SplitAddress(address, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen: want host:port (an IP address), got '", address, "'"));
  }
  if (absl::AsciiStrToLower(host) == "localhost") host = "127.0.0.1";
  auto impl = std::make_unique<Impl>(job, tracker);
  impl->routes.push_back(std::make_unique<MetricsRoute>(impl.get()));
  impl->routes.push_back(std::make_unique<StatusRoute>(impl.get()));
  impl->routes.push_back(std::make_unique<AccountsRoute>(impl.get()));
  impl->routes.push_back(std::make_unique<PageRoute>());
  std::vector<std::string> options = {
      "listening_ports", absl::StrCat(host, ":", port), "num_threads", "4", "request_timeout_ms",
      "10000",           "enable_keep_alive",           "no",
  };
  try {
    impl->server = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve HTTP on ", address, ": ", e.what()));
  }
  for (const auto& route : impl->routes) impl->server->addHandler(route->path(), route.get());
  std::vector<int> ports = impl->server->getListeningPorts();
  if (ports.empty()) return absl::UnavailableError("cannot serve HTTP on " + address);
  std::string bound = absl::StrCat(host, ":", ports[0]);
  return std::unique_ptr<HttpFrontend>(new HttpFrontend(std::move(impl), std::move(bound)));
}

HttpFrontend::HttpFrontend(std::unique_ptr<Impl> impl, std::string address)
    : impl_(std::move(impl)), address_(std::move(address)) {}

HttpFrontend::~HttpFrontend() {
  if (impl_ && impl_->server) impl_->server->close();
}

}  // namespace coordinator
