#include "coordinator/status/report.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/sys/file.h"

namespace coordinator {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Whole milliseconds, as the status API counts them (0 for a negative span).
uint64_t Ms(absl::Duration d) {
  return d <= absl::ZeroDuration() ? 0 : static_cast<uint64_t>(absl::ToInt64Milliseconds(d));
}

double Rate(double amount, absl::Duration d) {
  double s = Seconds(d);
  return s > 0 ? amount / s : 0;
}

std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  return s.substr(0, max - 3) + "...";
}

std::string TimeString(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

uint64_t Refused(const JobSnapshot& s) {
  uint64_t n = 0;
  for (const AccountView& a : s.accounts) n += a.refused;
  return n;
}

uint64_t Repaired(const JobSnapshot& s) {
  uint64_t n = 0;
  for (const AccountView& a : s.accounts) n += a.repaired;
  return n;
}

// Messages server B took without some of their keywords.
uint64_t KeywordsDropped(const AccountView& a) {
  uint64_t n = 0;
  for (const engine::FolderResult& f : a.folders) n += f.keywords_dropped.size();
  return n;
}

uint64_t KeywordsDropped(const JobSnapshot& s) {
  uint64_t n = 0;
  for (const AccountView& a : s.accounts) n += KeywordsDropped(a);
  return n;
}

size_t EmailWidth(const JobSnapshot& s) {
  size_t w = 7;
  for (const AccountView& a : s.accounts) w = std::max(w, a.task.email.size());
  return std::min<size_t>(w, 48);
}

}  // namespace

std::string FormatSummaryTable(const JobSnapshot& s, const RunInfo& run) {
  const int ew = static_cast<int>(EmailWidth(s));
  std::string out =
      absl::StrFormat("%-*s  %-9s  %7s  %9s  %10s  %8s  %9s  %s\n", ew, "ACCOUNT", "STATE",
                      "FOLDERS", "MESSAGES", "BYTES", "TIME", "MSG/S", "REASON");
  for (const AccountView& a : s.accounts) {
    absl::StrAppend(
        &out, absl::StrFormat("%-*s  %-9s  %7d  %9d  %10s  %7.1fs  %9.1f  %s\n", ew,
                              Shorten(a.task.email, ew), TaskStateName(a.task.state),
                              a.folders.size(), a.messages, HumanBytes(a.bytes), Seconds(a.elapsed),
                              Rate(a.messages, a.elapsed), Shorten(a.task.last_error, 100)));
  }
  absl::Duration elapsed = run.finished - run.started;
  uint64_t msgs = s.TotalMessages();
  uint64_t bytes = s.TotalBytes();
  absl::StrAppend(&out, absl::StrFormat("total: %d account(s): %d succeeded, %d failed, "
                                        "%d cancelled; %d message(s), "
                                        "%s in %.1fs: %.1f msg/s, %.2f MB/s\n",
                                        s.accounts.size(), s.Count(TaskState::kSucceeded),
                                        s.Count(TaskState::kFailed), s.Count(TaskState::kCancelled),
                                        msgs, HumanBytes(bytes), Seconds(elapsed),
                                        Rate(msgs, elapsed), Rate(bytes / 1e6, elapsed)));
  if (const uint64_t refused = Refused(s); refused > 0 && !s.dry_run) {
    absl::StrAppend(&out, "refused by the target: ", refused,
                    " message(s), skipped (listed in the log and the JSON report)\n");
  }
  if (const uint64_t repaired = Repaired(s); repaired > 0) {
    absl::StrAppend(&out, "repaired for the target: ", repaired,
                    " message(s), appended repaired (--fix-messages; listed in the log and the "
                    "JSON report)\n");
  }
  if (const uint64_t kept = KeywordsDropped(s); kept > 0) {
    absl::StrAppend(&out, "taken by the target without some keywords: ", kept,
                    " message(s) (listed in the log and the JSON report)\n");
  }
  absl::StrAppend(&out, FormatPlanTotals(s));
  if (s.stopping && !s.stop_reason.empty()) {
    absl::StrAppend(&out, "stopped: ", s.stop_reason, "\n");
  }
  if (!run.not_in_run.empty()) {
    const size_t n = std::min<size_t>(run.not_in_run.size(), 10);
    absl::StrAppend(
        &out, "not in this run: ", run.not_in_run.size(),
        " account(s) of the config (their job state is kept): ",
        absl::StrJoin(run.not_in_run.begin(), run.not_in_run.begin() + n, ", "),
        run.not_in_run.size() > n ? absl::StrCat(" and ", run.not_in_run.size() - n, " more") : "",
        "\n");
  }
  return out;
}

namespace {

std::string ValidateDetails(const JobSnapshot& s) {
  const int ew = static_cast<int>(EmailWidth(s));
  std::string out =
      absl::StrFormat("%-*s  %-30s  %9s  %9s  %8s  %8s  %8s\n", ew, "ACCOUNT", "FOLDER", "EXPORTED",
                      "SERVER-B", "MISSING", "EXTRA", "REFUSED");
  std::string refused;   // one line per message refused by the target
  std::string keywords;  // one line per message the target has without some keywords
  for (const AccountView& a : s.accounts) {
    uint64_t src = 0, dst = 0, missing = 0, extra = 0, ref = 0;
    for (const engine::FolderResult& f : a.folders) {
      src += f.source_messages;
      dst += f.target_messages;
      missing += f.missing;
      extra += f.extra;
      ref += f.refused;
      for (const engine::RefusedMessage& m : f.refused_messages) {
        absl::StrAppend(&refused, absl::StrFormat("  %s  %s  uid %d  %d bytes  %s  (%s) %s\n",
                                                  a.task.email, f.name, m.uid, m.size,
                                                  m.internaldate, m.kind, Shorten(m.reason, 120)));
      }
      for (const engine::RefusedMessage& m : f.keywords_dropped) {
        absl::StrAppend(
            &keywords,
            absl::StrFormat("  %s  %s  uid %d  without %s  (%s)\n", a.task.email, f.name, m.uid,
                            absl::StrJoin(m.keywords, " "), Shorten(m.reason, 120)));
      }
      if (f.missing == 0 && f.extra == 0 && f.refused == 0) continue;
      absl::StrAppend(
          &out, absl::StrFormat("%-*s  %-30s  %9d  %9d  %8d  %8d  %8d\n", ew,
                                Shorten(a.task.email, ew), Shorten(f.name, 30), f.source_messages,
                                f.target_messages, f.missing, f.extra, f.refused));
    }
    absl::StrAppend(&out, absl::StrFormat("%-*s  %-30s  %9d  %9d  %8d  %8d  %8d\n", ew,
                                          Shorten(a.task.email, ew), "(all folders)", src, dst,
                                          missing, extra, ref));
  }
  if (!refused.empty()) {
    absl::StrAppend(&out, "refused by the target (not missing: skipped by import):\n", refused);
  }
  if (!keywords.empty()) {
    absl::StrAppend(&out, "on the target without some keywords (it keeps no more in the folder):\n",
                    keywords);
  }
  return out;
}

}  // namespace

std::string FormatDetails(const JobSnapshot& s) {
  const std::string plan = s.dry_run ? FormatPlanTable(s) : "";
  if (s.mode == engine::Mode::kValidate)
    return ValidateDetails(s) + (plan.empty() ? "" : "\n") + plan;
  if (s.mode != engine::Mode::kTest) return plan;
  std::string out = s.sizes ? FormatSizesTable(s) : "";
  for (const AccountView& a : s.accounts) {
    for (const std::string& n : a.notes) absl::StrAppend(&out, a.task.email, ": ", n, "\n");
  }
  return out;
}

namespace {

nlohmann::json AccountJson(const AccountView& a) {
  nlohmann::json folders = nlohmann::json::array();
  nlohmann::json refused = nlohmann::json::array();
  nlohmann::json repaired = nlohmann::json::array();
  nlohmann::json keywords = nlohmann::json::array();
  auto message = [&](const engine::FolderResult& f, const engine::RefusedMessage& m) {
    nlohmann::json j = {
        {"email", a.task.email}, {"folder", f.name},       {"source_uidvalidity", m.uidvalidity},
        {"source_uid", m.uid},   {"size", m.size},         {"internaldate", m.internaldate},
        {"kind", m.kind},        {"server_text", m.reason}};
    if (!m.keywords.empty()) j["keywords"] = m.keywords;
    return j;
  };
  for (const engine::FolderResult& f : a.folders) {
    folders.push_back({{"name", f.name},
                       {"target", f.target},
                       {"mapping", f.mapping},
                       {"source_messages", f.source_messages},
                       {"target_messages", f.target_messages},
                       {"messages", f.transferred},
                       {"bytes", f.bytes},
                       {"missing", f.missing},
                       {"extra", f.extra},
                       {"refused", f.refused},
                       {"repaired", f.repaired},
                       {"error", f.error},
                       {"source_bytes", f.source_bytes},
                       {"create", f.create},
                       {"to_move", f.to_move},
                       {"bytes_to_move", f.bytes_to_move},
                       {"present", f.present}});
    for (const engine::RefusedMessage& m : f.refused_messages) refused.push_back(message(f, m));
    for (const engine::RefusedMessage& m : f.keywords_dropped) keywords.push_back(message(f, m));
    for (const engine::RepairedMessage& m : f.repaired_messages) {
      repaired.push_back({{"email", a.task.email},
                          {"folder", f.name},
                          {"source_uidvalidity", m.uidvalidity},
                          {"source_uid", m.uid},
                          {"size", m.size},
                          {"repaired_size", m.repaired_size},
                          {"repairs", m.repairs}});
    }
  }
  nlohmann::json out = {{"index", a.task.account_index},
                        {"email", a.task.email},
                        {"state", TaskStateName(a.task.state)},
                        {"last_error", a.task.last_error},
                        {"worker_id", a.task.worker_id},
                        {"attempts", a.task.attempts},
                        {"folders", folders},
                        {"messages_done", a.messages},
                        {"bytes_done", a.bytes},
                        {"skipped", a.skipped},
                        {"messages_refused", a.refused},
                        {"refused", refused},
                        {"messages_repaired", a.repaired},
                        {"repaired", repaired},
                        {"messages_keywords_dropped", keywords.size()},
                        {"keywords_dropped", keywords},
                        {"throttled_ms", a.throttled_ms},
                        {"throttles", a.throttles},
                        {"reconnects", a.reconnects},
                        {"imap_errors", a.imap_errors},
                        {"notes", a.notes},
                        {"elapsed_ms", Ms(a.elapsed)},
                        {"messages_per_second", Rate(a.messages, a.elapsed)},
                        {"bytes_per_second", Rate(a.bytes, a.elapsed)}};
  out.update(PlanSumsJson(SumsOf(a)));  // test --sizes, dry runs
  return out;
}

// Everything of the report but its accounts.
nlohmann::json ReportHead(const JobSnapshot& s, const RunInfo& run, int exit_code) {
  absl::Duration elapsed = run.finished - run.started;
  uint64_t msgs = s.TotalMessages();
  uint64_t bytes = s.TotalBytes();
  uint64_t throttled_ms = 0, throttles = 0, reconnects = 0;
  std::map<std::string, uint64_t> imap_errors;
  for (const AccountView& a : s.accounts) {
    throttled_ms += a.throttled_ms;
    throttles += a.throttles;
    reconnects += a.reconnects;
    for (const auto& [cls, n] : a.imap_errors) imap_errors[cls] += n;
  }
  nlohmann::json totals = {{"accounts", s.accounts.size()},
                           {"succeeded", s.Count(TaskState::kSucceeded)},
                           {"failed", s.Count(TaskState::kFailed)},
                           {"cancelled", s.Count(TaskState::kCancelled)},
                           {"succeeded_in_earlier_run", s.earlier_run},
                           {"messages_done", msgs},
                           {"messages_refused", Refused(s)},
                           {"messages_repaired", Repaired(s)},
                           {"messages_keywords_dropped", KeywordsDropped(s)},
                           {"bytes_done", bytes},
                           {"messages_per_second", Rate(msgs, elapsed)},
                           {"bytes_per_second", Rate(bytes, elapsed)},
                           {"throttled_ms", throttled_ms},
                           {"throttles", throttles},
                           {"reconnects", reconnects},
                           {"imap_errors", imap_errors}};
  totals.update(PlanSumsJson(SumsOf(s)));
  return {{"job_id", s.job_id},
          {"mode", run.mode},
          {"config", run.config_path},
          {"data_location", run.data_location},
          {"log", run.log_path},
          {"started_at", TimeString(run.started)},
          {"finished_at", TimeString(run.finished)},
          {"elapsed_ms", Ms(elapsed)},
          {"local_workers", run.workers},
          {"max_workers", run.max_workers},
          {"ignore_errors", run.ignore_errors},
          {"strict", run.strict},
          {"fix_messages", run.fix_messages},
          {"dry_run", run.dry_run},
          {"sizes", run.sizes},
          {"stopping", s.stopping},
          {"stop_reason", s.stop_reason},
          {"exit_code", exit_code},
          {"not_in_this_run", run.not_in_run},
          {"totals", totals},
          {"fleet",
           {{"rejected_results", s.fleet.rejected_results},
            {"rejected_progress", s.fleet.rejected_progress},
            {"leases_expired", s.fleet.leases_expired},
            {"retries", s.fleet.retries}}}};
}

}  // namespace

nlohmann::json BuildJsonReport(const JobSnapshot& s, const RunInfo& run, int exit_code) {
  nlohmann::json report = ReportHead(s, run, exit_code);
  nlohmann::json& accounts = report["accounts"] = nlohmann::json::array();
  for (const AccountView& a : s.accounts) accounts.push_back(AccountJson(a));
  return report;
}

namespace {

// The report's JSON text: invalid UTF-8 (a server's words in an error) replaced, not thrown.
std::string Dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The pieces `produce` writes, as one string.
std::string Joined(absl::FunctionRef<void(ReportWriter)> produce) {
  std::string out;
  produce([&out](absl::string_view piece) { out.append(piece.data(), piece.size()); });
  return out;
}

}  // namespace

void JsonReportPieces(const JobSnapshot& s, const RunInfo& run, int exit_code, ReportWriter write) {
  // The keys of a nlohmann object are sorted: "accounts" comes first. Each account is
  // dumped alone and indented to its place in the array (its strings hold no raw newline).
  write("{\n  \"accounts\": [");
  std::string indented;
  for (size_t i = 0; i < s.accounts.size(); ++i) {
    std::string one = Dump(AccountJson(s.accounts[i]));
    indented = i == 0 ? "\n    " : ",\n    ";
    for (char c : one) {
      indented += c;
      if (c == '\n') indented += "    ";
    }
    write(indented);
  }
  write(s.accounts.empty() ? "],\n" : "\n  ],\n");
  std::string head = Dump(ReportHead(s, run, exit_code));
  write(absl::string_view(head).substr(2));  // without its "{\n"
  write("\n");
}

std::string JsonReportText(const JobSnapshot& s, const RunInfo& run, int exit_code) {
  return Joined([&](ReportWriter write) { JsonReportPieces(s, run, exit_code, write); });
}

namespace {

// RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A shell word: as is when plain, else single-quoted.
std::string ShellWord(const std::string& v) {
  bool plain = !v.empty() && v.find_first_not_of(
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "@%+=:,./_-") == std::string::npos;
  if (plain) return v;
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool Failed(const AccountView& a) {
  return a.task.state == TaskState::kFailed || a.task.state == TaskState::kCancelled;
}

}  // namespace

void CsvReportPieces(const JobSnapshot& s, ReportWriter write) {
  write(
      "email,state,folders,source_messages,target_messages,messages_done,bytes_done,"
      "messages_refused,messages_repaired,skipped,duration_s,attempts,last_error\r\n");
  std::string row;
  for (const AccountView& a : s.accounts) {
    uint64_t src = 0, dst = 0;
    for (const engine::FolderResult& f : a.folders) {
      src += f.source_messages;
      dst += f.target_messages;
    }
    row = absl::StrCat(CsvField(a.task.email), ",", TaskStateName(a.task.state), ",",
                       a.folders.size(), ",", src, ",", dst, ",", a.messages, ",", a.bytes, ",",
                       a.refused, ",", a.repaired, ",", a.skipped, ",",
                       absl::StrFormat("%.1f", Seconds(a.elapsed)), ",", a.task.attempts, ",",
                       CsvField(a.task.last_error), "\r\n");
    write(row);
  }
}

std::string BuildCsvReport(const JobSnapshot& s) {
  return Joined([&](ReportWriter write) { CsvReportPieces(s, write); });
}

absl::Status WriteReportFile(const std::string& data, const std::string& path) {
  return sys::WriteFileAtomically(path, data, {0600, /*overwrite=*/true});
}

absl::Status WriteReportFileFrom(const std::string& path,
                                 absl::FunctionRef<void(ReportWriter)> produce) {
  return sys::WriteFileAtomicallyFrom(path, produce, {0600, /*overwrite=*/true});
}

std::string FailureCause(const std::string& last_error) {
  std::string code = last_error.substr(0, last_error.find(':'));
  bool is_code = !code.empty() && code.size() < last_error.size() &&
                 code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos;
  if (!is_code) return last_error.empty() ? "unknown" : "other";
  if (code == "UNAUTHENTICATED") return "login refused (wrong password or token)";
  if (code == "RESOURCE_EXHAUSTED") return "target full / quota";
  if (code == "UNAVAILABLE" || code == "DEADLINE_EXCEEDED") {
    return "server unreachable or throttled";
  }
  if (code == "CANCELLED") return "cancelled (fail-fast or interrupted)";
  return code;
}

std::vector<FailureGroup> GroupFailures(const JobSnapshot& s) {
  std::vector<FailureGroup> groups;
  std::map<std::string, size_t> index;
  for (const AccountView& a : s.accounts) {
    if (!Failed(a)) continue;
    // A cancelled account without a code was stopped by the job (fail-fast, a signal).
    std::string cause =
        a.task.state == TaskState::kCancelled && FailureCause(a.task.last_error) == "other"
            ? FailureCause("CANCELLED:")
            : FailureCause(a.task.last_error);
    auto [it, added] = index.emplace(cause, groups.size());
    if (added) groups.push_back({cause, {}});
    groups[it->second].emails.push_back(a.task.email);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const FailureGroup& x, const FailureGroup& y) {
    return x.emails.size() > y.emails.size();
  });
  return groups;
}

std::string FailedAccountsFile(const JobSnapshot& s) {
  std::string out;
  for (const AccountView& a : s.accounts) {
    if (Failed(a)) absl::StrAppend(&out, a.task.email, "\n");
  }
  return out;
}

std::string FormatFailureGroups(const JobSnapshot& s, const RunInfo& run,
                                const std::string& retry_file, size_t max_inline) {
  std::vector<FailureGroup> groups = GroupFailures(s);
  if (groups.empty()) return "";
  std::string out = "\nnot ok, by cause:\n";
  std::vector<std::string> all;
  for (const FailureGroup& g : groups) {
    std::vector<std::string> named(g.emails.begin(),
                                   g.emails.begin() + std::min(g.emails.size(), max_inline));
    std::string more = g.emails.size() > named.size()
                           ? absl::StrCat(" and ", g.emails.size() - named.size(), " more")
                           : "";
    absl::StrAppend(&out, "  ", g.emails.size(), " account(s): ", g.cause, ": ",
                    absl::StrJoin(named, ", "), more, "\n");
    all.insert(all.end(), g.emails.begin(), g.emails.end());
  }
  if (run.retry_args.empty()) return out;
  std::vector<std::string> words;
  for (const std::string& a : run.retry_args) words.push_back(ShellWord(a));
  std::string cmd = absl::StrJoin(words, " ");
  if (all.size() > max_inline && !retry_file.empty()) {
    absl::StrAppend(&out, "retry only these (listed in ", retry_file, "): ", cmd,
                    " --accounts-file ", ShellWord(retry_file), "\n");
  } else {
    absl::StrAppend(&out, "retry only these: ", cmd, " --only ", ShellWord(absl::StrJoin(all, ",")),
                    "\n");
  }
  return out;
}

absl::Status WriteJsonReport(const nlohmann::json& report, const std::string& path) {
  return sys::WriteFileAtomically(path, report.dump(2) + "\n", {0600, /*overwrite=*/true});
}

}  // namespace coordinator
