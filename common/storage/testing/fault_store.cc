// FaultStore (see fault_store.h).
#include "common/storage/testing/fault_store.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace storage {
namespace {

class FaultWriter : public Writer {
 public:
  FaultWriter(FaultStore* store, std::string key, std::unique_ptr<Writer> base)
      : store_(store), key_(std::move(key)), base_(std::move(base)) {}
  absl::Status Append(absl::string_view data) override {
    RETURN_IF_ERROR(store_->Check(FaultStore::Op::kAppend, key_));
    return base_->Append(data);
  }
  absl::Status Commit() override { return CommitAs(key_); }
  absl::Status CommitAs(const std::string& key) override {
    bool after = false;
    absl::Status injected = store_->Check(FaultStore::Op::kCommit, key, &after);
    if (!injected.ok() && !after) return injected;
    RETURN_IF_ERROR(base_->CommitAs(key));
    return injected;
  }
  uint64_t bytes_written() const override { return base_->bytes_written(); }

 private:
  FaultStore* store_;
  std::string key_;
  std::unique_ptr<Writer> base_;
};

class FaultReader : public Reader {
 public:
  FaultReader(FaultStore* store, std::string key, std::unique_ptr<Reader> base)
      : store_(store), key_(std::move(key)), base_(std::move(base)) {}
  uint64_t size() const override { return base_->size(); }
  absl::StatusOr<size_t> Read(char* buf, size_t max) override {
    RETURN_IF_ERROR(store_->Check(FaultStore::Op::kRead, key_));
    return base_->Read(buf, max);
  }

 private:
  FaultStore* store_;
  std::string key_;
  std::unique_ptr<Reader> base_;
};

}  // namespace

FaultStore::FaultStore(std::unique_ptr<Store> base)
    : owned_(std::move(base)), base_(owned_.get()) {}
FaultStore::FaultStore(Store* base) : base_(base) {}

void FaultStore::AddFault(Fault fault) {
  absl::MutexLock lock(&mu_);
  faults_.push_back(Armed{std::move(fault)});
}

void FaultStore::FailNth(Op op, int64_t n, absl::Status status) {
  Fault f;
  f.op = op;
  f.nth = n;
  f.status = std::move(status);
  AddFault(std::move(f));
}

void FaultStore::FailFrom(Op op, int64_t n, absl::Status status) {
  Fault f;
  f.op = op;
  f.nth = n;
  f.sticky = true;
  f.status = std::move(status);
  AddFault(std::move(f));
}

void FaultStore::FailKeys(const std::string& substring, absl::Status status) {
  for (int i = 0; i < kNumOps; ++i) {
    Fault f;
    f.op = static_cast<Op>(i);
    f.key_substring = substring;
    f.status = status;
    AddFault(std::move(f));
  }
}

void FaultStore::ClearFaults() {
  absl::MutexLock lock(&mu_);
  faults_.clear();
}

int64_t FaultStore::count(Op op) const {
  absl::MutexLock lock(&mu_);
  return counts_[static_cast<int>(op)];
}

void FaultStore::SetFreeBytes(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  free_bytes_ = bytes;
}

absl::Status FaultStore::Check(Op op, const std::string& key, bool* after) {
  absl::MutexLock lock(&mu_);
  counts_[static_cast<int>(op)]++;
  const Fault* fired = nullptr;
  // Every matching fault counts this operation; the first one due fires.
  for (Armed& a : faults_) {
    const Fault& f = a.fault;
    if (f.op != op || a.spent) continue;
    if (!f.key_substring.empty() && !absl::StrContains(key, f.key_substring)) continue;
    ++a.seen;
    bool due = f.nth == 0 || a.seen == f.nth || (f.sticky && a.seen > f.nth);
    if (!due || fired != nullptr) continue;
    if (!f.sticky && f.nth != 0) a.spent = true;
    fired = &f;
  }
  if (fired == nullptr) return absl::OkStatus();
  if (after != nullptr) *after = fired->after_success;
  return fired->status;
}

absl::StatusOr<std::unique_ptr<Writer>> FaultStore::NewWriter(const std::string& key) {
  RETURN_IF_ERROR(Check(Op::kNewWriter, key));
  ASSIGN_OR_RETURN(std::unique_ptr<Writer> base, base_->NewWriter(key));
  return std::unique_ptr<Writer>(new FaultWriter(this, key, std::move(base)));
}

absl::StatusOr<std::string> FaultStore::Get(const std::string& key) {
  RETURN_IF_ERROR(Check(Op::kGet, key));
  return base_->Get(key);
}

absl::StatusOr<std::unique_ptr<Reader>> FaultStore::Open(const std::string& key) {
  RETURN_IF_ERROR(Check(Op::kOpen, key));
  ASSIGN_OR_RETURN(std::unique_ptr<Reader> base, base_->Open(key));
  return std::unique_ptr<Reader>(new FaultReader(this, key, std::move(base)));
}

absl::StatusOr<bool> FaultStore::Exists(const std::string& key) {
  RETURN_IF_ERROR(Check(Op::kExists, key));
  return base_->Exists(key);
}

absl::StatusOr<std::vector<ObjectInfo>> FaultStore::List(const std::string& prefix) {
  RETURN_IF_ERROR(Check(Op::kList, prefix));
  return base_->List(prefix);
}

absl::Status FaultStore::Delete(const std::string& key) {
  bool after = false;
  absl::Status injected = Check(Op::kDelete, key, &after);
  if (!injected.ok() && !after) return injected;
  RETURN_IF_ERROR(base_->Delete(key));
  return injected;
}

int64_t FaultStore::FreeBytes() {
  {
    absl::MutexLock lock(&mu_);
    if (free_bytes_ != -2) return free_bytes_;
  }
  return base_->FreeBytes();
}

std::string FaultStore::Describe() const { return "fault:" + base_->Describe(); }

}  // namespace storage
