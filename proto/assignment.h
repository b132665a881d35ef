// The domain side of the worker stream's messages that are not config/ or
// engine/ types: what a Task assigns, a worker's Register, the terms of its
// Welcome, a Cancel. Plain structs (no protobuf here); proto/convert.h converts
// them to and from migrator.v1.
#ifndef MIGRATOR_PROTO_ASSIGNMENT_H_
#define MIGRATOR_PROTO_ASSIGNMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/engine/engine.h"

namespace fleetproto {

// One assignment of one account (a Task).
struct Assignment {
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  uint32_t attempt = 0;       // 1 for the first assignment
  engine::AccountTask task;   // holds the account's secret: never log it
  std::string data_location;  // export root: directory or s3://bucket/prefix
};

// (task_id, epoch) of a task a worker runs.
using Lease = std::pair<uint64_t, uint64_t>;

// A worker introducing itself (Register).
struct Registration {
  std::string worker_id;
  std::string host;
  int pid = 0;
  int max_parallel = 0;
  std::string version;
};

// What the coordinator's Welcome tells a worker.
struct SessionTerms {
  std::string job_id;
  absl::Duration heartbeat_interval;  // zero: not given
  absl::Duration lease;               // zero: no lease
};

// A Cancel: stop task `task_id` at `epoch` (0: any).
struct CancelRequest {
  uint64_t task_id = 0;
  uint64_t epoch = 0;
  std::string reason;
};

}  // namespace fleetproto

#endif  // MIGRATOR_PROTO_ASSIGNMENT_H_
