// Wire round trips: what the coordinator sends a worker arrives whole (a field missing from
// the proto would silently reset a setting on every remote worker).
#include "proto/convert.h"

#include "gtest/gtest.h"

namespace {

TEST(ConvertTest, ServerConfigRoundTripKeepsEveryField) {
  config::ServerConfig in;
  in.host = "imap.example.com";
  in.port = 1993;
  in.ssl = false;
  in.starttls = true;
  in.ca_file = "/etc/ssl/ca.pem";
  in.tls_verify = false;
  in.max_connections_per_account = 7;
  in.compress = true;
  in.max_message_size = 36700160;
  in.throttle_max_wait = 120;
  in.throttle_budget = 900;
  in.max_line_length = 9900;
  in.io_timeout = 30;
  in.min_rate = 0;  // off, which is not the default
  in.messages_per_second = 2.5;
  migrator::v1::ServerConfig wire;
  fleetproto::ToProto(in, &wire);
  config::ServerConfig out = fleetproto::FromProto(wire);
  EXPECT_EQ(out.host, in.host);
  EXPECT_EQ(out.port, in.port);
  EXPECT_EQ(out.ssl, in.ssl);
  EXPECT_EQ(out.starttls, in.starttls);
  EXPECT_EQ(out.ca_file, in.ca_file);
  EXPECT_EQ(out.tls_verify, in.tls_verify);
  EXPECT_EQ(out.max_connections_per_account, in.max_connections_per_account);
  EXPECT_EQ(out.compress, in.compress);
  EXPECT_EQ(out.max_message_size, in.max_message_size);
  EXPECT_EQ(out.throttle_max_wait, in.throttle_max_wait);
  EXPECT_EQ(out.throttle_budget, in.throttle_budget);
  EXPECT_EQ(out.max_line_length, 9900);
  EXPECT_EQ(out.io_timeout, 30);
  EXPECT_EQ(out.min_rate, 0);
  in.min_rate = 4096;
  fleetproto::ToProto(in, &wire);
  EXPECT_EQ(fleetproto::FromProto(wire).min_rate, 4096);
  EXPECT_EQ(out.messages_per_second, 2.5);
  // An older coordinator sends no throttle, stall, budget or line-length fields: the defaults
  // apply.
  wire.clear_throttle_max_wait();
  wire.clear_throttle_budget();
  wire.clear_io_timeout();
  wire.clear_min_rate();
  wire.clear_max_line_length();
  out = fleetproto::FromProto(wire);
  EXPECT_EQ(out.max_line_length, 998);
  EXPECT_EQ(out.throttle_max_wait, config::ServerConfig().throttle_max_wait);
  EXPECT_EQ(out.throttle_budget, config::ServerConfig().throttle_budget);
  EXPECT_EQ(out.io_timeout, 120);
  EXPECT_EQ(out.min_rate, 1024);
}

// ---------------------------------------------------------------- the worker stream

TEST(ConvertTest, RegisterRoundTrip) {
  fleetproto::Registration in{"w7", "host-a", 4242, 3, "migrator-worker/1"};
  migrator::v1::WorkerMessage m = fleetproto::RegisterMessage(in);
  ASSERT_TRUE(m.has_register_());
  fleetproto::Registration out = fleetproto::FromProto(m.register_());
  EXPECT_EQ(out.worker_id, in.worker_id);
  EXPECT_EQ(out.host, in.host);
  EXPECT_EQ(out.pid, in.pid);
  EXPECT_EQ(out.max_parallel, in.max_parallel);
  EXPECT_EQ(out.version, in.version);
}

TEST(ConvertTest, RequestTaskIsAnEmptyRequest) {
  EXPECT_TRUE(fleetproto::RequestTaskMessage().has_request_task());
}

TEST(ConvertTest, HeartbeatRoundTripNamesEveryLease) {
  std::vector<fleetproto::Lease> leases = {{7, 3}, {9, 1}};
  migrator::v1::WorkerMessage m = fleetproto::HeartbeatMessage(12, leases);
  ASSERT_TRUE(m.has_heartbeat());
  EXPECT_EQ(m.heartbeat().seq(), 12u);
  EXPECT_EQ(fleetproto::LeasesFromProto(m.heartbeat()), leases);
}

TEST(ConvertTest, ProgressRoundTrip) {
  engine::Progress in;
  in.folder = "INBOX/Sub";
  in.folders_done = 1;
  in.folders_total = 4;
  in.messages_done = 10;
  in.messages_total = 99;
  in.bytes_done = 1234;
  in.bytes_total = 56789;
  in.throttled_ms = 1500;
  in.throttles = 2;
  in.reconnects = 3;
  migrator::v1::WorkerMessage m = fleetproto::ProgressMessage({7, 3}, in);
  ASSERT_TRUE(m.has_progress());
  EXPECT_EQ(m.progress().task_id(), 7u);
  EXPECT_EQ(m.progress().epoch(), 3u);
  engine::Progress out = fleetproto::FromProto(m.progress());
  EXPECT_EQ(out.folder, in.folder);
  EXPECT_EQ(out.folders_done, in.folders_done);
  EXPECT_EQ(out.folders_total, in.folders_total);
  EXPECT_EQ(out.messages_done, in.messages_done);
  EXPECT_EQ(out.messages_total, in.messages_total);
  EXPECT_EQ(out.bytes_done, in.bytes_done);
  EXPECT_EQ(out.bytes_total, in.bytes_total);
  EXPECT_EQ(out.throttled_ms, 1500u);
  EXPECT_EQ(out.throttles, 2u);
  EXPECT_EQ(out.reconnects, 3u);
}

TEST(ConvertTest, ResultRoundTrip) {
  engine::AccountResult in;
  in.status = absl::UnavailableError("server went away");
  engine::FolderResult f;
  f.name = "INBOX";
  f.source_messages = 5;
  f.target_messages = 4;
  f.transferred = 3;
  f.bytes = 300;
  f.missing = 1;
  f.extra = 2;
  f.error = "oops";
  f.refused = 1;
  f.refused_messages = {
      {77, 12, 40000000, "14-Nov-2023 22:16:20 +0000", "too big", "NO [TOOBIG] too big", {}}};
  f.keywords_dropped = {{77,
                         13,
                         900,
                         "14-Nov-2023 22:17:20 +0000",
                         "keywords dropped",
                         "NO Too many user flags in mailbox",
                         {"$Extra1", "$Extra2"}}};
  f.repaired = 1;
  f.repaired_messages = {{77, 13, 12000, 12024, "1 line(s) over 998 bytes folded"}};
  f.source_bytes = 5000;
  f.target = "Sent Items";
  f.create = true;
  f.to_move = 2;
  f.bytes_to_move = 2100;
  f.present = 3;
  in.folders = {f};
  in.refused = 1;
  in.repaired = 1;
  in.messages = 3;
  in.bytes = 300;
  in.skipped = 1;
  in.notes = {"login ok"};
  in.throttled_ms = 4200;
  in.throttles = 5;
  in.reconnects = 6;
  in.budget_used = 123456;
  in.parked_until = absl::FromUnixMillis(1'800'000'000'123);
  migrator::v1::WorkerMessage m = fleetproto::ResultMessage({7, 3}, in, absl::Milliseconds(1500));
  ASSERT_TRUE(m.has_result());
  EXPECT_EQ(m.result().task_id(), 7u);
  EXPECT_EQ(m.result().epoch(), 3u);
  EXPECT_EQ(m.result().elapsed_ms(), 1500u);
  engine::AccountResult out = fleetproto::FromProto(m.result());
  EXPECT_EQ(out.status, in.status);
  ASSERT_EQ(out.folders.size(), 1u);
  EXPECT_EQ(out.folders[0].name, f.name);
  EXPECT_EQ(out.folders[0].source_messages, f.source_messages);
  EXPECT_EQ(out.folders[0].target_messages, f.target_messages);
  EXPECT_EQ(out.folders[0].transferred, f.transferred);
  EXPECT_EQ(out.folders[0].bytes, f.bytes);
  EXPECT_EQ(out.folders[0].missing, f.missing);
  EXPECT_EQ(out.folders[0].extra, f.extra);
  EXPECT_EQ(out.folders[0].error, f.error);
  EXPECT_EQ(out.folders[0].refused, 1u);
  EXPECT_EQ(out.folders[0].source_bytes, 5000u);
  EXPECT_EQ(out.folders[0].target, "Sent Items");
  EXPECT_TRUE(out.folders[0].create);
  EXPECT_EQ(out.folders[0].to_move, 2u);
  EXPECT_EQ(out.folders[0].bytes_to_move, 2100u);
  EXPECT_EQ(out.folders[0].present, 3u);
  EXPECT_EQ(out.throttled_ms, 4200u);
  EXPECT_EQ(out.throttles, 5u);
  EXPECT_EQ(out.reconnects, 6u);
  ASSERT_EQ(out.folders[0].refused_messages.size(), 1u);
  const engine::RefusedMessage& r = out.folders[0].refused_messages[0];
  EXPECT_EQ(r.uidvalidity, 77u);
  EXPECT_EQ(r.uid, 12u);
  EXPECT_EQ(r.size, 40000000u);
  EXPECT_EQ(r.internaldate, "14-Nov-2023 22:16:20 +0000");
  EXPECT_EQ(r.kind, "too big");
  EXPECT_EQ(r.reason, "NO [TOOBIG] too big");
  EXPECT_TRUE(r.keywords.empty());
  ASSERT_EQ(out.folders[0].keywords_dropped.size(), 1u);
  const engine::RefusedMessage& k = out.folders[0].keywords_dropped[0];
  EXPECT_EQ(k.uid, 13u);
  EXPECT_EQ(k.kind, "keywords dropped");
  EXPECT_EQ(k.reason, "NO Too many user flags in mailbox");
  EXPECT_EQ(k.keywords, (std::vector<std::string>{"$Extra1", "$Extra2"}));
  EXPECT_EQ(out.refused, 1u);
  EXPECT_EQ(out.repaired, 1u);
  EXPECT_EQ(out.folders[0].repaired, 1u);
  ASSERT_EQ(out.folders[0].repaired_messages.size(), 1u);
  const engine::RepairedMessage& p = out.folders[0].repaired_messages[0];
  EXPECT_EQ(p.uidvalidity, 77u);
  EXPECT_EQ(p.uid, 13u);
  EXPECT_EQ(p.size, 12000u);
  EXPECT_EQ(p.repaired_size, 12024u);
  EXPECT_EQ(p.repairs, "1 line(s) over 998 bytes folded");
  EXPECT_EQ(out.messages, in.messages);
  EXPECT_EQ(out.bytes, in.bytes);
  EXPECT_EQ(out.skipped, in.skipped);
  EXPECT_EQ(out.notes, in.notes);
  EXPECT_EQ(out.budget_used, 123456u);
  EXPECT_EQ(out.parked_until, in.parked_until);
  // Not parked: InfinitePast both ways.
  in.parked_until = absl::InfinitePast();
  m = fleetproto::ResultMessage({7, 3}, in, absl::Milliseconds(1));
  EXPECT_EQ(m.result().parked_until_ms(), 0);
  EXPECT_EQ(fleetproto::FromProto(m.result()).parked_until, absl::InfinitePast());
}

TEST(ConvertTest, TaskRoundTripKeepsEveryField) {
  fleetproto::Assignment in;
  in.task_id = 7;
  in.epoch = 3;
  in.attempt = 2;
  in.task.mode = engine::Mode::kValidate;
  in.task.server.host = "imap.example.com";
  in.task.server.port = 1993;
  in.task.account.index = 4;
  in.task.account.email = "a@example.com";
  in.task.account.login = "a";
  in.task.account.password = "secret";
  in.task.account.auth = config::AuthKind::kPlain;
  in.task.account.oauth2_token_max_age = 600;
  in.task.resync_missing = true;
  in.task.min_free_gb = 2.5;
  in.task.strict = true;
  in.task.fix_messages = true;
  in.task.account.bytes_per_day = 5000;
  in.task.account.messages_per_second = 0.5;
  in.task.max_connections = 3;
  in.task.budget_bytes = 9000;
  in.task.budget_spent = 4000;
  in.task.budget_resume_at = absl::FromUnixMillis(1'800'000'000'000);
  in.task.dry_run = true;
  in.task.selection.just_folders = true;
  in.task.selection.skip_cross_duplicates = true;
  in.data_location = "s3://bucket/prefix";
  migrator::v1::Task wire;
  fleetproto::ToProto(in, &wire);
  fleetproto::Assignment out;
  ASSERT_TRUE(fleetproto::FromProto(wire, &out).ok());
  EXPECT_EQ(out.task_id, in.task_id);
  EXPECT_EQ(out.epoch, in.epoch);
  EXPECT_EQ(out.attempt, in.attempt);
  EXPECT_EQ(out.task.mode, in.task.mode);
  EXPECT_EQ(out.task.server.host, in.task.server.host);
  EXPECT_EQ(out.task.server.port, in.task.server.port);
  EXPECT_EQ(out.task.account.index, in.task.account.index);
  EXPECT_EQ(out.task.account.email, in.task.account.email);
  EXPECT_EQ(out.task.account.login, in.task.account.login);
  EXPECT_EQ(out.task.account.password, in.task.account.password);
  EXPECT_EQ(out.task.account.auth, in.task.account.auth);
  EXPECT_EQ(out.task.account.oauth2_token_max_age, 600);
  EXPECT_EQ(out.task.resync_missing, in.task.resync_missing);
  EXPECT_EQ(out.task.min_free_gb, in.task.min_free_gb);
  EXPECT_TRUE(out.task.strict);
  EXPECT_TRUE(out.task.fix_messages);
  EXPECT_EQ(out.task.account.bytes_per_day, 5000u);
  EXPECT_EQ(out.task.account.messages_per_second, 0.5);
  EXPECT_EQ(out.task.max_connections, 3);
  EXPECT_EQ(out.task.budget_bytes, 9000u);
  EXPECT_EQ(out.task.budget_spent, 4000u);
  EXPECT_EQ(out.task.budget_resume_at, in.task.budget_resume_at);
  EXPECT_TRUE(out.task.dry_run);
  EXPECT_TRUE(out.task.selection.just_folders);
  EXPECT_TRUE(out.task.selection.skip_cross_duplicates);
  EXPECT_FALSE(out.task.sizes);
  EXPECT_FALSE(out.task.map_to.has_value());  // no import config: no mapping
  EXPECT_EQ(out.data_location, in.data_location);

  wire.set_mode(migrator::v1::JOB_MODE_UNSPECIFIED);
  EXPECT_TRUE(absl::IsInvalidArgument(fleetproto::FromProto(wire, &out)));
  EXPECT_EQ(out.task_id, in.task_id);  // filled all the same
}

TEST(ConvertTest, TaskCarriesSizesAndServerBOfTheImportConfig) {
  fleetproto::Assignment in;
  in.task.mode = engine::Mode::kTest;
  in.task.sizes = true;
  in.task.map_to = engine::AccountTask::Target{};
  in.task.map_to->server.host = "imap-b.example.com";
  in.task.map_to->server.port = 993;
  in.task.map_to->account.email = "a@example.com";
  in.task.map_to->account.login = "a-on-b";
  in.task.map_to->account.password = "b-secret";
  migrator::v1::Task wire;
  fleetproto::ToProto(in, &wire);
  fleetproto::Assignment out;
  ASSERT_TRUE(fleetproto::FromProto(wire, &out).ok());
  EXPECT_TRUE(out.task.sizes);
  EXPECT_FALSE(out.task.dry_run);
  ASSERT_TRUE(out.task.map_to.has_value());
  EXPECT_EQ(out.task.map_to->server.host, "imap-b.example.com");
  EXPECT_EQ(out.task.map_to->server.port, 993);
  EXPECT_EQ(out.task.map_to->account.login, "a-on-b");
  EXPECT_EQ(out.task.map_to->account.password, "b-secret");
}

TEST(ConvertTest, WelcomeAndCancelRoundTrip) {
  fleetproto::SessionTerms terms{"job-1", absl::Milliseconds(6000), absl::Seconds(30)};
  migrator::v1::Welcome welcome;
  fleetproto::ToProto(terms, &welcome);
  fleetproto::SessionTerms back = fleetproto::FromProto(welcome);
  EXPECT_EQ(back.job_id, terms.job_id);
  EXPECT_EQ(back.heartbeat_interval, terms.heartbeat_interval);
  EXPECT_EQ(back.lease, terms.lease);

  fleetproto::CancelRequest cancel{7, 3, "stale"};
  migrator::v1::Cancel wire;
  fleetproto::ToProto(cancel, &wire);
  fleetproto::CancelRequest out = fleetproto::FromProto(wire);
  EXPECT_EQ(out.task_id, cancel.task_id);
  EXPECT_EQ(out.epoch, cancel.epoch);
  EXPECT_EQ(out.reason, cancel.reason);
}

}  // namespace
