// Conversions between the wire types (migrator.v1, protobuf only: no gRPC here)
// and the domain types of config/ and engine/. Used by the coordinator's and
// the worker's gRPC adapters. Stateless, thread-compatible.
#ifndef MIGRATOR_PROTO_CONVERT_H_
#define MIGRATOR_PROTO_CONVERT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/engine/engine.h"
#include "migrator/v1/migrator.pb.h"
#include "proto/assignment.h"

namespace fleetproto {

namespace pb = ::migrator::v1;

pb::JobMode ToProto(engine::Mode mode);
// False for JOB_MODE_UNSPECIFIED or an unknown value.
bool FromProto(pb::JobMode mode, engine::Mode* out);

void ToProto(const config::ServerConfig& in, pb::ServerConfig* out);
config::ServerConfig FromProto(const pb::ServerConfig& in);

// Carries the secrets: only for Task messages.
void ToProto(const config::Account& in, pb::Account* out);
config::Account FromProto(const pb::Account& in);

void ToProto(const engine::Progress& in, pb::Progress* out);
engine::Progress FromProto(const pb::Progress& in);

// Result → wire (status code + message, folders, counters, notes).
void ToProto(const engine::AccountResult& in, pb::TaskResult* out);
engine::AccountResult FromProto(const pb::TaskResult& in);

void ToProto(const engine::RefusedMessage& in, pb::RefusedMessage* out);
engine::RefusedMessage FromProto(const pb::RefusedMessage& in);
void ToProto(const engine::FolderResult& in, pb::FolderResult* out);
engine::FolderResult FromProto(const pb::FolderResult& in);

absl::Status StatusFromProto(int32_t code, const std::string& message);

// Times on the wire: Unix milliseconds, 0 for none (InfinitePast / InfiniteFuture).
int64_t UnixMillisOrZero(absl::Time t);
absl::Time TimeOrPast(int64_t unix_ms);

// ---------------------------------------------------------------- the worker stream
// Worker → coordinator: whole WorkerMessages, and how they read back.
pb::WorkerMessage RegisterMessage(const Registration& in);
pb::WorkerMessage RequestTaskMessage();
// Heartbeat `seq`, naming every task the worker runs with its epoch.
pb::WorkerMessage HeartbeatMessage(uint64_t seq, const std::vector<Lease>& leases);
pb::WorkerMessage ProgressMessage(const Lease& task, const engine::Progress& progress);
pb::WorkerMessage ResultMessage(const Lease& task, const engine::AccountResult& result,
                                absl::Duration elapsed);
Registration FromProto(const pb::Register& in);
std::vector<Lease> LeasesFromProto(const pb::Heartbeat& in);

// Coordinator → worker.
void ToProto(const Assignment& in, pb::Task* out);  // lease_ms is the caller's
// InvalidArgument when the Task has no valid mode (`*out` is filled all the
// same).
absl::Status FromProto(const pb::Task& in, Assignment* out);
void ToProto(const SessionTerms& in, pb::Welcome* out);  // mode, worker_id: caller's
SessionTerms FromProto(const pb::Welcome& in);
void ToProto(const CancelRequest& in, pb::Cancel* out);
CancelRequest FromProto(const pb::Cancel& in);

}  // namespace fleetproto

#endif  // MIGRATOR_PROTO_CONVERT_H_
