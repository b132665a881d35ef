// Benchmark (prints figures; not a timed test): UID FETCH of N messages from a throwaway
// Dovecot, pipelined against one command per message, alternating in the same run.
//
//   build/tests/fetch_bench [--messages 5000] [--rounds 3] [--size-min 2000 --size-max 16000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/imap/commands.h"
#include "common/imap/session.h"
#include "tests/fixtures/dovecot_fixture.h"

namespace {

class CountingSink : public imap::FetchSink {
 public:
  absl::Status BodyBegin(uint64_t, uint64_t) override { return absl::OkStatus(); }
  absl::Status BodyData(absl::string_view chunk) override {
    bytes += chunk.size();
    return absl::OkStatus();
  }
  absl::Status BodyEnd() override { return absl::OkStatus(); }
  absl::Status OnMessage(const imap::FetchedMessage& m) override {
    if (m.has_body) ++messages;
    return absl::OkStatus();
  }
  uint64_t messages = 0, bytes = 0;
};

struct Args {
  int messages = 5000;
  int rounds = 3;
  size_t size_min = 2000, size_max = 16000;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (k == "--messages")
      a.messages = static_cast<int>(v);
    else if (k == "--rounds")
      a.rounds = static_cast<int>(v);
    else if (k == "--size-min")
      a.size_min = v;
    else if (k == "--size-max")
      a.size_max = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// One timed fetch of every UID; returns seconds, or < 0 on error.
double TimedFetch(const testing_fixtures::DovecotServer& s, const std::vector<uint32_t>& uids,
                  const imap::FetchOptions& fo, uint64_t* bytes) {
  imap::SessionOptions o;
  o.connect.host = s.host();
  o.connect.port = s.imap_port();
  auto session = imap::Session::Connect(o);
  if (!session.ok()) return -1;
  const auto& u = s.users()[0];
  if (!imap::Authenticate(**session, {imap::AuthMethod::kAuto, u.email, u.password, ""}).ok() ||
      !imap::Select(**session, "INBOX", true).ok()) {
    return -1;
  }
  CountingSink sink;
  auto t0 = std::chrono::steady_clock::now();
  absl::Status st = imap::UidFetch(**session, uids, fo, &sink);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok() || sink.messages != uids.size()) {
    std::fprintf(stderr, "fetch failed: %s (%llu of %zu)\n", st.ToString().c_str(),
                 static_cast<unsigned long long>(sink.messages), uids.size());
    return -1;
  }
  *bytes = sink.bytes;
  (void)imap::Logout(**session);
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = ParseArgs(argc, argv);
  auto server = testing_fixtures::DovecotServer::Start({});
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start Dovecot: %s\n", server.status().ToString().c_str());
    return 1;
  }
  testing_fixtures::SeedOptions so;
  so.min_size = a.size_min;
  so.max_size = a.size_max;
  so.seed = 1;
  for (int i = 0; i < a.messages; ++i) {
    size_t size = a.size_min + (i * 7919u) % (a.size_max - a.size_min + 1);
    auto st = (*server)->SeedMessage((*server)->users()[0].email, "INBOX",
                                     testing_fixtures::GenerateMessage(i + 1, size), {},
                                     absl::FromUnixSeconds(1700000000 + i));
    if (!st.ok()) {
      std::fprintf(stderr, "seeding failed: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::vector<uint32_t> uids;
  for (int i = 1; i <= a.messages; ++i) uids.push_back(i);

  imap::FetchOptions pipelined;  // defaults: 64 UIDs per command, 16 commands in flight
  imap::FetchOptions serial;
  serial.uids_per_command = 1;
  serial.max_in_flight = 1;
  double best_p = 1e9, best_s = 1e9;
  uint64_t bytes = 0;
  std::printf(
      "UID FETCH (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]) of %d messages, "
      "%zu-%zu bytes, loopback Dovecot, %d rounds alternating\n",
      a.messages, a.size_min, a.size_max, a.rounds);
  for (int r = 0; r < a.rounds; ++r) {
    double p = TimedFetch(**server, uids, pipelined, &bytes);
    double s = TimedFetch(**server, uids, serial, &bytes);
    if (p < 0 || s < 0) return 1;
    std::printf("round %d: pipelined %.3f s (%.0f msg/s)   one-per-command %.3f s (%.0f msg/s)\n",
                r + 1, p, a.messages / p, s, a.messages / s);
    best_p = std::min(best_p, p);
    best_s = std::min(best_s, s);
  }
  std::printf(
      "best: pipelined %.0f msg/s, %.1f MB/s | one-per-command %.0f msg/s | "
      "speedup %.2fx\n",
      a.messages / best_p, bytes / best_p / 1e6, a.messages / best_s, best_s / best_p);
  return 0;
}
