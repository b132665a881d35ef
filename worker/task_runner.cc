#include "worker/task_runner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/storage/store.h"

namespace worker {
namespace {

// Forwards engine progress to the reporter, at most once per interval.
class RateLimitedListener : public engine::ProgressListener {
 public:
  RateLimitedListener(const TaskSpec& spec, TaskReporter* reporter, absl::Duration every)
      : spec_(spec), reporter_(reporter), every_(every) {}
  void OnProgress(const engine::Progress& progress) override {
    absl::Time now = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      if (now - last_ < every_) return;
      last_ = now;
    }
    reporter_->OnTaskProgress(spec_, progress);
  }

 private:
  const TaskSpec& spec_;
  TaskReporter* reporter_;
  const absl::Duration every_;
  absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace

engine::AccountResult RunOnEngine(const TaskSpec& spec, engine::ProgressListener* progress,
                                  const engine::CancelToken& cancel) {
  // A dry run creates nothing, not even the export's directory.
  auto store = spec.task.dry_run ? storage::OpenStoreReadOnly(spec.data_location)
                                 : storage::OpenStore(spec.data_location);
  if (!store.ok()) {
    engine::AccountResult result;
    result.status = absl::Status(store.status().code(), absl::StrCat("opening the data location: ",
                                                                     store.status().message()));
    return result;
  }
  return engine::RunAccount(spec.task, **store, progress, cancel);
}

TaskRunner::TaskRunner(TaskRunnerOptions options, TaskReporter* reporter)
    : options_(options), reporter_(reporter) {}

TaskRunner::~TaskRunner() {
  CancelAll();
  std::map<std::pair<uint64_t, uint64_t>, std::unique_ptr<Slot>> slots;
  {
    absl::MutexLock lock(&mu_);
    slots.swap(slots_);
  }
  for (auto& [id, slot] : slots) {
    if (slot->thread.joinable()) slot->thread.join();
  }
}

absl::Status TaskRunner::Start(TaskSpec spec) {
  absl::MutexLock lock(&mu_);
  JoinFinishedLocked();
  if (slots_.count({spec.task_id, spec.epoch}) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("task ", spec.task_id, " epoch ", spec.epoch, " is running"));
  }
  for (auto& [key, old] : slots_) {
    if (key.first == spec.task_id && !old->finished) old->cancel.Cancel();
  }
  auto slot = std::make_unique<Slot>();
  slot->epoch = spec.epoch;
  Slot* raw = slot.get();
  slots_[{spec.task_id, spec.epoch}] = std::move(slot);
  ++running_;
  raw->thread = std::thread([this, spec = std::move(spec), raw] { RunOne(spec, raw); });
  return absl::OkStatus();
}

void TaskRunner::WaitForOlderEpochs(const TaskSpec& spec) {
  auto older_done = [this, &spec]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [key, slot] : slots_) {
      if (key.first == spec.task_id && key.second < spec.epoch && !slot->finished) return false;
    }
    return true;
  };
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&older_done));
}

// The account's own log file for this attempt (null without --log-per-account, or when it
// cannot be opened: then a warning, and the account runs on).
std::shared_ptr<logging::ThreadLog> TaskRunner::OpenAccountLog(const TaskSpec& spec) const {
  if (options_.account_log_dir.empty()) return nullptr;
  std::string error;
  std::shared_ptr<logging::ThreadLog> log =
      logging::OpenAccountLog(options_.account_log_dir, spec.task.account.email, &error);
  if (log == nullptr) {
    LOG(WARNING) << "account " << spec.task.account.email << ": " << error;
    return nullptr;
  }
  log->Append(absl::StrCat(
      "=== ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()), " ",
      engine::ModeName(spec.task.mode), " of ", spec.task.account.email, ", attempt ", spec.attempt,
      " (task ", spec.task_id, ", epoch ", spec.epoch, ")\n"));
  return log;
}

void TaskRunner::RunOne(const TaskSpec& spec, Slot* slot) {
  WaitForOlderEpochs(spec);
  logging::ScopedThreadLog account_log(OpenAccountLog(spec));
  absl::Time start = absl::Now();
  engine::AccountResult result = Execute(spec, slot);
  reporter_->OnTaskDone(spec, result, absl::Now() - start);
  absl::MutexLock lock(&mu_);
  slot->finished = true;
  --running_;
}

engine::AccountResult TaskRunner::Execute(const TaskSpec& spec, Slot* slot) {
  RateLimitedListener listener(spec, reporter_, options_.min_progress_interval);
  return options_.run_account(spec, &listener, slot->cancel);
}

bool TaskRunner::Cancel(uint64_t task_id, uint64_t epoch) {
  absl::MutexLock lock(&mu_);
  bool any = false;
  for (auto& [key, slot] : slots_) {
    if (key.first != task_id || slot->finished) continue;
    if (epoch != 0 && key.second != epoch) continue;
    slot->cancel.Cancel();
    any = true;
  }
  return any;
}

void TaskRunner::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, slot] : slots_) slot->cancel.Cancel();
}

std::vector<uint64_t> TaskRunner::RunningIds() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> ids;
  for (const auto& [key, slot] : slots_) {
    if (!slot->finished) ids.push_back(key.first);
  }
  return ids;
}

std::vector<std::pair<uint64_t, uint64_t>> TaskRunner::RunningLeases() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& [key, slot] : slots_) {
    if (!slot->finished) out.push_back(key);
  }
  return out;
}

int TaskRunner::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

bool TaskRunner::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

void TaskRunner::JoinFinishedLocked() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->second->finished) {
      // The thread has set `finished` as its last step under mu_; joining is
      // immediate.
      if (it->second->thread.joinable()) it->second->thread.join();
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace worker
