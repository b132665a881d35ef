#include "coordinator/durable/durable_job.h"

#include <algorithm>
#include <utility>

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

namespace {

// The Job numbers the accounts of a subset run 0..n-1; the state, by config index.
class SubsetJournal : public JobJournal {
 public:
  SubsetJournal(JobJournal* store, std::vector<int> indices)
      : store_(store), indices_(std::move(indices)) {}
  void Record(const TaskInfo& task, const AccountTotals& totals, bool terminal) override {
    if (task.account_index < 0 || static_cast<size_t>(task.account_index) >= indices_.size()) {
      return;
    }
    TaskInfo t = task;
    t.account_index = indices_[task.account_index];
    store_->Record(t, totals, terminal);
  }

 private:
  JobJournal* store_;
  std::vector<int> indices_;
};

}  // namespace

std::unique_ptr<JobJournal> ApplyDurableJob(const DurableJobFlags& flags, StateStore* store,
                                            const std::vector<int>& subset, JobOptions* options) {
  options->lease_timeout = flags.lease_timeout;
  options->max_attempts = static_cast<uint32_t>(std::max(1, flags.max_attempts));
  if (store == nullptr) return nullptr;
  options->min_epoch = store->max_epoch();
  if (subset.empty()) {
    options->journal = store;
    options->restored = store->accounts();
    return nullptr;
  }
  auto journal = std::make_unique<SubsetJournal>(store, subset);
  options->journal = journal.get();
  options->restored.clear();
  for (size_t i = 0; i < subset.size(); ++i) {
    for (const StoredAccount& r : store->accounts()) {
      if (r.index != subset[i]) continue;
      StoredAccount row = r;
      row.index = static_cast<int>(i);
      options->restored.push_back(row);
    }
  }
  return journal;
}

}  // namespace coordinator
