// Store requests in flight together (storage::RequestPool::Shared(), the worker's
// --store-concurrency), for the engine's two streams of messages:
//   - ExportRecorder: export commits each message (.eml) in the background while the FETCH
//     goes on, and records it (.json) once its .eml is durable.
//   - BodyPrefetcher: import reads the next messages from the store while the current
//     APPEND runs.
// Internal to common/engine.
#ifndef MIGRATOR_COMMON_ENGINE_STORE_PIPELINE_H_
#define MIGRATOR_COMMON_ENGINE_STORE_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/engine/folder_index.h"
#include "common/engine/layout.h"
#include "common/imap/command.h"
#include "common/storage/request_pool.h"
#include "common/storage/store.h"

namespace engine::internal {

// One folder's exported messages on their way into the store. The invariant of the data
// format holds: a message's .json is written only after its .eml commit succeeded and a
// Store::Sync() that followed it returned; what the recorder counts (written(), bytes(),
// recorded(), OnRecorded) is only what has its .json.
//   Add()        queues the .eml commit; blocks while the worker's byte bound
//                (RequestPool::kDefaultMaxBytes) or this folder's bound of messages not
//                yet committed is reached; fails once an earlier commit or record failed.
//   CloseBatch() ends the open batch: once each of its .eml is committed, one Sync() (the
//                filesystem store's batched durability; nothing on S3), then their .json
//                in parallel.
//   Finish()     closes the batch and waits for everything; the first error (what was
//                recorded before and after it stays recorded).
// Add, CloseBatch and Finish are called from one thread (the FETCH's); OnRecorded from the
// pool's threads.
class ExportRecorder {
 public:
  using OnRecorded = std::function<void(const std::string& base, const MessageMeta& meta)>;
  ExportRecorder(storage::Store& store, std::string prefix, OnRecorded on_recorded);
  ~ExportRecorder();  // Finish()
  ExportRecorder(const ExportRecorder&) = delete;
  ExportRecorder& operator=(const ExportRecorder&) = delete;

  absl::Status Add(std::unique_ptr<storage::Writer> writer, const std::string& base,
                   MessageMeta meta);
  void CloseBatch();
  absl::Status Finish();

  // Messages and bytes (their .eml) in the open batch.
  size_t batch_messages() const;
  uint64_t batch_bytes() const;
  uint64_t written() const;  // messages recorded
  uint64_t bytes() const;    // their sizes
  // The messages recorded so far, by base name.
  FolderMessages recorded() const;

  // Messages of one folder whose .eml commit has not finished, at most.
  static constexpr int kMaxUncommitted = 64;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Reads import's messages ahead: `order` lists them (key, size, source UID) in the order
// they will be sent; Take(i) hands out message i's body and starts reading the messages
// after it (up to kWindowMessages / kWindowBytes ahead; only messages up to kMaxBytes, and
// only while the worker's byte bound allows), each in its own store request. A message not
// read ahead is nullptr: the caller streams it from the store as before. A read that fails
// is read again, streamed, when the APPEND needs it.
class BodyPrefetcher {
 public:
  struct Item {
    std::string key;
    uint64_t size = 0;
    uint64_t source_uid = 0;
  };
  BodyPrefetcher(storage::Store& store, std::vector<Item> order);
  ~BodyPrefetcher();  // waits for the reads in flight
  BodyPrefetcher(const BodyPrefetcher&) = delete;
  BodyPrefetcher& operator=(const BodyPrefetcher&) = delete;

  std::shared_ptr<imap::LiteralSource> Take(size_t i);

  static constexpr size_t kWindowMessages = 64;
  static constexpr uint64_t kWindowBytes = 8ull << 20;
  static constexpr uint64_t kMaxBytes = 1ull << 20;

 private:
  class Body;
  void ReadAhead(size_t from);

  storage::Store& store_;
  const std::vector<Item> order_;
  std::vector<std::shared_ptr<Body>> started_;  // by index; null: not read ahead
  std::vector<bool> taken_;
  std::unique_ptr<storage::TaskGroup> reads_;  // the reads in flight
};

}  // namespace engine::internal

#endif  // MIGRATOR_COMMON_ENGINE_STORE_PIPELINE_H_
