#include "coordinator/migratectl/status_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace statusfmt {

std::string HumanDuration(uint64_t ms) {
  uint64_t s = ms / 1000;
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (ms < 10000) return absl::StrFormat("%.1fs", ms / 1000.0);
  return absl::StrFormat("%ds", s);
}

namespace {

std::string OfTotal(uint64_t done, uint64_t total, bool bytes) {
  auto fmt = [bytes](uint64_t n) {
    return bytes ? HumanBytes(static_cast<double>(n)) : absl::StrCat(n);
  };
  if (total == 0) return fmt(done);
  return absl::StrFormat("%s / %s (%.0f%%)", fmt(done), fmt(total),
                         100.0 * static_cast<double>(done) / static_cast<double>(total));
}

std::string Eta(const pb::GetStatusResponse& s) {
  if (s.finished()) return "-";
  if (s.eta_ms() == 0) return "unknown";
  return absl::StrCat(HumanDuration(s.eta_ms()), " (from ", s.eta_basis(), ")");
}

std::string WorkersText(const pb::GetStatusResponse& s) {
  std::string out = absl::StrFormat("workers:   %d connected\n", s.workers_connected());
  for (const pb::WorkerInfo& w : s.workers()) {
    out += absl::StrFormat("  %-24s %-16s pid %-7d %u/%d running  last seen %s ago\n",
                           w.worker_id(), w.host().empty() ? "-" : w.host(), w.pid(), w.running(),
                           w.max_parallel(), HumanDuration(w.last_seen_ms_ago()));
  }
  return out;
}

}  // namespace

std::string StatusText(const pb::GetStatusResponse& s) {
  std::string out = absl::StrFormat(
      "job %s (%s): %s%s, elapsed %s\n", s.job_id(), ModeName(s.mode()), JobState(s),
      s.stop_reason().empty() ? "" : " - " + s.stop_reason(), HumanDuration(s.elapsed_ms()));
  out += absl::StrFormat(
      "accounts:  %u total: %u pending%s, %u running, %u succeeded, %u failed, "
      "%u cancelled\n",
      s.accounts_total(), s.accounts_pending(),
      s.accounts_parked() > 0 ? absl::StrFormat(" (%u parked: budget spent)", s.accounts_parked())
                              : "",
      s.accounts_running(), s.accounts_succeeded(), s.accounts_failed(), s.accounts_cancelled());
  std::string known = s.totals_known() ? "" : " (totals so far)";
  out += absl::StrFormat(
      "messages:  %s%s, %d already present%s\n", OfTotal(s.messages(), s.messages_total(), false),
      known, s.messages_skipped(),
      s.messages_refused() > 0 ? absl::StrFormat(", %d refused by the target", s.messages_refused())
                               : "");
  out += absl::StrFormat("bytes:     %s\n", OfTotal(s.bytes(), s.bytes_total(), true));
  out += absl::StrFormat("rate:      %.1f msg/s, %s/s, %.1f accounts/min (last %s)\n",
                         s.messages_per_second(), HumanBytes(s.bytes_per_second()),
                         s.accounts_per_minute(), HumanDuration(s.rate_window_ms()));
  out += absl::StrFormat("eta:       %s\n", Eta(s));
  return out + WorkersText(s);
}

std::string AccountsTable(const Accounts& accounts) {
  std::string out = absl::StrFormat("%-32s %-9s %-16s %3s %-18s %-10s %s\n", "ACCOUNT", "STATE",
                                    "WORKER", "TRY", "MESSAGES", "BYTES", "FOLDER / LAST ERROR");
  for (const pb::AccountStatus& a : accounts) {
    const pb::Counters& c = a.counters();
    std::string folders =
        c.folders_total() > 0
            ? absl::StrFormat(" [%d/%d folders]", c.folders_done(), c.folders_total())
            : "";
    std::string tail = !a.last_error().empty()                  ? a.last_error()
                       : a.state() == pb::ACCOUNT_STATE_RUNNING ? a.current_folder() + folders
                                                                : folders;
    if (c.refused() > 0) tail = absl::StrFormat("[%d refused by the target] %s", c.refused(), tail);
    if (c.throttles() > 0 || c.reconnects() > 0) {
      tail = absl::StrFormat("[throttled %dx, paused %s, %d reconnects] %s", c.throttles(),
                             HumanDuration(c.throttled_ms()), c.reconnects(), tail);
    }
    // Parked: its last_error says how much of the budget went and when it resumes.
    const bool parked = a.parked_until_ms() != 0;
    out += absl::StrFormat("%-32s %-9s %-16s %3d %-18s %-10s %s\n", a.email(),
                           parked ? "parked" : StateName(a.state()),
                           a.worker_id().empty() ? "-" : a.worker_id(), a.attempts(),
                           OfTotal(c.messages_done(), c.messages_total(), false),
                           HumanBytes(static_cast<double>(c.bytes_done())), tail);
  }
  return out;
}

std::string WatchText(const pb::WatchEvent& e) {
  const pb::GetStatusResponse& s = e.status();
  std::string out = absl::StrFormat(
      "[%s] %s: %u/%u accounts done (%u failed), %u running, %s messages, "
      "%s, %.1f msg/s, eta %s, %u worker(s)\n",
      HumanDuration(s.elapsed_ms()), JobState(s),
      s.accounts_succeeded() + s.accounts_failed() + s.accounts_cancelled(), s.accounts_total(),
      s.accounts_failed(), s.accounts_running(), OfTotal(s.messages(), s.messages_total(), false),
      HumanBytes(static_cast<double>(s.bytes())), s.messages_per_second(), Eta(s),
      s.workers_connected());
  for (const pb::AccountStatus& a : e.changed()) {
    bool final = a.state() == pb::ACCOUNT_STATE_SUCCEEDED ||
                 a.state() == pb::ACCOUNT_STATE_FAILED || a.state() == pb::ACCOUNT_STATE_CANCELLED;
    if (!final) continue;
    out += absl::StrFormat("  %s: %s%s\n", a.email(), StateName(a.state()),
                           a.last_error().empty() ? "" : " - " + a.last_error());
  }
  return out;
}

}  // namespace statusfmt
