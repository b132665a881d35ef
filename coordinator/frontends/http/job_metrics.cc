#include "coordinator/frontends/http/job_metrics.h"

#include <map>
#include <sstream>

#include "prometheus/text_serializer.h"

namespace coordinator {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr TaskState kStates[] = {TaskState::kPending, TaskState::kRunning, TaskState::kSucceeded,
                                 TaskState::kFailed, TaskState::kCancelled};

double Seconds(absl::Duration d) {
  return d <= absl::ZeroDuration() ? 0 : absl::ToDoubleSeconds(d);
}

}  // namespace

const std::vector<double>& JobMetrics::DurationBuckets() {
  // From a second to four hours: small test accounts to large mailboxes.
  static const std::vector<double> kBuckets = {1,   5,    15,   30,   60,   120,  300,
                                               600, 1200, 1800, 3600, 7200, 14400};
  return kBuckets;
}

JobMetrics::JobMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      accounts_(BuildGauge()
                    .Name("migrator_accounts")
                    .Help("Accounts of the job by state (pending, running, succeeded, "
                          "failed, cancelled)")
                    .Register(*registry_)),
      messages_(BuildCounter()
                    .Name("migrator_messages_transferred_total")
                    .Help("Messages transferred (exported, imported or validated) "
                          "by the job")
                    .Register(*registry_)),
      bytes_(BuildCounter()
                 .Name("migrator_bytes_transferred_total")
                 .Help("Bytes of the messages transferred by the job")
                 .Register(*registry_)),
      skipped_(BuildCounter()
                   .Name("migrator_messages_skipped_total")
                   .Help("Messages not transferred because the target already had "
                         "them")
                   .Register(*registry_)),
      refused_(BuildCounter()
                   .Name("migrator_messages_refused_total")
                   .Help("Messages server B refused (too big, content, zero length...): "
                         "skipped and reported")
                   .Register(*registry_)),
      throttled_seconds_(BuildCounter()
                             .Name("migrator_throttled_seconds_total")
                             .Help("Time accounts spent paused by server throttling or "
                                   "connection caps")
                             .Register(*registry_)
                             .Add({})),
      throttles_(BuildCounter()
                     .Name("migrator_throttles_total")
                     .Help("Throttles and connection caps the servers answered")
                     .Register(*registry_)
                     .Add({})),
      reconnects_(BuildCounter()
                      .Name("migrator_reconnects_total")
                      .Help("IMAP connections opened again after a throttle or a disconnect")
                      .Register(*registry_)
                      .Add({})),
      imap_errors_(BuildCounter()
                       .Name("migrator_imap_errors_total")
                       .Help("NO, BAD and BYE replies of the IMAP servers by class (throttle, "
                             "connection_cap, temporary, message_refused, target_full, auth, "
                             "not_found, ...)")
                       .Register(*registry_)),
      duration_(BuildHistogram()
                    .Name("migrator_account_duration_seconds")
                    .Help("Duration of an account's attempt that ended the account "
                          "(succeeded, failed or cancelled), in this run")
                    .Register(*registry_)),
      info_(BuildGauge()
                .Name("migrator_job_info")
                .Help("The job: its id and mode (always 1)")
                .Register(*registry_)),
      messages_expected_(BuildGauge()
                             .Name("migrator_messages_expected")
                             .Help("Messages the workers have announced so far (a lower bound "
                                   "until migrator_totals_known is 1)")
                             .Register(*registry_)
                             .Add({})),
      bytes_expected_(BuildGauge()
                          .Name("migrator_bytes_expected")
                          .Help("Bytes the workers have announced so far (a lower "
                                "bound until migrator_totals_known is 1)")
                          .Register(*registry_)
                          .Add({})),
      totals_known_(BuildGauge()
                        .Name("migrator_totals_known")
                        .Help("1 once no account is pending and every running one "
                              "has listed its folders")
                        .Register(*registry_)
                        .Add({})),
      retries_(BuildCounter()
                   .Name("migrator_retries_total")
                   .Help("Accounts requeued after a retriable failure or a lost "
                         "worker")
                   .Register(*registry_)
                   .Add({})),
      leases_expired_(BuildCounter()
                          .Name("migrator_leases_expired_total")
                          .Help("Leases that ran out (the worker was not heard from "
                                "for --lease-timeout)")
                          .Register(*registry_)
                          .Add({})),
      stale_(BuildCounter()
                 .Name("migrator_stale_reports_rejected_total")
                 .Help("Results and progress reports rejected for naming an "
                       "old epoch (fencing)")
                 .Register(*registry_)),
      stale_results_(stale_.Add({{"kind", "result"}})),
      stale_progress_(stale_.Add({{"kind", "progress"}})),
      workers_connected_(BuildGauge()
                             .Name("migrator_workers_connected")
                             .Help("Workers connected to the coordinator")
                             .Register(*registry_)
                             .Add({})),
      workers_known_(BuildGauge()
                         .Name("migrator_workers")
                         .Help("Workers the coordinator has seen in this run, "
                               "connected or not")
                         .Register(*registry_)
                         .Add({})),
      queue_depth_(BuildGauge()
                       .Name("migrator_queue_depth")
                       .Help("Accounts waiting to be handed to a worker (pending, "
                             "backoff included)")
                       .Register(*registry_)
                       .Add({})),
      parked_(BuildGauge()
                  .Name("migrator_accounts_parked")
                  .Help("Pending accounts whose byte budget is spent, waiting for their "
                        "window to reopen (counted in the queue depth too)")
                  .Register(*registry_)
                  .Add({})),
      elapsed_(BuildGauge()
                   .Name("migrator_job_elapsed_seconds")
                   .Help("Time since the job started (frozen at the finish)")
                   .Register(*registry_)
                   .Add({})),
      finished_(BuildGauge()
                    .Name("migrator_job_finished")
                    .Help("1 once the job has finished")
                    .Register(*registry_)
                    .Add({})),
      stopping_(BuildGauge()
                    .Name("migrator_job_stopping")
                    .Help("1 while the job stops early (fail-fast, a signal)")
                    .Register(*registry_)
                    .Add({})),
      eta_family_(BuildGauge()
                      .Name("migrator_eta_seconds")
                      .Help("Estimated time to the end of the job (absent while "
                            "there is no estimate)")
                      .Register(*registry_)) {
  for (TaskState s : kStates) accounts_.Add({{"state", TaskStateName(s)}});
  for (TaskState s : {TaskState::kSucceeded, TaskState::kFailed, TaskState::kCancelled}) {
    duration_.Add({{"state", TaskStateName(s)}}, DurationBuckets());
  }
}

void JobMetrics::RaiseTo(prometheus::Counter& counter, double value) {
  double now = counter.Value();
  if (value > now) counter.Increment(value - now);
}

void JobMetrics::SetMode(const std::string& job_id, const std::string& mode) {
  mode_ = mode;
  info_.Add({{"job_id", job_id}, {"mode", mode}}).Set(1);
  messages_mode_ = &messages_.Add({{"mode", mode}});
  bytes_mode_ = &bytes_.Add({{"mode", mode}});
  skipped_mode_ = &skipped_.Add({{"mode", mode}});
  refused_mode_ = &refused_.Add({{"mode", mode}});
}

void JobMetrics::Update(const JobSnapshot& s, const AggregateStatus& g) {
  absl::MutexLock lock(&mu_);
  if (mode_.empty()) SetMode(s.job_id, engine::ModeName(s.mode));
  for (TaskState st : kStates) {
    accounts_.Add({{"state", TaskStateName(st)}}).Set(static_cast<double>(s.Count(st)));
  }
  RaiseTo(*messages_mode_, static_cast<double>(g.messages_done));
  RaiseTo(*bytes_mode_, static_cast<double>(g.bytes_done));
  RaiseTo(*skipped_mode_, static_cast<double>(g.messages_skipped));
  // Sums over the accounts' last attempts: counters only rise (a retry restarts its own).
  uint64_t refused = 0, throttled_ms = 0, throttles = 0, reconnects = 0;
  std::map<std::string, uint64_t> imap_errors;
  for (const AccountView& a : s.accounts) {
    refused += a.refused;
    throttled_ms += a.throttled_ms;
    throttles += a.throttles;
    reconnects += a.reconnects;
    for (const auto& [cls, n] : a.imap_errors) imap_errors[cls] += n;
  }
  for (const auto& [cls, n] : imap_errors) {
    RaiseTo(imap_errors_.Add({{"class", cls}}), static_cast<double>(n));
  }
  RaiseTo(*refused_mode_, static_cast<double>(refused));
  RaiseTo(throttled_seconds_, static_cast<double>(throttled_ms) / 1000.0);
  RaiseTo(throttles_, static_cast<double>(throttles));
  RaiseTo(reconnects_, static_cast<double>(reconnects));
  messages_expected_.Set(static_cast<double>(g.messages_total));
  bytes_expected_.Set(static_cast<double>(g.bytes_total));
  totals_known_.Set(g.totals_known ? 1 : 0);
  RaiseTo(retries_, static_cast<double>(s.fleet.retries));
  RaiseTo(leases_expired_, static_cast<double>(s.fleet.leases_expired));
  RaiseTo(stale_results_, static_cast<double>(s.fleet.rejected_results));
  RaiseTo(stale_progress_, static_cast<double>(s.fleet.rejected_progress));
  workers_connected_.Set(static_cast<double>(s.ConnectedWorkers()));
  workers_known_.Set(static_cast<double>(s.workers.size()));
  queue_depth_.Set(static_cast<double>(s.Count(TaskState::kPending)));
  parked_.Set(static_cast<double>(s.Parked()));
  elapsed_.Set(Seconds(g.elapsed));
  finished_.Set(s.finished ? 1 : 0);
  stopping_.Set(s.stopping ? 1 : 0);
  if (g.eta > absl::ZeroDuration()) {
    if (eta_ == nullptr) eta_ = &eta_family_.Add({});
    eta_->Set(Seconds(g.eta));
  } else if (eta_ != nullptr) {
    eta_family_.Remove(eta_);
    eta_ = nullptr;
  }
  // Each attempt that ended its account is observed once, when first seen final.
  if (observed_epoch_.size() < s.accounts.size()) observed_epoch_.resize(s.accounts.size(), 0);
  for (size_t i = 0; i < s.accounts.size(); ++i) {
    const TaskInfo& t = s.accounts[i].task;
    if (!IsTerminal(t.state) || t.earlier_run || t.epoch == 0) continue;
    if (observed_epoch_[i] == t.epoch) continue;
    observed_epoch_[i] = t.epoch;
    duration_.Add({{"state", TaskStateName(t.state)}}, DurationBuckets())
        .Observe(Seconds(s.accounts[i].elapsed));
  }
}

std::string JobMetrics::Text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace coordinator
