// FaultStore: wraps another Store and injects failures, for tests. Counts operations.
//
//   FaultStore store(std::move(fs));
//   store.FailNth(FaultStore::Op::kCommit, 3,
//                 absl::ResourceExhaustedError("disk full"));   // the 3rd commit from now
//   store.FailKeys(".json", absl::PermissionDeniedError("denied"));  // every op on them
//
// A fault matches an operation by kind and (when `key_substring` is set) by key. Its
// `nth` counts the matching operations since the fault was added (1-based); nth == 0 fails
// every matching operation. A non-sticky fault fires once, a sticky one (e.g. a disk that
// stays full) on its nth and every later match. With `after_success`, a Commit/Put-like
// operation is first performed on the wrapped store and then reported failed (the "lost
// OK" case: the object exists although the caller saw an error).
//
// Ownership: owns or borrows the wrapped store (see constructors). Writers and Readers it
// returns must not outlive it.
// Thread-safety: thread-safe; faults may be added while other threads use the store.
#ifndef MIGRATOR_COMMON_STORAGE_TESTING_FAULT_STORE_H_
#define MIGRATOR_COMMON_STORAGE_TESTING_FAULT_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/storage/store.h"

namespace storage {

class FaultStore : public Store {
 public:
  enum class Op { kNewWriter, kAppend, kCommit, kGet, kOpen, kRead, kExists, kList, kDelete };
  static constexpr int kNumOps = 9;

  struct Fault {
    Op op = Op::kCommit;
    int64_t nth = 0;             // 1-based among matching ops since added; 0 = every one
    bool sticky = false;         // keep failing after the nth
    std::string key_substring;   // "" = any key (List matches its prefix)
    bool after_success = false;  // kCommit/kDelete: do the operation, then report `status`
    absl::Status status;
  };

  explicit FaultStore(std::unique_ptr<Store> base);
  explicit FaultStore(Store* base);  // borrowed: must outlive this

  void AddFault(Fault fault);
  // The nth matching `op` from now fails once with `status`.
  void FailNth(Op op, int64_t n, absl::Status status);
  // The nth matching `op` from now and every later one fail (e.g. a full disk).
  void FailFrom(Op op, int64_t n, absl::Status status);
  // Every operation of any kind on a key containing `substring` fails.
  void FailKeys(const std::string& substring, absl::Status status);
  void ClearFaults();
  // Operations attempted (including failed ones) since construction.
  int64_t count(Op op) const;
  // FreeBytes() reports `bytes` instead of asking the wrapped store; -2 restores that.
  void SetFreeBytes(int64_t bytes);

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(const std::string& key) override;
  absl::StatusOr<std::string> Get(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& key) override;
  absl::StatusOr<bool> Exists(const std::string& key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  int64_t FreeBytes() override;
  std::string Describe() const override;
  absl::Status Sync() override { return base_->Sync(); }

  // The verdict for one operation: OK to proceed, or the injected failure. Sets
  // `*after` when the failure is to be reported after performing the operation.
  // Public for the writer/reader wrappers; tests need not call it.
  absl::Status Check(Op op, const std::string& key, bool* after = nullptr);

 private:
  struct Armed {
    Fault fault;
    int64_t seen = 0;
    bool spent = false;
  };
  std::unique_ptr<Store> owned_;
  Store* base_;
  mutable absl::Mutex mu_;
  std::vector<Armed> faults_ ABSL_GUARDED_BY(mu_);
  std::array<int64_t, kNumOps> counts_ ABSL_GUARDED_BY(mu_) = {};
  int64_t free_bytes_ ABSL_GUARDED_BY(mu_) = -2;
};

}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_TESTING_FAULT_STORE_H_
