// Conversions from the coordinator's read models (job snapshots, aggregate figures) to
// the status API's messages (migrator.v1 StatusService). Protobuf only, no gRPC API; kept
// apart from convert.h so the worker does not depend on the coordinator. Stateless.
#ifndef MIGRATOR_PROTO_STATUS_CONVERT_H_
#define MIGRATOR_PROTO_STATUS_CONVERT_H_

#include "coordinator/core/job.h"
#include "coordinator/status/status_tracker.h"
#include "migrator/v1/migrator.pb.h"

namespace fleetproto {

namespace pb = ::migrator::v1;

pb::AccountState ToProto(coordinator::TaskState state);

// The job-wide status: counts, totals, rates, ETA and workers. Never a secret.
void ToProto(const coordinator::JobSnapshot& snapshot,
             const coordinator::AggregateStatus& aggregate, pb::GetStatusResponse* out);

// One account: state, worker, attempts, counters and folders.
void ToProto(const coordinator::AccountView& account, pb::AccountStatus* out);

}  // namespace fleetproto

#endif  // MIGRATOR_PROTO_STATUS_CONVERT_H_
