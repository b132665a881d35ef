// scale_bench: the coordinator holding a big job (default 100,000 accounts; a benchmark,
// not a timed test). An `--mode export` job with the durable state on (the default
// <log-dir>/export.state.sqlite) of tiny mailboxes (one message in INBOX) on an in-process
// fake IMAP server that answers at once (tests/distributed/fake_imap.h, kTinyInbox; every
// --fail-every'th account's login is refused, so the job has failed accounts to list).
//
// Prints, as a table against its targets:
//   config load      config::LoadConfig of the generated file, in this process
//   tasks/s          accounts finished per second of job time, before the kill and after
//   peak RSS         VmHWM of each coordinator process
//   GetStatus        latency p50/p99/max of calls made every --probe-ms during the run
//   ListAccounts     the same, failed accounts, paged (--page-size, following the token)
//   resume           SIGKILL at --kill-at of the accounts done, the same command again:
//                    until the status API answers, and until an account finishes again
//   reports          the coordinator's "summary and reports ... written in N ms" log line
//
//   build/tests/scale_bench [--accounts 100000] [--workers 4] [--max-workers 8]
//       [--messages 1] [--fail-every 100] [--kill-at 0.5] [--probe-ms 10] [--page-size 1000]
//       [--keep] [-- COORDINATOR-FLAGS...]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/config/config.h"
#include "grpcpp/grpcpp.h"
#include "migrator/v1/migrator.grpc.pb.h"
#include "tests/distributed/fake_imap.h"
#include "tests/distributed/process_util.h"

namespace {

namespace pb = ::migrator::v1;
using fleettest::Binary;

struct Args {
  int accounts = 100000, workers = 4, max_workers = 8, messages = 1, fail_every = 100;
  double kill_at = 0.5;
  int probe_ms = 10, page_size = 1000;
  bool keep = false;
  std::vector<std::string> coordinator_args;  // after "--"
};

Args Parse(int argc, char** argv) {
  Args a;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {
    std::string k = argv[i];
    if (k == "--keep") {
      a.keep = true;
      continue;
    }
    if (k == "--help" || k == "-h") {
      std::printf(
          "usage: scale_bench [--accounts 100000] [--workers 4] [--max-workers 8] [--messages 1]\n"
          "  [--fail-every 100] [--kill-at 0.5] [--probe-ms 10] [--page-size 1000] [--keep]\n"
          "  [-- COORDINATOR-FLAGS...]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "scale_bench: %s: unknown flag, or its value is missing (--help)\n",
                   k.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    bool ok = k == "--kill-at"       ? absl::SimpleAtod(v, &a.kill_at)
              : k == "--accounts"    ? absl::SimpleAtoi(v, &a.accounts)
              : k == "--workers"     ? absl::SimpleAtoi(v, &a.workers)
              : k == "--max-workers" ? absl::SimpleAtoi(v, &a.max_workers)
              : k == "--messages"    ? absl::SimpleAtoi(v, &a.messages)
              : k == "--fail-every"  ? absl::SimpleAtoi(v, &a.fail_every)
              : k == "--probe-ms"    ? absl::SimpleAtoi(v, &a.probe_ms)
              : k == "--page-size"   ? absl::SimpleAtoi(v, &a.page_size)
                                     : false;
    if (!ok) {
      std::fprintf(stderr, "scale_bench: bad flag %s %s\n", k.c_str(), v.c_str());
      std::exit(2);
    }
  }
  if (!(a.kill_at > 0 && a.kill_at < 1)) {  // the resume figures need the kill
    std::fprintf(stderr, "scale_bench: --kill-at must be between 0 and 1 (a fraction)\n");
    std::exit(2);
  }
  if (i < argc) a.coordinator_args.assign(argv + i + 1, argv + argc);
  return a;
}

// The config: u<i>@bench.test, or fail<i>@bench.test for every fail_every'th account.
std::string ConfigText(int port, const Args& a) {
  std::string out = absl::StrCat("{\"server\": {\"host\": \"127.0.0.1\", \"port\": ", port,
                                 ", \"ssl\": false},\n\"accounts\": [\n");
  for (int i = 0; i < a.accounts; ++i) {
    bool fail = a.fail_every > 0 && i % a.fail_every == a.fail_every - 1;
    absl::StrAppend(&out, i ? ",\n" : "", "{\"email\": \"", fail ? "fail" : "u", i,
                    "@bench.test\", \"password\": \"pw\"}");
  }
  return out + "\n]}\n";
}

long PeakRssKb(int pid) {
  std::string status = fleettest::ReadFile(absl::StrCat("/proc/", pid, "/status"));
  size_t at = status.find("VmHWM:");
  return at == std::string::npos ? 0 : std::atol(status.c_str() + at + 6);
}

// Latencies of one kind of call.
struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard<std::mutex> l(mu);
    ms.push_back(v);
  }
  double Quantile(double q) {
    std::lock_guard<std::mutex> l(mu);
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  }
};

// The status API over the coordinator's socket; calls time out after 5 s. The channel
// retries a connection every 100 ms (not gRPC's growing backoff): the coordinator is
// down between the kill and the resume, and the resume's first answer is measured.
class Client {
 public:
  explicit Client(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
    stub_ = pb::StatusService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  bool Status(pb::GetStatusResponse* out, double* ms = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    absl::Time t0 = absl::Now();
    bool ok = stub_->GetStatus(&ctx, pb::GetStatusRequest(), out).ok();
    if (ms) *ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    return ok;
  }
  // The next page of failed accounts (from the first after the last page).
  bool FailedPage(int page_size, double* ms, size_t* rows) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::ListAccountsRequest req;
    req.set_state(pb::ACCOUNT_STATE_FAILED);
    req.set_page_size(static_cast<uint32_t>(page_size));
    req.set_page_token(token_);
    pb::ListAccountsResponse resp;
    absl::Time t0 = absl::Now();
    bool ok = stub_->ListAccounts(&ctx, req, &resp).ok();
    *ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    if (ok) token_ = resp.next_page_token();
    *rows = static_cast<size_t>(resp.accounts_size());
    return ok;
  }

 private:
  std::unique_ptr<pb::StatusService::Stub> stub_;
  std::string token_;
};

// Calls GetStatus and ListAccounts(failed, paged) in turn every `every` until stopped,
// recording the latency of those made while the job runs.
class Prober {
 public:
  Prober(const std::string& address, const Args& a) : client_(address), args_(a) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Prober() {
    stop_ = true;
    thread_.join();
  }
  Latencies status, list;
  std::atomic<size_t> rows{0};

 private:
  void Loop() {
    while (!stop_) {
      pb::GetStatusResponse s;
      double ms = 0;
      size_t n = 0;
      if (client_.Status(&s, &ms) && !s.finished()) status.Add(ms);
      absl::SleepFor(absl::Milliseconds(args_.probe_ms));  // the pace of the probes
      if (client_.FailedPage(args_.page_size, &ms, &n) && !s.finished()) list.Add(ms);
      rows += n;
      absl::SleepFor(absl::Milliseconds(args_.probe_ms));
    }
  }
  Client client_;
  const Args& args_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Bench {
  Args args;
  std::string dir, address;
  std::vector<std::string> command;
};

fleettest::Process StartCoordinator(const Bench& b, int run) {
  return fleettest::Start(b.command, b.dir, {{"TMPDIR", b.dir}}, absl::StrCat("coordinator", run));
}

// Polls GetStatus every 20 ms until `done` holds for it; false after `timeout`.
bool WaitStatus(Client& c, const std::function<bool(const pb::GetStatusResponse&)>& done,
                absl::Duration timeout, pb::GetStatusResponse* last) {
  return fleettest::PollUntil([&] { return c.Status(last) && done(*last); }, timeout);
}

uint64_t Done(const pb::GetStatusResponse& s) {
  return s.accounts_succeeded() + s.accounts_failed() + s.accounts_cancelled();
}

// Accounts finished per second between two statuses of one run (job time).
double Rate(const pb::GetStatusResponse& from, const pb::GetStatusResponse& to) {
  double secs = (static_cast<double>(to.elapsed_ms()) - from.elapsed_ms()) / 1000.0;
  return secs > 0 ? static_cast<double>(Done(to) - Done(from)) / secs : 0;
}

struct Figures {
  double load_s = 0;
  double rate1 = 0, rate2 = 0;
  long rss1 = 0, rss2 = 0;
  double resume_api_s = 0, resume_sched_s = 0;
  pb::GetStatusResponse start1, start2;  // the first status with an account done, per run
  long reports_ms = -1;
  uint64_t killed_at = 0, restored = 0, succeeded = 0, failed = 0;
};

// The first run, killed with SIGKILL at args.kill_at of the accounts done.
bool FirstRun(Bench& b, Client& c, Figures* f) {
  fleettest::Process p = StartCoordinator(b, 1);
  pb::GetStatusResponse s;
  const uint64_t at = static_cast<uint64_t>(b.args.kill_at * b.args.accounts);
  WaitStatus(
      c, [](const pb::GetStatusResponse& r) { return Done(r) > 0; }, absl::Minutes(5), &f->start1);
  if (!WaitStatus(
          c, [&](const pb::GetStatusResponse& r) { return Done(r) >= at; }, absl::Minutes(30),
          &s)) {
    std::fprintf(stderr, "scale_bench: run 1 never reached %llu done; see %s\n",
                 static_cast<unsigned long long>(at), b.dir.c_str());
    return false;
  }
  f->rss1 = PeakRssKb(p.pid);
  ::kill(p.pid, SIGKILL);
  fleettest::Wait(p, absl::Seconds(30));
  f->killed_at = Done(s);
  f->rate1 = Rate(f->start1, s);
  return true;
}

// The same command again: resume, to the end; the reports' time from the run log.
bool SecondRun(Bench& b, Client& c, Figures* f) {
  absl::Time t0 = absl::Now();
  fleettest::Process p = StartCoordinator(b, 2);
  pb::GetStatusResponse first, s;
  if (!WaitStatus(
          c, [](const pb::GetStatusResponse&) { return true; }, absl::Minutes(2), &first)) {
    return false;
  }
  f->resume_api_s = absl::ToDoubleSeconds(absl::Now() - t0);
  f->restored = first.accounts_succeeded();
  WaitStatus(
      c, [&](const pb::GetStatusResponse& r) { return Done(r) > f->restored; }, absl::Minutes(2),
      &f->start2);
  f->resume_sched_s = absl::ToDoubleSeconds(absl::Now() - t0);
  if (!WaitStatus(
          c, [](const pb::GetStatusResponse& r) { return r.finished(); }, absl::Minutes(30), &s)) {
    return false;
  }
  f->rate2 = Rate(f->start2, s);
  f->succeeded = s.accounts_succeeded();
  f->failed = s.accounts_failed();
  const std::string marker = "account(s) written in ";
  fleettest::PollUntil(
      [&] {
        for (const std::string& log : fleettest::Glob(b.dir + "/logs", ".log")) {
          std::string text = fleettest::ReadFile(log);
          size_t at = text.rfind(marker);
          if (at != std::string::npos) f->reports_ms = std::atol(text.c_str() + at + marker.size());
        }
        return f->reports_ms >= 0;
      },
      absl::Minutes(5));
  f->rss2 = PeakRssKb(p.pid);
  ::kill(p.pid, SIGTERM);
  return fleettest::Wait(p, absl::Seconds(60)) >= 0;
}

void Row(const char* what, const std::string& value, const char* target, bool met) {
  std::printf("  %-34s %-34s %-12s %s\n", what, value.c_str(), target, met ? "ok" : "MISSED");
}

void PrintTable(const Args& a, const Figures& f, Prober& probe) {
  std::printf(
      "scale_bench: %d accounts (%d message(s) each, every %d'th login refused), "
      "%d workers x %d, --mode export, durable state on\n",
      a.accounts, a.messages, a.fail_every, a.workers, a.max_workers);
  std::printf(
      "  killed at %llu done; resumed with %llu succeeded earlier; end: %llu succeeded, "
      "%llu failed; %zu failed-account rows listed in %zu pages\n",
      static_cast<unsigned long long>(f.killed_at), static_cast<unsigned long long>(f.restored),
      static_cast<unsigned long long>(f.succeeded), static_cast<unsigned long long>(f.failed),
      probe.rows.load(), probe.list.ms.size());
  std::printf("  %-34s %-34s %-12s %s\n", "figure", "measured", "target", "");
  Row("config load", absl::StrFormat("%.2f s", f.load_s), "< 2 s", f.load_s < 2);
  Row("peak RSS (run 1 / run 2)",
      absl::StrFormat("%.0f / %.0f MiB", f.rss1 / 1024.0, f.rss2 / 1024.0), "< 512 MiB",
      std::max(f.rss1, f.rss2) < 512 * 1024);
  Row("scheduling (run 1 / run 2)", absl::StrFormat("%.0f / %.0f tasks/s", f.rate1, f.rate2),
      ">= 2000/s", std::min(f.rate1, f.rate2) >= 2000);
  for (auto [name, l] : {std::pair<const char*, Latencies*>{"GetStatus p50/p99/max", &probe.status},
                         {"ListAccounts failed p50/p99/max", &probe.list}}) {
    double p99 = l->Quantile(0.99);
    Row(name,
        absl::StrFormat("%.1f / %.1f / %.1f ms (%zu calls)", l->Quantile(0.5), p99,
                        l->Quantile(1.0), l->ms.size()),
        "p99 < 50 ms", p99 < 50 && !l->ms.empty());
  }
  Row("resume after SIGKILL: API / sched",
      absl::StrFormat("%.2f / %.2f s", f.resume_api_s, f.resume_sched_s), "< 5 s",
      f.resume_sched_s < 5);
  Row("reports written", absl::StrFormat("%.2f s", f.reports_ms / 1000.0), "< 10 s",
      f.reports_ms >= 0 && f.reports_ms < 10000);
}

}  // namespace

int main(int argc, char** argv) {
  Bench b;
  b.args = Parse(argc, argv);
  fleettest::DefaultBinaryDirToThisProgram();
  fleettest::FakeImapServer imap(fleettest::FakeImapServer::Mode::kTinyInbox);
  imap.set_inbox_messages(b.args.messages);
  if (!imap.Start("127.0.0.1", 0)) return 3;
  b.dir = fleettest::MakeTempDir();
  const std::string config = b.dir + "/bench.json";
  if (!fleettest::WriteFile(config, ConfigText(imap.port(), b.args))) return 3;
  Figures f;
  absl::Time t0 = absl::Now();
  absl::StatusOr<config::Config> loaded = config::LoadConfig(config);
  f.load_s = absl::ToDoubleSeconds(absl::Now() - t0);
  if (!loaded.ok()) return 3;
  b.address = "unix:" + b.dir + "/c.sock";
  b.command = {Binary("coordinator"),
               "--mode",
               "export",
               "--config",
               config,
               "--output-dir",
               b.dir + "/out",
               "--log-dir",
               b.dir + "/logs",
               "--workers",
               absl::StrCat(b.args.workers),
               "--max-workers",
               absl::StrCat(b.args.max_workers),
               "--ignore-errors",
               "--linger",
               "--quiet",
               "--listen",
               b.address};
  b.command.insert(b.command.end(), b.args.coordinator_args.begin(), b.args.coordinator_args.end());
  Client client(b.address);
  bool ok;
  {
    Prober probe(b.address, b.args);
    ok = FirstRun(b, client, &f) && SecondRun(b, client, &f);
    if (ok) PrintTable(b.args, f, probe);
    std::fflush(stdout);  // before the (long) removal of 100,000 accounts' files
  }
  if (!ok) std::fprintf(stderr, "scale_bench: failed; see %s\n", b.dir.c_str());
  if (ok && !b.args.keep) std::system(("rm -rf '" + b.dir + "'").c_str());
  return ok ? 0 : 1;
}
