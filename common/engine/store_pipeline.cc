// ExportRecorder and BodyPrefetcher (see store_pipeline.h).
#include "common/engine/store_pipeline.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/engine/message_source.h"
#include "common/status/status_macros.h"
#include "common/storage/request_pool.h"

namespace engine::internal {
namespace {

// What a writer waiting for its commit holds in memory at most: stores spill larger
// objects to a file (the S3 writer past 8 MB; the filesystem store writes through).
constexpr uint64_t kMaxHeldPerWriter = 8ull << 20;

}  // namespace

// ---- ExportRecorder ----

struct ExportRecorder::State : std::enable_shared_from_this<ExportRecorder::State> {
  struct Item {
    std::string base;
    MessageMeta meta;
    bool committed = false;
  };
  struct Batch {
    std::vector<Item> items;
    size_t pending = 0;  // .eml commits not finished
    uint64_t bytes = 0;
    bool closed = false;
  };

  State(storage::Store& s, std::string p, OnRecorded r)
      : store(s), prefix(std::move(p)), on_recorded(std::move(r)) {}

  // A commit of `batch`'s item `i` finished with `st`.
  void Committed(const std::shared_ptr<Batch>& batch, size_t i, const absl::Status& st);
  // Closes `batch`; records it when its commits are all done.
  void Close(const std::shared_ptr<Batch>& batch);
  // Every .eml of `batch` is committed: Sync, then its .json. Holds one `outstanding`.
  void Record(const std::shared_ptr<Batch>& batch);
  void Fail(const absl::Status& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (first_error.ok()) first_error = st;
  }

  storage::Store& store;
  storage::RequestPool& pool = storage::RequestPool::Shared();
  const std::string prefix;
  const OnRecorded on_recorded;
  mutable absl::Mutex mu;
  std::shared_ptr<Batch> open ABSL_GUARDED_BY(mu) = std::make_shared<Batch>();
  int uncommitted ABSL_GUARDED_BY(mu) = 0;
  int outstanding ABSL_GUARDED_BY(mu) = 0;  // commits, records and .json in flight
  absl::Status first_error ABSL_GUARDED_BY(mu);
  uint64_t written ABSL_GUARDED_BY(mu) = 0;
  uint64_t bytes ABSL_GUARDED_BY(mu) = 0;
  FolderMessages recorded ABSL_GUARDED_BY(mu);
};

void ExportRecorder::State::Committed(const std::shared_ptr<Batch>& batch, size_t i,
                                      const absl::Status& st) {
  bool ready = false;
  {
    absl::MutexLock lock(&mu);
    batch->items[i].committed = st.ok();
    if (!st.ok()) Fail(st);
    --uncommitted;
    ready = --batch->pending == 0 && batch->closed;
    if (!ready) --outstanding;  // else Record takes this one over
  }
  if (ready) Record(batch);
}

void ExportRecorder::State::Close(const std::shared_ptr<Batch>& batch) {
  bool ready = false;
  {
    absl::MutexLock lock(&mu);
    if (batch->items.empty() || batch->closed) return;
    batch->closed = true;
    ready = batch->pending == 0;
    if (ready) ++outstanding;
  }
  if (ready) Record(batch);
}

void ExportRecorder::State::Record(const std::shared_ptr<Batch>& batch) {
  // One sync makes every .eml of the batch durable before any of their .json exists: a .json
  // never points at an .eml a crash could lose, and there is no fsync per file.
  absl::Status synced = store.Sync();
  absl::MutexLock lock(&mu);
  if (!synced.ok()) {
    Fail(synced);
    --outstanding;
    return;
  }
  for (size_t i = 0; i < batch->items.size(); ++i) {
    if (!batch->items[i].committed) continue;
    ++outstanding;
    pool.Submit([self = shared_from_this(), batch, i] {
      State& s = *self;
      const Item& item = batch->items[i];
      absl::Status st = s.store.Put(s.prefix + item.base + ".json", MessageMetaToJson(item.meta));
      {
        absl::MutexLock lock(&s.mu);
        if (st.ok()) {
          ++s.written;
          s.bytes += item.meta.size;
          s.recorded[item.base] = item.meta;
        } else {
          s.Fail(st);
        }
      }
      if (st.ok() && s.on_recorded) s.on_recorded(item.base, item.meta);
      absl::MutexLock lock(&s.mu);
      --s.outstanding;
    });
  }
  --outstanding;
}

ExportRecorder::ExportRecorder(storage::Store& store, std::string prefix, OnRecorded on_recorded)
    : state_(std::make_shared<State>(store, std::move(prefix), std::move(on_recorded))) {}

ExportRecorder::~ExportRecorder() { Finish().IgnoreError(); }

absl::Status ExportRecorder::Add(std::unique_ptr<storage::Writer> writer, const std::string& base,
                                 MessageMeta meta) {
  State& s = *state_;
  {
    absl::MutexLock lock(&s.mu);
    if (!s.first_error.ok()) return s.first_error;
  }
  const uint64_t held = std::min(writer->bytes_written(), kMaxHeldPerWriter);
  s.pool.AcquireBytes(held);
  std::shared_ptr<State::Batch> batch;
  size_t index = 0;
  {
    absl::MutexLock lock(&s.mu);
    auto room = [&s]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) { return s.uncommitted < kMaxUncommitted; };
    s.mu.Await(absl::Condition(&room));
    batch = s.open;
    index = batch->items.size();
    batch->bytes += meta.size;
    batch->items.push_back({base, std::move(meta), false});
    ++batch->pending;
    ++s.uncommitted;
    ++s.outstanding;
  }
  std::shared_ptr<storage::Writer> w(std::move(writer));
  s.pool.Submit([state = state_, w, batch, index, held, key = s.prefix + base + ".eml"]() mutable {
    absl::Status st = w->CommitAs(key);
    w.reset();  // its memory goes before the bytes are released
    state->pool.ReleaseBytes(held);
    state->Committed(batch, index, st);
  });
  return absl::OkStatus();
}

void ExportRecorder::CloseBatch() {
  std::shared_ptr<State::Batch> batch;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->open->items.empty()) return;
    batch = std::move(state_->open);
    state_->open = std::make_shared<State::Batch>();
  }
  state_->Close(batch);
}

absl::Status ExportRecorder::Finish() {
  CloseBatch();
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  auto idle = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) { return s.outstanding == 0; };
  s.mu.Await(absl::Condition(&idle));
  return s.first_error;
}

size_t ExportRecorder::batch_messages() const {
  absl::MutexLock lock(&state_->mu);
  return state_->open->items.size();
}

uint64_t ExportRecorder::batch_bytes() const {
  absl::MutexLock lock(&state_->mu);
  return state_->open->bytes;
}

uint64_t ExportRecorder::written() const {
  absl::MutexLock lock(&state_->mu);
  return state_->written;
}

uint64_t ExportRecorder::bytes() const {
  absl::MutexLock lock(&state_->mu);
  return state_->bytes;
}

FolderMessages ExportRecorder::recorded() const {
  absl::MutexLock lock(&state_->mu);
  return state_->recorded;
}

// ---- BodyPrefetcher ----

// A message read ahead: its bytes once the read finished (ReadAt waits for them), or, when
// the read failed, streamed from the store after all.
class BodyPrefetcher::Body : public imap::LiteralSource {
 public:
  Body(storage::Store& store, const Item& item) : store_(store), item_(item) {}
  ~Body() override { storage::RequestPool::Shared().ReleaseBytes(item_.size); }

  // The read (on a pool thread).
  void Read() {
    std::string data;
    absl::Status st = ReadAll(&data);
    absl::MutexLock lock(&mu_);
    status_ = st;
    data_ = std::move(data);
    done_ = true;
  }

  uint64_t size() const override { return item_.size; }
  std::string Describe() const override { return absl::StrCat("source UID ", item_.source_uid); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t max) const override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    if (!status_.ok()) {  // streamed after all
      if (!fallback_) {
        fallback_ =
            std::make_unique<StoreLiteralSource>(store_, item_.key, item_.size, item_.source_uid);
      }
      return fallback_->ReadAt(offset, buf, max);
    }
    if (offset >= data_.size()) return 0;
    const size_t n = std::min<uint64_t>(max, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, n);
    return n;
  }

 private:
  absl::Status ReadAll(std::string* out) {
    ASSIGN_OR_RETURN(std::unique_ptr<storage::Reader> reader, store_.Open(item_.key));
    if (reader->size() != item_.size) {
      return absl::DataLossError(absl::StrCat(item_.key, ": size ", reader->size(),
                                              " differs from its metadata (", item_.size, ")"));
    }
    out->resize(item_.size);
    for (size_t at = 0; at < out->size();) {
      ASSIGN_OR_RETURN(size_t n, reader->Read(out->data() + at, out->size() - at));
      if (n == 0) return absl::DataLossError(absl::StrCat(item_.key, ": shorter than its size"));
      at += n;
    }
    return absl::OkStatus();
  }

  storage::Store& store_;
  const Item item_;
  mutable absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::string data_ ABSL_GUARDED_BY(mu_);
  mutable std::unique_ptr<StoreLiteralSource> fallback_ ABSL_GUARDED_BY(mu_);
};

BodyPrefetcher::BodyPrefetcher(storage::Store& store, std::vector<Item> order)
    : store_(store),
      order_(std::move(order)),
      started_(order_.size()),
      taken_(order_.size(), false),
      reads_(std::make_unique<storage::TaskGroup>(storage::RequestPool::Shared())) {}

BodyPrefetcher::~BodyPrefetcher() { reads_->Wait().IgnoreError(); }

void BodyPrefetcher::ReadAhead(size_t from) {
  uint64_t bytes = 0;
  for (size_t j = from, n = 0; j < order_.size() && n < kWindowMessages && bytes < kWindowBytes;
       ++j, ++n) {
    const Item& item = order_[j];
    bytes += item.size;
    if (started_[j] || taken_[j] || item.size > kMaxBytes) continue;
    if (!storage::RequestPool::Shared().TryAcquireBytes(item.size)) return;
    auto body = std::make_shared<Body>(store_, item);
    started_[j] = body;
    reads_->Run([body] {
      body->Read();
      return absl::OkStatus();
    });
  }
}

std::shared_ptr<imap::LiteralSource> BodyPrefetcher::Take(size_t i) {
  if (i >= order_.size()) return nullptr;
  ReadAhead(i);
  taken_[i] = true;
  return std::move(started_[i]);
}

}  // namespace engine::internal
