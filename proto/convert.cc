#include "proto/convert.h"

namespace fleetproto {

int64_t UnixMillisOrZero(absl::Time t) {
  return t == absl::InfinitePast() || t == absl::InfiniteFuture() ? 0 : absl::ToUnixMillis(t);
}

absl::Time TimeOrPast(int64_t unix_ms) {
  return unix_ms == 0 ? absl::InfinitePast() : absl::FromUnixMillis(unix_ms);
}

pb::JobMode ToProto(engine::Mode mode) {
  switch (mode) {
    case engine::Mode::kExport:
      return pb::JOB_MODE_EXPORT;
    case engine::Mode::kImport:
      return pb::JOB_MODE_IMPORT;
    case engine::Mode::kValidate:
      return pb::JOB_MODE_VALIDATE;
    case engine::Mode::kTest:
      return pb::JOB_MODE_TEST;
  }
  return pb::JOB_MODE_UNSPECIFIED;
}

bool FromProto(pb::JobMode mode, engine::Mode* out) {
  switch (mode) {
    case pb::JOB_MODE_EXPORT:
      *out = engine::Mode::kExport;
      return true;
    case pb::JOB_MODE_IMPORT:
      *out = engine::Mode::kImport;
      return true;
    case pb::JOB_MODE_VALIDATE:
      *out = engine::Mode::kValidate;
      return true;
    case pb::JOB_MODE_TEST:
      *out = engine::Mode::kTest;
      return true;
    default:
      return false;
  }
}

void ToProto(const config::ServerConfig& in, pb::ServerConfig* out) {
  out->set_host(in.host);
  out->set_port(in.port);
  out->set_ssl(in.ssl);
  out->set_starttls(in.starttls);
  out->set_ca_file(in.ca_file);
  out->set_tls_verify(in.tls_verify);
  out->set_max_connections_per_account(in.max_connections_per_account);
  out->set_compress(in.compress);
  out->set_max_message_size(in.max_message_size);
  out->set_throttle_max_wait(in.throttle_max_wait);
  out->set_throttle_budget(in.throttle_budget);
  out->set_max_line_length(in.max_line_length);
  out->set_io_timeout(in.io_timeout);
  out->set_min_rate(in.min_rate == 0 ? -1 : in.min_rate);
  out->set_messages_per_second(in.messages_per_second);
}

config::ServerConfig FromProto(const pb::ServerConfig& in) {
  config::ServerConfig out;
  out.host = in.host();
  out.port = in.port();
  out.ssl = in.ssl();
  out.starttls = in.starttls();
  out.ca_file = in.ca_file();
  out.tls_verify = in.tls_verify();
  out.max_connections_per_account = in.max_connections_per_account();
  out.compress = in.compress();
  out.max_message_size = in.max_message_size();
  if (in.throttle_max_wait() > 0) out.throttle_max_wait = in.throttle_max_wait();
  if (in.throttle_budget() > 0) out.throttle_budget = in.throttle_budget();
  if (in.max_line_length() > 0) out.max_line_length = in.max_line_length();
  if (in.io_timeout() > 0) out.io_timeout = in.io_timeout();
  if (in.min_rate() != 0) out.min_rate = in.min_rate() < 0 ? 0 : in.min_rate();
  out.messages_per_second = in.messages_per_second();
  return out;
}

namespace {

config::AuthKind ParseAuth(const std::string& name) {
  for (config::AuthKind k :
       {config::AuthKind::kAuto, config::AuthKind::kLogin, config::AuthKind::kPlain,
        config::AuthKind::kXoauth2, config::AuthKind::kOauthBearer}) {
    if (name == config::AuthKindName(k)) return k;
  }
  return config::AuthKind::kAuto;
}

}  // namespace

void ToProto(const config::Account& in, pb::Account* out) {
  out->set_index(in.index);
  out->set_email(in.email);
  out->set_login(in.login);
  out->set_password(in.password);
  out->set_auth(config::AuthKindName(in.auth));
  out->set_authzid(in.authzid);
  out->set_oauth2_token(in.oauth2_token);
  out->set_oauth2_token_file(in.oauth2_token_file);
  out->set_oauth2_token_command(in.oauth2_token_command);
  out->set_max_connections(in.max_connections);
  out->set_oauth2_token_max_age(in.oauth2_token_max_age);
  out->set_bytes_per_day(in.bytes_per_day);
  out->set_messages_per_second(in.messages_per_second);
}

config::Account FromProto(const pb::Account& in) {
  config::Account out;
  out.index = in.index();
  out.email = in.email();
  out.login = in.login();
  out.password = in.password();
  out.auth = ParseAuth(in.auth());
  out.authzid = in.authzid();
  out.oauth2_token = in.oauth2_token();
  out.oauth2_token_file = in.oauth2_token_file();
  out.oauth2_token_command = in.oauth2_token_command();
  out.max_connections = in.max_connections();
  out.oauth2_token_max_age = in.oauth2_token_max_age();
  out.bytes_per_day = in.bytes_per_day();
  out.messages_per_second = in.messages_per_second();
  return out;
}

void ToProto(const engine::Progress& in, pb::Progress* out) {
  out->set_folder(in.folder);
  pb::Counters* c = out->mutable_counters();
  c->set_folders_done(in.folders_done);
  c->set_folders_total(in.folders_total);
  c->set_messages_done(in.messages_done);
  c->set_messages_total(in.messages_total);
  c->set_bytes_done(in.bytes_done);
  c->set_bytes_total(in.bytes_total);
  c->set_throttled_ms(in.throttled_ms);
  c->set_throttles(in.throttles);
  c->set_reconnects(in.reconnects);
  c->mutable_imap_errors()->insert(in.imap_errors.begin(), in.imap_errors.end());
}

engine::Progress FromProto(const pb::Progress& in) {
  engine::Progress out;
  out.folder = in.folder();
  out.folders_done = in.counters().folders_done();
  out.folders_total = in.counters().folders_total();
  out.messages_done = in.counters().messages_done();
  out.messages_total = in.counters().messages_total();
  out.bytes_done = in.counters().bytes_done();
  out.bytes_total = in.counters().bytes_total();
  out.throttled_ms = in.counters().throttled_ms();
  out.throttles = in.counters().throttles();
  out.reconnects = in.counters().reconnects();
  out.imap_errors.insert(in.counters().imap_errors().begin(), in.counters().imap_errors().end());
  return out;
}

void ToProto(const engine::RefusedMessage& in, pb::RefusedMessage* out) {
  out->set_uidvalidity(in.uidvalidity);
  out->set_uid(in.uid);
  out->set_size(in.size);
  out->set_internaldate(in.internaldate);
  out->set_kind(in.kind);
  out->set_reason(in.reason);
  for (const std::string& k : in.keywords) out->add_keywords(k);
}

engine::RefusedMessage FromProto(const pb::RefusedMessage& in) {
  engine::RefusedMessage out;
  out.uidvalidity = in.uidvalidity();
  out.uid = in.uid();
  out.size = in.size();
  out.internaldate = in.internaldate();
  out.kind = in.kind();
  out.reason = in.reason();
  out.keywords.assign(in.keywords().begin(), in.keywords().end());
  return out;
}

void ToProto(const engine::FolderResult& in, pb::FolderResult* out) {
  out->set_name(in.name);
  out->set_source_messages(in.source_messages);
  out->set_target_messages(in.target_messages);
  out->set_transferred(in.transferred);
  out->set_bytes(in.bytes);
  out->set_missing(in.missing);
  out->set_extra(in.extra);
  out->set_error(in.error);
  out->set_refused(in.refused);
  out->set_target(in.target);
  out->set_mapping(in.mapping);
  out->set_source_bytes(in.source_bytes);
  out->set_create(in.create);
  out->set_to_move(in.to_move);
  out->set_bytes_to_move(in.bytes_to_move);
  out->set_present(in.present);
  for (const engine::RefusedMessage& m : in.refused_messages) {
    ToProto(m, out->add_refused_messages());
  }
  for (const engine::RefusedMessage& m : in.keywords_dropped) {
    ToProto(m, out->add_keywords_dropped());
  }
  out->set_repaired(in.repaired);
  for (const engine::RepairedMessage& m : in.repaired_messages) {
    pb::RepairedMessage* r = out->add_repaired_messages();
    r->set_uidvalidity(m.uidvalidity);
    r->set_uid(m.uid);
    r->set_size(m.size);
    r->set_repaired_size(m.repaired_size);
    r->set_repairs(m.repairs);
  }
}

engine::FolderResult FromProto(const pb::FolderResult& in) {
  engine::FolderResult out;
  out.name = in.name();
  out.source_messages = in.source_messages();
  out.target_messages = in.target_messages();
  out.transferred = in.transferred();
  out.bytes = in.bytes();
  out.missing = in.missing();
  out.extra = in.extra();
  out.error = in.error();
  out.refused = in.refused();
  out.target = in.target();
  out.mapping = in.mapping();
  out.source_bytes = in.source_bytes();
  out.create = in.create();
  out.to_move = in.to_move();
  out.bytes_to_move = in.bytes_to_move();
  out.present = in.present();
  for (const pb::RefusedMessage& m : in.refused_messages()) {
    out.refused_messages.push_back(FromProto(m));
  }
  for (const pb::RefusedMessage& m : in.keywords_dropped()) {
    out.keywords_dropped.push_back(FromProto(m));
  }
  out.repaired = in.repaired();
  for (const pb::RepairedMessage& m : in.repaired_messages()) {
    out.repaired_messages.push_back(engine::RepairedMessage{m.uidvalidity(), m.uid(), m.size(),
                                                            m.repaired_size(), m.repairs()});
  }
  return out;
}

void ToProto(const engine::AccountResult& in, pb::TaskResult* out) {
  out->set_status_code(static_cast<int32_t>(in.status.code()));
  out->set_status_message(std::string(in.status.message()));
  for (const engine::FolderResult& f : in.folders) ToProto(f, out->add_folders());
  pb::Counters* c = out->mutable_counters();
  c->set_folders_done(in.folders.size());
  c->set_folders_total(in.folders.size());
  c->set_messages_done(in.messages);
  c->set_bytes_done(in.bytes);
  c->set_skipped(in.skipped);
  c->set_refused(in.refused);
  c->set_repaired(in.repaired);
  c->set_throttled_ms(in.throttled_ms);
  c->set_throttles(in.throttles);
  c->set_reconnects(in.reconnects);
  c->mutable_imap_errors()->insert(in.imap_errors.begin(), in.imap_errors.end());
  for (const std::string& n : in.notes) out->add_notes(n);
  out->set_budget_used(in.budget_used);
  out->set_parked_until_ms(UnixMillisOrZero(in.parked_until));
}

engine::AccountResult FromProto(const pb::TaskResult& in) {
  engine::AccountResult out;
  out.status = StatusFromProto(in.status_code(), in.status_message());
  for (const pb::FolderResult& f : in.folders()) out.folders.push_back(FromProto(f));
  out.messages = in.counters().messages_done();
  out.bytes = in.counters().bytes_done();
  out.skipped = in.counters().skipped();
  out.refused = in.counters().refused();
  out.repaired = in.counters().repaired();
  out.throttled_ms = in.counters().throttled_ms();
  out.throttles = in.counters().throttles();
  out.reconnects = in.counters().reconnects();
  out.imap_errors.insert(in.counters().imap_errors().begin(), in.counters().imap_errors().end());
  for (const std::string& n : in.notes()) out.notes.push_back(n);
  out.budget_used = in.budget_used();
  out.parked_until = TimeOrPast(in.parked_until_ms());
  return out;
}

absl::Status StatusFromProto(int32_t code, const std::string& message) {
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > 16) return absl::UnknownError(message);
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

// ---------------------------------------------------------------- the worker stream

pb::WorkerMessage RegisterMessage(const Registration& in) {
  pb::WorkerMessage m;
  pb::Register* r = m.mutable_register_();
  r->set_worker_id(in.worker_id);
  r->set_host(in.host);
  r->set_pid(in.pid);
  r->set_max_parallel(in.max_parallel);
  r->set_version(in.version);
  return m;
}

Registration FromProto(const pb::Register& in) {
  return Registration{in.worker_id(), in.host(), in.pid(), in.max_parallel(), in.version()};
}

pb::WorkerMessage RequestTaskMessage() {
  pb::WorkerMessage m;
  m.mutable_request_task();
  return m;
}

pb::WorkerMessage HeartbeatMessage(uint64_t seq, const std::vector<Lease>& leases) {
  pb::WorkerMessage m;
  pb::Heartbeat* hb = m.mutable_heartbeat();
  hb->set_seq(seq);
  for (const auto& [task_id, epoch] : leases) {
    pb::TaskLease* l = hb->add_leases();
    l->set_task_id(task_id);
    l->set_epoch(epoch);
  }
  return m;
}

std::vector<Lease> LeasesFromProto(const pb::Heartbeat& in) {
  std::vector<Lease> out;
  for (const pb::TaskLease& l : in.leases()) out.emplace_back(l.task_id(), l.epoch());
  return out;
}

pb::WorkerMessage ProgressMessage(const Lease& task, const engine::Progress& progress) {
  pb::WorkerMessage m;
  pb::Progress* p = m.mutable_progress();
  ToProto(progress, p);
  p->set_task_id(task.first);
  p->set_epoch(task.second);
  return m;
}

pb::WorkerMessage ResultMessage(const Lease& task, const engine::AccountResult& result,
                                absl::Duration elapsed) {
  pb::WorkerMessage m;
  pb::TaskResult* r = m.mutable_result();
  ToProto(result, r);
  r->set_task_id(task.first);
  r->set_epoch(task.second);
  r->set_elapsed_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(elapsed)));
  return m;
}

void ToProto(const Assignment& in, pb::Task* out) {
  out->set_task_id(in.task_id);
  out->set_epoch(in.epoch);
  out->set_attempt(in.attempt);
  out->set_mode(ToProto(in.task.mode));
  ToProto(in.task.server, out->mutable_server());
  ToProto(in.task.account, out->mutable_account());
  out->set_data_location(in.data_location);
  out->set_resync_missing(in.task.resync_missing);
  out->set_min_free_gb(in.task.min_free_gb);
  out->set_strict(in.task.strict);
  out->set_fix_messages(in.task.fix_messages);
  out->set_store_concurrency(in.task.store_concurrency);
  out->set_max_connections(in.task.max_connections);
  out->set_budget_bytes(in.task.budget_bytes);
  out->set_budget_spent(in.task.budget_spent);
  out->set_budget_resume_at_ms(UnixMillisOrZero(in.task.budget_resume_at));
  out->set_dry_run(in.task.dry_run);
  out->set_sizes(in.task.sizes);
  if (in.task.map_to) {
    ToProto(in.task.map_to->server, out->mutable_map_server());
    ToProto(in.task.map_to->account, out->mutable_map_account());
  }
  const config::Selection& s = in.task.selection;
  pb::Selection* ps = out->mutable_selection();
  ps->set_include_folders(s.include_folders);
  ps->set_exclude_folders(s.exclude_folders);
  for (const std::string& use : s.skip_special_use) ps->add_skip_special_use(use);
  ps->set_just_folders(s.just_folders);
  ps->set_skip_cross_duplicates(s.skip_cross_duplicates);
  ps->set_since(s.since);
  ps->set_before(s.before);
  ps->set_min_size(s.min_size);
  ps->set_max_size(s.max_size);
  const config::FolderMap& m = in.task.folder_map;
  pb::FolderMap* pm = out->mutable_folder_map();
  for (const config::FolderRule& r : m.rules) {
    pb::FolderMap::Rule* pr = pm->add_rules();
    pr->set_from(r.from);
    pr->set_regex(r.regex);
    pr->set_to(r.to);
    pr->set_merge(r.merge);
  }
  pm->set_automap(m.automap);
  pm->set_target(m.target);
}

absl::Status FromProto(const pb::Task& in, Assignment* out) {
  out->task_id = in.task_id();
  out->epoch = in.epoch();
  out->attempt = in.attempt();
  bool mode_ok = FromProto(in.mode(), &out->task.mode);
  out->task.server = FromProto(in.server());
  out->task.account = FromProto(in.account());
  out->task.resync_missing = in.resync_missing();
  out->task.min_free_gb = in.min_free_gb();
  out->task.strict = in.strict();
  out->task.fix_messages = in.fix_messages();
  out->task.store_concurrency = in.store_concurrency();
  out->task.max_connections = in.max_connections();
  out->task.budget_bytes = in.budget_bytes();
  out->task.budget_spent = in.budget_spent();
  out->task.budget_resume_at = TimeOrPast(in.budget_resume_at_ms());
  out->task.dry_run = in.dry_run();
  out->task.sizes = in.sizes();
  if (in.has_map_server()) {
    out->task.map_to =
        engine::AccountTask::Target{FromProto(in.map_server()), FromProto(in.map_account())};
  }
  const pb::Selection& ps = in.selection();
  config::Selection& s = out->task.selection;
  s.include_folders = ps.include_folders();
  s.exclude_folders = ps.exclude_folders();
  s.skip_special_use.assign(ps.skip_special_use().begin(), ps.skip_special_use().end());
  s.just_folders = ps.just_folders();
  s.skip_cross_duplicates = ps.skip_cross_duplicates();
  s.since = ps.since();
  s.before = ps.before();
  s.min_size = ps.min_size();
  s.max_size = ps.max_size();
  config::FolderMap& m = out->task.folder_map;
  m.rules.clear();
  for (const pb::FolderMap::Rule& r : in.folder_map().rules()) {
    m.rules.push_back({r.from(), r.regex(), r.to(), r.merge()});
  }
  m.automap = in.has_folder_map() ? in.folder_map().automap() : true;
  m.target = in.folder_map().target().empty() ? "imap" : in.folder_map().target();
  out->data_location = in.data_location();
  if (std::vector<std::string> bad = config::FolderMapProblems(m); !bad.empty()) {
    return absl::InvalidArgumentError("task with an invalid folder_map: " + bad[0]);
  }
  if (!mode_ok) return absl::InvalidArgumentError("task without a valid mode");
  std::vector<std::string> problems = config::SelectionProblems(s);
  if (!problems.empty()) {
    return absl::InvalidArgumentError("task with an invalid selection: " + problems[0]);
  }
  return absl::OkStatus();
}

void ToProto(const SessionTerms& in, pb::Welcome* out) {
  out->set_job_id(in.job_id);
  out->set_heartbeat_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(in.heartbeat_interval)));
  out->set_lease_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(in.lease)));
}

SessionTerms FromProto(const pb::Welcome& in) {
  return SessionTerms{in.job_id(), absl::Milliseconds(in.heartbeat_interval_ms()),
                      absl::Milliseconds(in.lease_ms())};
}

void ToProto(const CancelRequest& in, pb::Cancel* out) {
  out->set_task_id(in.task_id);
  out->set_epoch(in.epoch);
  out->set_reason(in.reason);
}

CancelRequest FromProto(const pb::Cancel& in) {
  return CancelRequest{in.task_id(), in.epoch(), in.reason()};
}

}  // namespace fleetproto
