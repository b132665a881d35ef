#include "coordinator/durable/state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/sha256.h"
#include "common/log/log.h"

namespace coordinator {
namespace {

constexpr char kFormat[] = "1";

// How often the WalSyncer syncs what was committed.
constexpr absl::Duration kSyncInterval = absl::Milliseconds(100);

constexpr char kUpdateAccount[] =
    "UPDATE accounts SET state=?, attempts=?, last_error=?, worker=?, "
    "epoch=?, size=?, messages=?, bytes=?, skipped=?, updated=?, "
    "throttled_ms=?, throttles=?, reconnects=? WHERE idx=?";
constexpr char kUpsertBudget[] =
    "INSERT INTO budgets(scope, email, window_start_ms, spent, parked_until_ms, updated) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(scope, email) DO UPDATE SET "
    "window_start_ms=excluded.window_start_ms, spent=excluded.spent, "
    "parked_until_ms=excluded.parked_until_ms, updated=excluded.updated";

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS job(key TEXT PRIMARY KEY, value TEXT NOT "
    "NULL);"
    "CREATE TABLE IF NOT EXISTS accounts(idx INTEGER PRIMARY KEY, email TEXT "
    "NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "last_error TEXT NOT NULL DEFAULT '', worker TEXT NOT NULL DEFAULT '', "
    "epoch INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0, "
    "messages INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, "
    "skipped INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL DEFAULT '', "
    "throttled_ms INTEGER NOT NULL DEFAULT 0, throttles INTEGER NOT NULL DEFAULT 0, "
    "reconnects INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS budgets(scope TEXT NOT NULL, email TEXT NOT NULL, "
    "window_start_ms INTEGER NOT NULL DEFAULT 0, spent INTEGER NOT NULL DEFAULT 0, "
    "parked_until_ms INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL DEFAULT '', "
    "PRIMARY KEY(scope, email));";

// Columns added after the first format: added to a state written before them (their
// default 0: nothing throttled then).
constexpr const char* kAddedColumns[] = {"throttled_ms", "throttles", "reconnects"};

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // For the next use of a kept statement.
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  sqlite3_stmt* get() const { return s_; }
  bool ok() const { return s_ != nullptr; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, uint64_t v) { sqlite3_bind_int64(s_, i, static_cast<sqlite3_int64>(v)); }
  std::string Col(int i) const {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  uint64_t ColInt(int i) const { return static_cast<uint64_t>(sqlite3_column_int64(s_, i)); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string AuthName(config::AuthKind k) {
  switch (k) {
    case config::AuthKind::kAuto:
      return "auto";
    case config::AuthKind::kLogin:
      return "login";
    case config::AuthKind::kPlain:
      return "plain";
    case config::AuthKind::kXoauth2:
      return "xoauth2";
    case config::AuthKind::kOauthBearer:
      return "oauthbearer";
  }
  return "?";
}

// Times in the budgets table: Unix ms, 0 for none.
int64_t Ms(absl::Time t) {
  return t == absl::InfinitePast() || t == absl::InfiniteFuture() ? 0 : absl::ToUnixMillis(t);
}
absl::Time FromMs(int64_t ms) { return ms == 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms); }

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::Now(), absl::LocalTimeZone());
}

}  // namespace

// Record's statements, prepared once the schema is there.
struct StateStore::Statements {
  explicit Statements(sqlite3* db) : update(db, kUpdateAccount), budget(db, kUpsertBudget) {}
  Stmt update, budget;
};

StateStore::StateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

TaskState ParseStoredState(const std::string& name) {
  if (name == "ok") return TaskState::kSucceeded;  // written before the rename
  for (TaskState s : {TaskState::kSucceeded, TaskState::kFailed, TaskState::kCancelled}) {
    if (name == TaskStateName(s)) return s;
  }
  return TaskState::kPending;
}

std::string JobIdentity::Describe() const {
  return absl::StrCat(mode, " of config ", hash.substr(0, 12), " with data ", data_location);
}

JobIdentity MakeJobIdentity(engine::Mode mode, const config::Config& c,
                            const std::string& data_location) {
  // Length-prefixed fields, so no two lists share an encoding. No secrets.
  std::string text;
  auto add = [&text](const std::string& v) { absl::StrAppend(&text, v.size(), ":", v, ";"); };
  add(c.server.host);
  add(std::to_string(c.server.port));
  add(c.server.ssl ? "ssl" : "");
  add(c.server.starttls ? "starttls" : "");
  for (const config::Account& a : c.accounts) {
    add(a.email);
    add(a.login.empty() ? a.email : a.login);
    add(AuthName(a.auth));
    add(a.authzid);
  }
  return JobIdentity{engine::ModeName(mode), data_location, crypto::Sha256Hex(text),
                     absl::StrCat(engine::ModeName(mode), " ", c.server.host, ":", c.server.port)};
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path,
                                                             const JobIdentity& identity,
                                                             const std::vector<std::string>& emails,
                                                             bool fresh) {
  // Create it private before SQLite does (SQLite honours the umask only).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the job state ", path, ": ", std::strerror(errno)));
  }
  ::close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open the job state ", path, ": ", why));
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<StateStore> store(new StateStore(db, path));
  store->budget_scope_ = identity.budget_scope;
  absl::Status st = store->Init(identity, emails, fresh);
  if (!st.ok()) return st;
  return store;
}

StateStore::~StateStore() {
  syncer_.reset();  // its last checkpoint first
  statements_.reset();
  sqlite3_close(db_);
}

absl::Status StateStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return absl::OkStatus();
  std::string why = err ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return absl::UnavailableError(absl::StrCat("job state ", path_, ": ", why));
}

absl::Status StateStore::Init(const JobIdentity& identity, const std::vector<std::string>& emails,
                              bool fresh) {
  absl::Status st = Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (!st.ok()) {
    return absl::UnavailableError(absl::StrCat(st.message(),
                                               " (is it a SQLite file? --fresh does not overwrite "
                                               "other files: give another --state)"));
  }
  st = Exec(kSchema);
  if (!st.ok()) return st;
  st = AddMissingColumns();
  if (!st.ok()) return st;
  bool empty = true;
  if (!fresh) {
    st = CheckIdentity(identity, &empty);
    if (!st.ok()) return st;
  }
  if (fresh || empty) {
    st = Create(identity, emails);
  } else {
    resumed_ = true;
    st = Load();
  }
  if (st.ok()) st = LoadBudgets();
  if (st.ok()) st = Exec("PRAGMA synchronous=NORMAL;");
  if (!st.ok()) return st;
  statements_ = std::make_unique<Statements>(db_);
  syncer_ = WalSyncer::Start(path_, kSyncInterval);
  // The syncer checkpoints (and syncs); the writer never waits for a checkpoint.
  if (syncer_ != nullptr) return Exec("PRAGMA wal_autocheckpoint=0;");
  return absl::OkStatus();
}

absl::Status StateStore::AddMissingColumns() {
  std::set<std::string> have;
  {
    Stmt q(db_, "PRAGMA table_info(accounts)");
    if (!q.ok()) return Exec("PRAGMA table_info(accounts)");
    while (sqlite3_step(q.get()) == SQLITE_ROW) have.insert(q.Col(1));
  }
  for (const char* column : kAddedColumns) {
    if (have.count(column)) continue;
    absl::Status st = Exec(
        absl::StrCat("ALTER TABLE accounts ADD COLUMN ", column, " INTEGER NOT NULL DEFAULT 0;"));
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status StateStore::CheckIdentity(const JobIdentity& id, bool* empty) {
  Stmt q(db_, "SELECT key, value FROM job");
  if (!q.ok()) return Exec("SELECT 1 FROM job");
  std::string mode, data, hash, format;
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    std::string k = q.Col(0);
    if (k == "mode") mode = q.Col(1);
    if (k == "data_location") data = q.Col(1);
    if (k == "hash") hash = q.Col(1);
    if (k == "format") format = q.Col(1);
  }
  *empty = hash.empty();
  if (*empty) return absl::OkStatus();
  JobIdentity stored{mode, data, hash, ""};
  if (format == kFormat && mode == id.mode && data == id.data_location && hash == id.hash) {
    return absl::OkStatus();
  }
  return absl::AlreadyExistsError(
      absl::StrCat("the job state ", path_, " belongs to another job (", stored.Describe(),
                   "); this run is ", id.Describe(),
                   ". Give another --state, or --fresh to discard that state and start "
                   "this job over"));
}

absl::Status StateStore::Create(const JobIdentity& id, const std::vector<std::string>& emails) {
  absl::Status st = Exec("BEGIN; DELETE FROM job; DELETE FROM accounts;");
  if (!st.ok()) return st;
  Stmt kv(db_, "INSERT INTO job(key, value) VALUES (?, ?)");
  Stmt row(db_,
           "INSERT INTO accounts(idx, email, state, updated) VALUES "
           "(?, ?, 'pending', ?)");
  auto fail = [this]() {
    absl::Status why =
        absl::UnavailableError(absl::StrCat("job state ", path_, ": ", sqlite3_errmsg(db_)));
    Exec("ROLLBACK").IgnoreError();
    return why;
  };
  if (!kv.ok() || !row.ok()) return fail();
  std::pair<const char*, std::string> keys[] = {{"format", kFormat},
                                                {"mode", id.mode},
                                                {"data_location", id.data_location},
                                                {"hash", id.hash},
                                                {"created", Now()}};
  for (const auto& [k, v] : keys) {
    kv.Text(1, k);
    kv.Text(2, v);
    if (sqlite3_step(kv.get()) != SQLITE_DONE) return fail();
    sqlite3_reset(kv.get());
  }
  for (size_t i = 0; i < emails.size(); ++i) {
    row.Int(1, i);
    row.Text(2, emails[i]);
    row.Text(3, Now());
    if (sqlite3_step(row.get()) != SQLITE_DONE) return fail();
    sqlite3_reset(row.get());
    StoredAccount a;
    a.index = static_cast<int>(i);
    a.email = emails[i];
    accounts_.push_back(a);
  }
  return Exec("COMMIT");
}

absl::Status StateStore::Load() {
  Stmt q(db_,
         "SELECT idx, email, state, attempts, last_error, worker, epoch, size, "
         "messages, bytes, skipped, throttled_ms, throttles, reconnects FROM accounts "
         "ORDER BY idx");
  if (!q.ok()) return Exec("SELECT 1 FROM accounts");
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    StoredAccount a;
    a.index = static_cast<int>(q.ColInt(0));
    a.email = q.Col(1);
    a.state = ParseStoredState(q.Col(2));
    a.attempts = static_cast<uint32_t>(q.ColInt(3));
    a.last_error = q.Col(4);
    a.worker_id = q.Col(5);
    a.epoch = q.ColInt(6);
    a.size = q.ColInt(7);
    a.totals = AccountTotals{q.ColInt(8), q.ColInt(9), q.ColInt(10),
                             ThrottleTotals{q.ColInt(11), q.ColInt(12), q.ColInt(13)}};
    accounts_.push_back(a);
  }
  return absl::OkStatus();
}

absl::Status StateStore::LoadBudgets() {
  Stmt q(db_, "SELECT email, window_start_ms, spent, parked_until_ms FROM budgets WHERE scope = ?");
  if (!q.ok()) return Exec("SELECT 1 FROM budgets");
  q.Text(1, budget_scope_);
  std::map<std::string, StoredAccount*> by_email;
  for (StoredAccount& a : accounts_) by_email[a.email] = &a;
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    auto it = by_email.find(q.Col(0));
    if (it == by_email.end()) continue;
    it->second->window_start = FromMs(static_cast<int64_t>(q.ColInt(1)));
    it->second->budget_spent = q.ColInt(2);
    it->second->parked_until = FromMs(static_cast<int64_t>(q.ColInt(3)));
  }
  return absl::OkStatus();
}

void StateStore::RecordBudget(const TaskInfo& t) {
  if (t.budget_bytes == 0 ||
      (t.window_start == absl::InfinitePast() && t.parked_until == absl::InfinitePast())) {
    return;
  }
  Stmt& u = statements_->budget;
  u.Reset();
  bool ok = u.ok();
  if (ok) {
    u.Text(1, budget_scope_);
    u.Text(2, t.email);
    u.Int(3, static_cast<uint64_t>(Ms(t.window_start)));
    u.Int(4, t.budget_spent);
    u.Int(5, static_cast<uint64_t>(Ms(t.parked_until)));
    u.Text(6, Now());
    ok = sqlite3_step(u.get()) == SQLITE_DONE;
  }
  if (!ok && !write_failed_) {
    write_failed_ = true;
    LOG(ERROR) << "cannot write the job state " << path_ << ": " << sqlite3_errmsg(db_)
               << " (the job goes on; a restart may not know what a budget spent)";
  }
}

uint64_t StateStore::max_epoch() const {
  uint64_t m = 0;
  for (const StoredAccount& a : accounts_) m = std::max(m, a.epoch);
  return m;
}

size_t StateStore::CountState(TaskState state) const {
  return std::count_if(accounts_.begin(), accounts_.end(),
                       [state](const StoredAccount& a) { return a.state == state; });
}

void StateStore::Record(const TaskInfo& t, const AccountTotals& totals, bool terminal) {
  if (t.account_index < 0 || static_cast<size_t>(t.account_index) >= accounts_.size()) return;
  uint32_t before = accounts_[t.account_index].attempts;
  const bool sync_now = terminal && syncer_ == nullptr;
  if (sync_now) Exec("PRAGMA synchronous=FULL;").IgnoreError();
  Stmt& u = statements_->update;
  u.Reset();
  bool ok = u.ok();
  if (ok) {
    u.Text(1, TaskStateName(t.state));
    u.Int(2, before + t.attempts);
    u.Text(3, t.last_error);
    u.Text(4, t.worker_id);
    u.Int(5, t.epoch);
    u.Int(6, t.size);
    u.Int(7, totals.messages);
    u.Int(8, totals.bytes);
    u.Int(9, totals.skipped);
    u.Text(10, Now());
    u.Int(11, totals.throttling.throttled_ms);
    u.Int(12, totals.throttling.throttles);
    u.Int(13, totals.throttling.reconnects);
    u.Int(14, t.account_index);
    ok = sqlite3_step(u.get()) == SQLITE_DONE;
  }
  if (ok) RecordBudget(t);
  if (sync_now) Exec("PRAGMA synchronous=NORMAL;").IgnoreError();
  if (syncer_ != nullptr) syncer_->Written();
  if (!ok && !write_failed_) {
    write_failed_ = true;
    LOG(ERROR) << "cannot write the job state " << path_ << ": " << sqlite3_errmsg(db_)
               << " (the job goes on; a resume may redo some accounts)";
  }
}

}  // namespace coordinator
