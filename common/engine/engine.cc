#include "common/engine/engine.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/engine/connect.h"
#include "common/engine/engine_internal.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/storage/request_pool.h"

namespace engine {

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kExport:
      return "export";
    case Mode::kImport:
      return "import";
    case Mode::kValidate:
      return "validate";
    case Mode::kTest:
      return "test";
  }
  return "?";
}

bool ParseMode(absl::string_view text, Mode* mode) {
  for (Mode m : {Mode::kExport, Mode::kImport, Mode::kValidate, Mode::kTest}) {
    if (absl::AsciiStrToLower(text) == ModeName(m)) {
      *mode = m;
      return true;
    }
  }
  return false;
}

AccountResult RunAccount(const AccountTask& task, storage::Store& store, ProgressListener* progress,
                         const CancelToken& cancel) {
  if (task.store_concurrency > 0) {
    storage::RequestPool::Shared().SetConcurrency(task.store_concurrency);
  }
  std::unique_ptr<SecretSource> secrets = SecretSource::ForAccount(task.account);
  // Read once up front: a missing secret fails the account before any connection.
  if (auto secret = secrets->Get(); !secret.ok()) {
    AccountResult r;
    r.status = status::Annotate(secret.status(), absl::StrCat("account ", task.account.email));
    return r;
  }
  PacingOptions pacing;
  pacing.max_wait = absl::Seconds(task.server.throttle_max_wait);
  pacing.budget = absl::Seconds(task.server.throttle_budget);
  Pacer pacer(pacing, internal::MaxConnections(task));
  const Selector selector(task.selection);
  ByteBudget budget(task.budget_bytes, task.budget_spent, task.budget_resume_at);
  const double rate = internal::MessagesPerSecond(task);
  std::unique_ptr<TokenBucket> pace = rate > 0 ? std::make_unique<TokenBucket>(rate) : nullptr;
  // A dry run reads the store and writes nothing (a write would fail, not happen).
  std::unique_ptr<storage::Store> read_only = task.dry_run ? storage::ReadOnlyView(store) : nullptr;
  internal::Context ctx{task,
                        read_only ? *read_only : store,
                        cancel,
                        *secrets,
                        internal::ProgressTracker(progress),
                        pacer,
                        selector,
                        budget,
                        pace.get()};
  pacer.SetListener([&ctx](const PacingCounters& c) { ctx.progress.Pacing(c); });
  AccountResult r;
  switch (task.mode) {
    case Mode::kExport:
      r = task.dry_run ? internal::PlanExport(ctx) : internal::RunExport(ctx);
      break;
    case Mode::kImport:
      r = task.dry_run ? internal::PlanImport(ctx) : internal::RunImport(ctx);
      break;
    case Mode::kValidate:
      r = task.dry_run ? internal::PlanValidate(ctx) : internal::RunValidate(ctx);
      break;
    case Mode::kTest:
      r = internal::RunTest(ctx);
      break;
    default:
      r.status = absl::InvalidArgumentError("unknown mode");
  }
  pacer.SetListener(nullptr);
  const PacingCounters c = pacer.counters();
  r.throttled_ms = c.throttled_ms;
  r.throttles = c.throttles;
  r.reconnects = c.reconnects;
  r.budget_used = budget.used();
  if (IsBudgetStop(r.status)) {
    r.status = status::Annotate(budget.SpentStatus(), absl::StrCat("account ", task.account.email));
    r.parked_until = budget.resume_at();
    LOG(INFO) << r.status.message() << " (" << r.budget_used << " byte(s) this run)";
  }
  r.imap_errors = c.imap_errors;
  if (c.throttles > 0 || c.reconnects > 0) {
    LOG(INFO) << "account " << task.account.email << ": throttled " << c.throttles
              << " time(s), paused " << c.throttled_ms << " ms, " << c.reconnects
              << " reconnect(s)";
  }
  return r;
}

namespace internal {

void ProgressTracker::Emit() {
  if (listener_ != nullptr) listener_->OnProgress(p_);
}

void ProgressTracker::AddTotals(uint64_t folders, uint64_t messages) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.folders_total += folders;
  p_.messages_total += messages;
  Emit();
}

void ProgressTracker::AddMessages(uint64_t total_delta, uint64_t bytes_delta) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.messages_total += total_delta;
  p_.bytes_total += bytes_delta;
  Emit();
}

void ProgressTracker::Message(const std::string& folder, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.folder = folder;
  p_.messages_done += 1;
  p_.bytes_done += bytes;
  Emit();
}

void ProgressTracker::Pacing(const PacingCounters& counters) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.throttled_ms = counters.throttled_ms;
  p_.throttles = counters.throttles;
  p_.reconnects = counters.reconnects;
  p_.imap_errors = counters.imap_errors;
  Emit();
}

uint64_t ProgressTracker::messages_done() {
  std::lock_guard<std::mutex> lock(mu_);
  return p_.messages_done;
}

void ProgressTracker::FolderDone(const std::string& folder) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.folder = folder;
  p_.folders_done += 1;
  Emit();
}

// Dry runs and test mode change nothing on the servers: their sessions refuse to.
bool ReadOnlyTask(const AccountTask& task) { return task.dry_run || task.mode == Mode::kTest; }

absl::StatusOr<std::unique_ptr<imap::Session>> Context::Connect() const {
  auto s = ConnectAccount(task.server, task.account, secrets,
                          [this](const imap::ReplyInfo& info) { pacer.OnReply(info); });
  if (!s.ok()) return status::Annotate(s.status(), absl::StrCat("account ", email()));
  (*s)->set_read_only(ReadOnlyTask(task));
  return s;
}

int MaxConnections(const AccountTask& task) {
  if (task.max_connections > 0) return task.max_connections;
  return config::LimitsOf(task.server, task.account, config::Direction::kNone).max_connections;
}

double MessagesPerSecond(const AccountTask& task) {
  return config::LimitsOf(task.server, task.account, config::Direction::kNone).messages_per_second;
}

void Context::PaceMessage() const {
  if (pace != nullptr) pace->Acquire([this] { return cancel.cancelled(); });
}

size_t Context::Connections(size_t items) const {
  return std::max<size_t>(1, std::min<size_t>(items, MaxConnections(task)));
}

absl::StatusOr<std::unique_ptr<imap::Session>> Context::Open() const {
  auto s = OpenServer(task.server, [this](const imap::ReplyInfo& info) { pacer.OnReply(info); });
  if (!s.ok()) return status::Annotate(s.status(), absl::StrCat("account ", email()));
  (*s)->set_read_only(ReadOnlyTask(task));
  return s;
}

absl::Status Context::Login(imap::Session& session) const {
  return status::Annotate(LoginAccount(session, task.account, secrets),
                          absl::StrCat("account ", email()));
}

Prewarm::Prewarm(Context& ctx, size_t n) : connecting_(n) {
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this, &ctx, log = logging::CurrentThreadLog()] {
      logging::ScopedThreadLog scope(log);
      Run(ctx);
    });
  }
}

void Prewarm::Run(Context& ctx) {
  auto s = ctx.Open();
  bool login;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return released_; });
    login = login_;
  }
  absl::Status refused = login ? absl::OkStatus() : absl::CancelledError("not used");
  if (s.ok() && login) refused = ctx.Login(**s);
  const Pacer::Kind kind = Pacer::KindOf(refused);
  if (kind == Pacer::Kind::kCap || kind == Pacer::Kind::kThrottle) {
    // The server wants fewer connections or a pause: the pacer learns it here, as the
    // runner would from its own login.
    int open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      open = static_cast<int>(logged_in_);
    }
    ctx.pacer.OnFailure(refused, open, 0);
  }
  if (!refused.ok()) s = refused;
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    ready_.push_back(std::move(*s));
    ++logged_in_;
  }
  --connecting_;
  cv_.notify_all();
}

void Prewarm::Release(bool login) {
  std::lock_guard<std::mutex> lock(mu_);
  if (released_) return;
  released_ = true;
  login_ = login;
  cv_.notify_all();
}

Prewarm::~Prewarm() {
  Release(false);
  for (auto& t : threads_) t.join();
}

std::unique_ptr<imap::Session> Prewarm::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !ready_.empty() || connecting_ == 0; });
  if (ready_.empty()) return nullptr;
  std::unique_ptr<imap::Session> s = std::move(ready_.front());
  ready_.pop_front();
  return s;
}

absl::optional<absl::Status> RunStep(Context& ctx, std::unique_ptr<imap::Session>* session,
                                     StepState* state, std::atomic<int>* open,
                                     const std::function<bool()>& admitted,
                                     const std::function<absl::Status(imap::Session&)>& fn) {
  const Pacer::Cancelled cancelled = [&ctx] { return ctx.cancel.cancelled(); };
  auto drop = [&] {
    if (*session) {
      session->reset();
      open->fetch_sub(1);
    }
  };
  for (;;) {
    if (ctx.cancel.cancelled()) return absl::CancelledError("cancelled");
    if (ctx.budget.stopped()) return ctx.budget.SpentStatus();  // no new step, no connection
    ctx.pacer.WaitResumed(cancelled);
    if (ctx.cancel.cancelled()) return absl::CancelledError("cancelled");
    if (admitted && !admitted()) {
      drop();
      return absl::nullopt;
    }
    if (*session && (*session)->closed()) drop();
    absl::Status st;
    uint64_t done_before = ctx.progress.messages_done();
    if (!*session) {
      if (state->failed_before) ctx.pacer.OnReconnect();
      auto s = ctx.Connect();
      st = s.status();
      if (s.ok()) {
        *session = std::move(*s);
        open->fetch_add(1);
      }
    }
    if (*session) {
      st = fn(**session);
      if (st.ok()) {
        ctx.pacer.OnSuccess();
        return st;
      }
      if (!status::IsRetriable(st)) return st;
      drop();  // a broken connection, or one the server wants gone: the next try reconnects
    }
    state->failed_before = true;
    if (ctx.progress.messages_done() > done_before) {
      state->attempts = 0;  // it moved on: the retry resumes from there
      state->temporary_streak = 0;
    }
    const bool temporary = Pacer::KindOf(st) == Pacer::Kind::kTemporary;
    state->temporary_streak = temporary ? state->temporary_streak + 1 : 0;
    Pacer::Decision d = ctx.pacer.OnFailure(st, open->load(), state->temporary_streak);
    if (!d.retry) return d.status;
    if (d.counts_attempt && ++state->attempts >= kMaxStepAttempts) return st;
    LOG(INFO) << (absl::StartsWith(st.message(), "account ") ? "" : "account " + ctx.email() + ": ")
              << st.message() << "; retrying"
              << (temporary ? " on a new connection" : " after the server's pause");
    ctx.pacer.Sleep(d.pause, cancelled);
  }
}

std::vector<absl::Status> ForEachItem(
    Context& ctx, std::unique_ptr<imap::Session> first, Prewarm* more, size_t count,
    size_t connections, const std::function<absl::Status(imap::Session&, size_t)>& fn) {
  struct Item {
    size_t index;
    StepState state;
  };
  std::vector<absl::Status> results(count);
  std::mutex mu;
  std::condition_variable cv;
  size_t next = 0;
  size_t running = 0;            // items being worked on (one may be handed back)
  std::deque<Item> handed_back;  // by connections the pacer no longer allows
  std::atomic<int> open{first ? 1 : 0};
  const Pacer::Cancelled cancelled = [&ctx] { return ctx.cancel.cancelled(); };
  auto take = [&](Item* item) {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (!handed_back.empty()) {
        *item = std::move(handed_back.front());
        handed_back.pop_front();
      } else if (next < count) {
        *item = Item{next++, StepState()};
      } else if (running == 0) {
        return false;
      } else {
        cv.wait(lock);
        continue;
      }
      ++running;
      return true;
    }
  };
  auto pending = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return !handed_back.empty() || next < count;
  };
  auto worker = [&](int slot, std::unique_ptr<imap::Session> session, bool take_prewarmed) {
    if (take_prewarmed && more != nullptr) {
      session = more->Next();
      if (session) open.fetch_add(1);
    }
    auto admitted = [&] { return slot < ctx.pacer.allowed_connections(); };
    for (;;) {
      // Fewer connections allowed than this one's slot: it closes and waits for calm, or
      // for the work to run out.
      while (!admitted()) {
        if (session) {
          session.reset();
          open.fetch_sub(1);
        }
        if (!pending() || ctx.cancel.cancelled()) return;
        ctx.pacer.Sleep(absl::Seconds(1), cancelled);
      }
      Item item;
      if (!take(&item)) return;
      auto st = RunStep(ctx, &session, &item.state, &open, admitted,
                        [&](imap::Session& s) { return fn(s, item.index); });
      std::lock_guard<std::mutex> lock(mu);
      --running;
      if (st) {
        results[item.index] = *st;
      } else {
        handed_back.push_back(std::move(item));
      }
      cv.notify_all();
    }
  };
  connections = std::max<size_t>(1, std::min(connections, count));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < connections; ++t) {
    threads.emplace_back([&worker, t, log = logging::CurrentThreadLog()] {
      logging::ScopedThreadLog scope(log);  // the account's own log file, if any
      worker(static_cast<int>(t), nullptr, true);
    });
  }
  worker(0, std::move(first), false);
  for (auto& t : threads) t.join();
  return results;  // prewarmed sessions not needed close with `more`
}

std::vector<size_t> LargestFirst(const std::vector<uint64_t>& sizes) {
  std::vector<size_t> order(sizes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  return order;
}

absl::Status FirstError(const std::string& email, const std::vector<absl::Status>& statuses) {
  const absl::Status* first = nullptr;
  for (const absl::Status& s : statuses) {
    if (s.ok() || (first != nullptr && IsBudgetStop(s))) continue;
    if (first == nullptr || IsBudgetStop(*first)) first = &s;
    if (!IsBudgetStop(s)) break;
  }
  return first == nullptr ? absl::OkStatus() : status::Annotate(*first, "account " + email);
}

}  // namespace internal
}  // namespace engine
