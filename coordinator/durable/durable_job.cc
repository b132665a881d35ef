#include "coordinator/durable/durable_job.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace coordinator {

std::string StatePath(const DurableJobFlags& flags, engine::Mode mode, const std::string& log_dir) {
  if (flags.state == "none") return "";
  if (!flags.state.empty()) return flags.state;
  if (mode != engine::Mode::kExport && mode != engine::Mode::kImport) return "";
  return absl::StrCat(log_dir, "/", engine::ModeName(mode), ".state.sqlite");
}

absl::StatusOr<std::unique_ptr<StateStore>> OpenDurableJob(const DurableJobFlags& flags,
                                                           engine::Mode mode,
                                                           const config::Config& config,
                                                           const std::string& data_location,
                                                           const std::string& log_dir) {
  if (flags.max_attempts < 1 || flags.lease_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max-attempts must be >= 1 and --lease-timeout > 0");
  }
  std::string path = StatePath(flags, mode, log_dir);
  if (path.empty()) return nullptr;
  std::vector<std::string> emails;
  for (const config::Account& a : config.accounts) emails.push_back(a.email);
  JobIdentity id = MakeJobIdentity(mode, config, data_location);
  auto store = StateStore::Open(path, id, emails, flags.fresh);
  if (!store.ok()) return store.status();
  size_t done = (*store)->CountState(TaskState::kSucceeded);
  if (!(*store)->resumed()) {
    LOG(INFO) << "job state " << path << ": new job (" << id.Describe() << ")";
    return store;
  }
  if (done == (*store)->accounts().size()) {
    // The earlier run finished: this is a new pass, not a resume (export fetches only
    // what is new, import appends only what server B lacks).
    store->reset();
    store = StateStore::Open(path, id, emails, /*fresh=*/true);
    if (!store.ok()) return store.status();
    LOG(INFO) << "job state " << path << ": the earlier run of this job finished; "
              << "starting a new pass";
    return store;
  }
  LOG(INFO) << "job state " << path << ": resuming (" << done << " of "
            << (*store)->accounts().size()
            << " account(s) succeeded earlier and are not redone; the others run again)";
  return store;
}

void ApplyDurableJob(const DurableJobFlags& flags, StateStore* store, JobOptions* options) {
  options->lease_timeout = flags.lease_timeout;
  options->max_attempts = static_cast<uint32_t>(std::max(1, flags.max_attempts));
  if (store == nullptr) return;
  options->journal = store;
  options->restored = store->accounts();
  options->min_epoch = store->max_epoch();
}

}  // namespace coordinator
