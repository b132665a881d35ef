// migratectl: the status of a running (or lingering) coordinator, for people
// and for scripts.
//
//   migratectl status   --coordinator ADDR [--json]
//   migratectl accounts --coordinator ADDR [--json] [--state STATE] [--page-size N]
//   migratectl watch    --coordinator ADDR [--json] [--interval 1s]
//   common: [--tls-ca F --tls-cert F --tls-key F [--tls-server-name N]]
//           | [--insecure]  [--timeout 10s]
//
// ADDR: host:port or unix:/path. TLS as for the worker: plaintext only to a
// Unix socket or loopback unless --insecure. --json prints the documented JSON
// (README "Status API"); `watch --json` prints one JSON object per line.
//
// Exit codes: 0 ok (watch: the job finished and every account succeeded);
// 1 watch: the job finished with failed or cancelled accounts; 2 bad usage;
// 3 coordinator unreachable, refused or the call failed.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/cli/flags.h"
#include "common/cli/help.h"
#include "common/cli/tls_flags.h"
#include "coordinator/migratectl/migratectl_client.h"
#include "coordinator/migratectl/status_format.h"

ABSL_FLAG(std::string, coordinator, "", "coordinator: host:port or unix:/path");
ABSL_FLAG(bool, json, false, "print JSON (stable field names) instead of tables");
ABSL_FLAG(std::string, state, "",
          "accounts: only this state (pending, running, succeeded, failed, "
          "cancelled)");
ABSL_FLAG(uint32_t, page_size, 0,
          "accounts: rows per call (the coordinator's default 1000 when 0, at most 5000); "
          "every page is fetched");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1), "watch: at most one update per interval");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "how long to wait for the coordinator");
namespace {

namespace pb = ::migrator::v1;

constexpr int kOk = 0, kJobFailed = 1, kUsage = 2, kUnreachable = 3;

// --help: every flag in one group (a flag left out is listed under "other", and help_test
// fails).
cli::HelpSpec HelpSpec() {
  cli::HelpSpec spec;
  spec.program = "migratectl";
  spec.synopsis =
      "usage: migratectl {status|accounts|watch} --coordinator ADDR [flags]\n"
      "  status    the job's summary\n"
      "  accounts  one line per account (--state filters)\n"
      "  watch     updates until the job ends\n";
  spec.groups = {
      {"fleet", {"coordinator", "timeout"}},
      {"security", {"tls_ca", "tls_cert", "tls_key", "tls_server_name", "insecure"}},
      {"output", {"json", "state", "page_size", "interval"}},
  };
  spec.value_names = {{"state", "STATE"}};
  spec.epilogue =
      "exit codes: 0 ok, 1 watch: job finished with failures, 2 bad usage,\n"
      "            3 coordinator unreachable or call failed\n";
  return spec;
}

int Usage(const std::string& why) {
  std::fputs(cli::UsageErrorLine("migratectl", why).c_str(), stderr);
  return kUsage;
}

int Help() {
  std::fputs(cli::FormatHelp(HelpSpec()).c_str(), stdout);
  return kOk;
}

int CallFailed(const absl::Status& st) {
  std::fprintf(stderr, "migratectl: %s\n", std::string(st.message()).c_str());
  return kUnreachable;
}

void Print(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

int Status(migratectl::StatusClient& client, bool json) {
  pb::GetStatusResponse s;
  absl::Status st = client.GetStatus(absl::GetFlag(FLAGS_timeout), &s);
  if (!st.ok()) return CallFailed(st);
  Print(json ? statusfmt::StatusJson(s).dump(2) + "\n" : statusfmt::StatusText(s));
  return kOk;
}

int Accounts(migratectl::StatusClient& client, bool json, pb::AccountState state) {
  pb::ListAccountsResponse r;
  absl::Status st =
      client.ListAccounts(state, absl::GetFlag(FLAGS_page_size), absl::GetFlag(FLAGS_timeout), &r);
  if (!st.ok()) return CallFailed(st);
  Print(json ? statusfmt::AccountsJson(r.accounts()).dump(2) + "\n"
             : statusfmt::AccountsTable(r.accounts()));
  return kOk;
}

int Watch(migratectl::StatusClient& client, bool json) {
  pb::GetStatusResponse last;
  auto ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_interval));
  absl::Status st = client.Watch(
      static_cast<uint32_t>(ms > 0 ? ms : 1), absl::GetFlag(FLAGS_timeout),
      [&](const pb::WatchEvent& e) {
        last = e.status();
        Print(json ? statusfmt::WatchEventJson(e).dump() + "\n" : statusfmt::WatchText(e));
        return true;
      });
  if (!st.ok()) return CallFailed(st);
  bool all_ok = last.accounts_succeeded() == last.accounts_total();
  return all_ok ? kOk : kJobFailed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("a command is required");
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") return Help();
  if (command == "--helpfull") {
    std::fputs(cli::FormatHelpFull().c_str(), stdout);
    return kOk;
  }
  if (command != "status" && command != "accounts" && command != "watch") {
    return Usage("unknown command '" + command + "'");
  }
  std::string error;
  argv[1] = argv[0];
  switch (cli::ParseFlags(argc - 1, argv + 1, &error)) {
    case cli::ParseResult::kHelp:
      return Help();
    case cli::ParseResult::kHelpFull:
      std::fputs(cli::FormatHelpFull().c_str(), stdout);
      return kOk;
    case cli::ParseResult::kError:
      return Usage(error);
    case cli::ParseResult::kOk:
      break;
  }
  std::string address = absl::GetFlag(FLAGS_coordinator);
  if (address.empty()) return Usage("--coordinator is required");
  pb::AccountState state = pb::ACCOUNT_STATE_UNSPECIFIED;
  std::string state_text = absl::GetFlag(FLAGS_state);
  if (!state_text.empty() && !statusfmt::ParseState(state_text, &state))
    return Usage("--state: unknown state '" + state_text + "'");
  rpc::TlsFlags tls = cli::ClientTlsFlags();  // --tls-* and --insecure, as the worker's
  std::string warning;
  auto material = rpc::ResolveTransport(tls, rpc::Role::kClient, address, &warning);
  if (!material.ok()) return Usage(std::string(material.status().message()));
  if (!warning.empty()) std::fprintf(stderr, "migratectl: warning: %s\n", warning.c_str());
  migratectl::StatusClient client(address, *material);
  bool json = absl::GetFlag(FLAGS_json);
  if (command == "status") return Status(client, json);
  if (command == "accounts") return Accounts(client, json, state);
  return Watch(client, json);
}
