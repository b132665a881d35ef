#include "coordinator/durable_job.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "coordinator/report.h"

namespace coordinator {

std::string StatePath(const DurableJobFlags& flags, engine::Mode mode,
                      const std::string& log_dir) {
  if (flags.state == "none") return "";
  if (!flags.state.empty()) return flags.state;
  if (mode != engine::Mode::kExport && mode != engine::Mode::kImport) return "";
  return absl::StrCat(log_dir, "/", engine::ModeName(mode), ".state.sqlite");
}

int OpenDurableJob(const DurableJobFlags& flags, engine::Mode mode,
                   const config::Config& config,
                   const std::string& data_location, const std::string& log_dir,
                   std::unique_ptr<StateStore>* store) {
  if (flags.max_attempts < 1 || flags.lease_timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "coordinator: --max-attempts must be >= 1 and "
                 "--lease-timeout > 0\n");
    return kExitUsage;
  }
  std::string path = StatePath(flags, mode, log_dir);
  if (path.empty()) return -1;
  std::vector<std::string> emails;
  for (const config::Account& a : config.accounts) emails.push_back(a.email);
  JobIdentity id = MakeJobIdentity(mode, config, data_location);
  auto opened = StateStore::Open(path, id, emails, flags.fresh);
  if (!opened.ok()) {
    std::string msg(opened.status().message());
    LOG(ERROR) << msg;
    std::fprintf(stderr, "coordinator: %s\n", msg.c_str());
    return absl::IsFailedPrecondition(opened.status()) ? kExitUsage
                                                       : kExitEnvironment;
  }
  *store = std::move(*opened);
  const StateStore& s = **store;
  size_t done = s.CountState(TaskState::kSucceeded);
  if (!s.resumed()) {
    LOG(INFO) << "job state " << path << ": new job (" << id.Describe() << ")";
    return -1;
  }
  if (done == s.accounts().size()) {
    // The earlier run finished: this is a new pass, not a resume (export fetches only
    // what is new, import appends only what server B lacks).
    store->reset();
    auto fresh = StateStore::Open(path, id, emails, /*fresh=*/true);
    if (!fresh.ok()) {
      std::fprintf(stderr, "coordinator: %s\n", std::string(fresh.status().message()).c_str());
      return kExitEnvironment;
    }
    *store = std::move(*fresh);
    LOG(INFO) << "job state " << path << ": the earlier run of this job finished; "
              << "starting a new pass";
    return -1;
  }
  LOG(INFO) << "job state " << path << ": resuming (" << done << " of "
            << s.accounts().size()
            << " account(s) succeeded earlier and are not redone; the others "
               "run again)";
  return -1;
}

void ApplyDurableJob(const DurableJobFlags& flags, StateStore* store,
                     JobOptions* options) {
  options->lease_timeout = flags.lease_timeout;
  options->max_attempts =
      static_cast<uint32_t>(std::max(1, flags.max_attempts));
  if (store == nullptr) return;
  options->journal = store;
  options->restored = store->accounts();
  options->min_epoch = store->max_epoch();
}

}  // namespace coordinator
