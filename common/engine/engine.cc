#include "common/engine/engine.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/engine/connect.h"
#include "common/engine/engine_internal.h"
#include "common/status/status_macros.h"

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
  std::unique_ptr<SecretSource> secrets = SecretSource::ForAccount(task.account);
  // Read once up front: a missing secret fails the account before any connection.
  if (auto secret = secrets->Get(); !secret.ok()) {
    AccountResult r;
    r.status = status::Annotate(secret.status(), absl::StrCat("account ", task.account.email));
    return r;
  }
  internal::Context ctx{task, store, cancel, *secrets, internal::ProgressTracker(progress)};
  switch (task.mode) {
    case Mode::kExport:
      return internal::RunExport(ctx);
    case Mode::kImport:
      return internal::RunImport(ctx);
    case Mode::kValidate:
      return internal::RunValidate(ctx);
    case Mode::kTest:
      return internal::RunTest(ctx);
  }
  AccountResult r;
  r.status = absl::InvalidArgumentError("unknown mode");
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

void ProgressTracker::FolderDone(const std::string& folder) {
  std::lock_guard<std::mutex> lock(mu_);
  p_.folder = folder;
  p_.folders_done += 1;
  Emit();
}

absl::StatusOr<std::unique_ptr<imap::Session>> Context::Connect() const {
  auto s = ConnectAccount(task.server, task.account, secrets);
  if (!s.ok()) return status::Annotate(s.status(), absl::StrCat("account ", email()));
  return s;
}

size_t Context::Connections(size_t items) const {
  int cap = task.max_connections > 0           ? task.max_connections
            : task.account.max_connections > 0 ? task.account.max_connections
                                               : task.server.max_connections_per_account;
  return std::max<size_t>(1, std::min<size_t>(items, std::max(1, cap)));
}

absl::StatusOr<std::unique_ptr<imap::Session>> Context::Open() const {
  auto s = OpenServer(task.server);
  if (!s.ok()) return status::Annotate(s.status(), absl::StrCat("account ", email()));
  return s;
}

absl::Status Context::Login(imap::Session& session) const {
  return status::Annotate(LoginAccount(session, task.account, secrets),
                          absl::StrCat("account ", email()));
}

Prewarm::Prewarm(Context& ctx, size_t n) : connecting_(n) {
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this, &ctx] { Run(ctx); });
}

void Prewarm::Run(Context& ctx) {
  auto s = ctx.Open();
  bool login;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return released_; });
    login = login_;
  }
  if (s.ok() && !(login && ctx.Login(**s).ok())) s = absl::CancelledError("not used");
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) ready_.push_back(std::move(*s));
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

std::vector<absl::Status> ForEachItem(
    Context& ctx, std::unique_ptr<imap::Session> first, Prewarm* more, size_t count,
    size_t connections, const std::function<absl::Status(imap::Session&, size_t)>& fn) {
  std::vector<absl::Status> results(count);
  std::mutex mu;
  size_t next = 0;
  auto worker = [&](std::unique_ptr<imap::Session> session, bool take_prewarmed) {
    if (take_prewarmed && more != nullptr) session = more->Next();
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= count) return;
        i = next++;
      }
      absl::Status st;
      for (int attempt = 0; attempt < 4; ++attempt) {
        if (ctx.cancel.cancelled()) {
          st = absl::CancelledError("cancelled");
          break;
        }
        if (!session || session->closed()) {
          auto s = ctx.Connect();
          if (!s.ok()) {
            st = s.status();
            if (status::IsRetriable(st)) continue;
            break;
          }
          session = std::move(*s);
        }
        st = fn(*session, i);
        if (!status::IsRetriable(st)) break;
        session.reset();  // a broken connection: the next attempt reconnects
      }
      results[i] = st;
    }
  };
  connections = std::max<size_t>(1, std::min(connections, count));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < connections; ++t) threads.emplace_back(worker, nullptr, true);
  worker(std::move(first), false);
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
  for (const absl::Status& s : statuses) {
    if (!s.ok()) return status::Annotate(s, absl::StrCat("account ", email));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace engine
