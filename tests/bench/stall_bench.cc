// Benchmark (prints figures; not a timed test) of the stall limits at full size, with the
// default server.io_timeout (120 s) and server.min_rate (1024 bytes/s):
//   1. a healthy slow link: one message of --size-mb MB exported through the WAN emulator
//      at --rate-mbit (default 20 MB at 1 Mbit/s, ~170 s): it must not be cut;
//   2. a drip: the fault proxy sends one byte every --drip-interval seconds (default 2)
//      from inside a literal: how long until the connection is dropped (the rate rule's
//      window, 30 s) — without the limits it would never be.
//
//   build/tests/stall_bench [--size-mb 20] [--rate-mbit 1] [--rtt-ms 40] [--drip-interval 2]
//
// Exit 0 when the link was not cut and the drip was dropped, else 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/engine/connect.h"
#include "common/engine/engine.h"
#include "common/imap/commands.h"
#include "common/storage/store.h"
#include "tests/bench/wan_proxy.h"
#include "tests/fixtures/dovecot_fixture.h"
#include "tests/fixtures/fault_proxy.h"

namespace {

struct Args {
  double size_mb = 20, rate_mbit = 1, rtt_ms = 40, drip_interval = 2;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const double v = std::strtod(argv[i + 1], nullptr);
    if (k == "--size-mb") {
      a.size_mb = v;
    } else if (k == "--rate-mbit") {
      a.rate_mbit = v;
    } else if (k == "--rtt-ms") {
      a.rtt_ms = v;
    } else if (k == "--drip-interval") {
      a.drip_interval = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

config::ServerConfig Plain(int port) {
  config::ServerConfig c;  // io_timeout and min_rate: the defaults
  c.host = "127.0.0.1";
  c.port = port;
  c.ssl = false;
  c.max_connections_per_account = 1;
  return c;
}

class NullSink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view) override { return absl::OkStatus(); }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage&) override { return absl::OkStatus(); }
};

// The healthy slow link: true when the export succeeded without a reconnect.
bool SlowLink(const Args& a, testing_fixtures::DovecotServer& server) {
  wanproxy::Options o;
  o.routes.push_back({"127.0.0.1:0", absl::StrCat(server.host(), ":", server.imap_port())});
  o.rate_mbit = a.rate_mbit;
  o.rtt_ms = a.rtt_ms;
  wanproxy::WanProxy link(o);
  std::string error;
  if (!link.Start(&error)) {
    std::fprintf(stderr, "wan_proxy: %s\n", error.c_str());
    return false;
  }
  std::thread loop([&] { link.Run(); });
  const std::string bound = link.bound()[0];
  auto store = storage::OpenStore(server.dir() + "/bench-export");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    link.Stop();
    loop.join();
    return false;
  }
  engine::AccountTask t;
  t.mode = engine::Mode::kExport;
  t.server = Plain(std::stoi(bound.substr(bound.rfind(':') + 1)));
  t.account.email = server.users()[0].email;
  t.account.password = server.users()[0].password;
  engine::CancelToken cancel;
  const absl::Time start = absl::Now();
  const engine::AccountResult r = engine::RunAccount(t, **store, nullptr, cancel);
  const double s = absl::ToDoubleSeconds(absl::Now() - start);
  link.Stop();
  loop.join();
  const double link_s = static_cast<double>(r.bytes) * 8 / (a.rate_mbit * 1e6);
  std::printf(
      "slow link: %.1f MB at %.3g Mbit/s, rtt %.0f ms, io_timeout %d s, min_rate %d bytes/s: "
      "%s in %.1f s (the link alone: %.1f s), %llu reconnect(s)\n",
      static_cast<double>(r.bytes) / 1e6, a.rate_mbit, a.rtt_ms, t.server.io_timeout,
      t.server.min_rate, r.status.ok() ? "exported" : r.status.ToString().c_str(), s, link_s,
      static_cast<unsigned long long>(r.reconnects));
  return r.status.ok() && r.reconnects == 0 && r.messages == 1;
}

// The drip: true when the connection was dropped.
bool Drip(const Args& a, testing_fixtures::DovecotServer& server) {
  testing_fixtures::FaultProxyOptions o;
  o.target = absl::StrCat(server.host(), ":", server.imap_port());
  testing_fixtures::Fault f;
  f.action = testing_fixtures::Fault::Action::kDrip;
  f.command = "UID FETCH";
  f.offset = 100000;
  f.rate = 1 / a.drip_interval;
  o.faults.push_back(f);
  auto proxy = testing_fixtures::FaultProxy::Start(o);
  if (!proxy.ok()) {
    std::fprintf(stderr, "%s\n", proxy.status().ToString().c_str());
    return false;
  }
  config::Account account;
  account.email = server.users()[0].email;
  auto session =
      engine::ConnectAccount(Plain((*proxy)->port()), account, server.users()[0].password);
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    return false;
  }
  NullSink sink;
  const absl::Time start = absl::Now();
  auto box = imap::SelectAndFetch(**session, "INBOX", true, "1:*", imap::FetchOptions(), &sink,
                                  [](const imap::SelectedMailbox&) { return absl::OkStatus(); });
  const double s = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("drip: one byte every %.3g s from inside a literal: %s after %.1f s\n%s\n",
              a.drip_interval, box.ok() ? "NOT dropped" : "dropped", s,
              box.ok() ? "" : box.status().ToString().c_str());
  return !box.ok() && absl::IsDeadlineExceeded(box.status());
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = ParseArgs(argc, argv);
  auto server = testing_fixtures::DovecotServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  testing_fixtures::SeedOptions o;
  o.min_size = o.max_size = static_cast<size_t>(a.size_mb * 1e6);
  o.seed = 1;
  if (!(*server)->SeedGenerated((*server)->users()[0].email, "INBOX", 1, o).ok()) return 1;
  const bool link_ok = SlowLink(a, **server);
  const bool drip_ok = Drip(a, **server);
  return link_ok && drip_ok ? 0 : 1;
}
