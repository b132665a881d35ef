#include "proto/status_json.h"

#include "absl/time/time.h"

namespace statusfmt {

const char* StateName(pb::AccountState state) {
  switch (state) {
    case pb::ACCOUNT_STATE_PENDING:
      return "pending";
    case pb::ACCOUNT_STATE_RUNNING:
      return "running";
    case pb::ACCOUNT_STATE_SUCCEEDED:
      return "succeeded";
    case pb::ACCOUNT_STATE_FAILED:
      return "failed";
    case pb::ACCOUNT_STATE_CANCELLED:
      return "cancelled";
    default:
      return "";
  }
}

bool ParseState(const std::string& text, pb::AccountState* state) {
  for (pb::AccountState s :
       {pb::ACCOUNT_STATE_PENDING, pb::ACCOUNT_STATE_RUNNING, pb::ACCOUNT_STATE_SUCCEEDED,
        pb::ACCOUNT_STATE_FAILED, pb::ACCOUNT_STATE_CANCELLED}) {
    if (text == StateName(s)) {
      *state = s;
      return true;
    }
  }
  if (text == "ok") {
    *state = pb::ACCOUNT_STATE_SUCCEEDED;
    return true;
  }
  return false;
}

const char* ModeName(pb::JobMode mode) {
  switch (mode) {
    case pb::JOB_MODE_EXPORT:
      return "export";
    case pb::JOB_MODE_IMPORT:
      return "import";
    case pb::JOB_MODE_VALIDATE:
      return "validate";
    case pb::JOB_MODE_TEST:
      return "test";
    default:
      return "";
  }
}

const char* JobState(const pb::GetStatusResponse& s) {
  return s.finished() ? "finished" : s.stopping() ? "stopping" : "running";
}

namespace {

nlohmann::json WorkersJson(const pb::GetStatusResponse& s) {
  nlohmann::json out = nlohmann::json::array();
  for (const pb::WorkerInfo& w : s.workers()) {
    out.push_back({{"worker_id", w.worker_id()},
                   {"host", w.host()},
                   {"pid", w.pid()},
                   {"max_parallel", w.max_parallel()},
                   {"running", w.running()},
                   {"connected", w.connected()},
                   {"connected_ms_ago", w.connected_ms_ago()},
                   {"last_seen_ms_ago", w.last_seen_ms_ago()}});
  }
  return out;
}

}  // namespace

nlohmann::json StatusJson(const pb::GetStatusResponse& s) {
  nlohmann::json j;
  j["job_id"] = s.job_id();
  j["mode"] = ModeName(s.mode());
  j["state"] = JobState(s);
  j["finished"] = s.finished();
  j["stopping"] = s.stopping();
  j["stop_reason"] = s.stop_reason();
  j["elapsed_ms"] = s.elapsed_ms();
  j["accounts"] = {{"total", s.accounts_total()},     {"pending", s.accounts_pending()},
                   {"running", s.accounts_running()}, {"succeeded", s.accounts_succeeded()},
                   {"failed", s.accounts_failed()},   {"cancelled", s.accounts_cancelled()},
                   {"parked", s.accounts_parked()}};
  j["messages"] = {{"done", s.messages()},
                   {"total", s.messages_total()},
                   {"skipped", s.messages_skipped()},
                   {"refused", s.messages_refused()}};
  j["bytes"] = {{"done", s.bytes()}, {"total", s.bytes_total()}};
  j["totals_known"] = s.totals_known();
  j["rate"] = {{"messages_per_second", s.messages_per_second()},
               {"bytes_per_second", s.bytes_per_second()},
               {"accounts_per_minute", s.accounts_per_minute()},
               {"window_ms", s.rate_window_ms()}};
  j["eta_ms"] = s.eta_ms() > 0 ? nlohmann::json(s.eta_ms()) : nlohmann::json();
  j["eta_basis"] = s.eta_basis();
  j["workers_connected"] = s.workers_connected();
  j["workers"] = WorkersJson(s);
  return j;
}

namespace {

// A Unix time in ms as the JSON's times: ISO 8601, UTC.
std::string IsoTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

}  // namespace

nlohmann::json AccountJson(const pb::AccountStatus& a) {
  const pb::Counters& c = a.counters();
  nlohmann::json folders = nlohmann::json::array();
  for (const pb::FolderProgress& f : a.folders()) {
    folders.push_back({{"name", f.name()},
                       {"messages", f.messages()},
                       {"bytes", f.bytes()},
                       {"source_messages", f.source_messages()},
                       {"target_messages", f.target_messages()},
                       {"missing", f.missing()},
                       {"extra", f.extra()},
                       {"refused", f.refused()},
                       {"error", f.error()}});
  }
  return {{"index", a.index()},
          {"email", a.email()},
          {"state", StateName(a.state())},
          {"worker_id", a.worker_id()},
          {"attempts", a.attempts()},
          {"last_error", a.last_error()},
          {"current_folder", a.current_folder()},
          {"folders_done", c.folders_done()},
          {"folders_total", c.folders_total()},
          {"messages_done", c.messages_done()},
          {"messages_total", c.messages_total()},
          {"bytes_done", c.bytes_done()},
          {"bytes_total", c.bytes_total()},
          {"skipped", c.skipped()},
          {"refused", c.refused()},
          {"throttled_ms", c.throttled_ms()},
          {"throttles", c.throttles()},
          {"reconnects", c.reconnects()},
          {"imap_errors",
           std::map<std::string, uint64_t>(c.imap_errors().begin(), c.imap_errors().end())},
          {"elapsed_ms", a.elapsed_ms()},
          {"task_id", a.task_id()},
          {"epoch", a.epoch()},
          {"parked", a.parked_until_ms() != 0},
          {"resume_at", a.parked_until_ms() != 0 ? nlohmann::json(IsoTime(a.parked_until_ms()))
                                                 : nlohmann::json()},
          {"budget_bytes", a.budget_bytes()},
          {"budget_spent", a.budget_spent()},
          {"connections", a.connections()},
          {"folders", folders}};
}

nlohmann::json AccountsJson(const Accounts& accounts) {
  nlohmann::json list = nlohmann::json::array();
  for (const pb::AccountStatus& a : accounts) list.push_back(AccountJson(a));
  return {{"accounts", list}};
}

nlohmann::json WatchEventJson(const pb::WatchEvent& e) {
  nlohmann::json changed = nlohmann::json::array();
  for (const pb::AccountStatus& a : e.changed()) changed.push_back(AccountJson(a));
  return {{"status", StatusJson(e.status())}, {"changed", changed}};
}

}  // namespace statusfmt
