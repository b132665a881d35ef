// Fuzz target for the wire conversions (proto/convert.h) and the status API's JSON
// (proto/status_json.h). The first input byte picks a migrator.v1 message, the rest is
// parsed as it (inputs that do not parse are skipped). Invariants, any violation aborts:
//  - Task -> Assignment: OK or kInvalidArgument; an accepted one converted back and again
//    is stable (the second wire form equals the first, and is accepted too);
//  - TaskResult, Progress, Register, Heartbeat, Welcome, Cancel: domain -> wire -> domain
//    is stable after the first conversion;
//  - GetStatusResponse, ListAccountsResponse, WatchEvent: the JSON never throws when
//    written, parses again, and carries the strings as they were.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/logging.h"
#include "nlohmann/json.hpp"
#include "proto/convert.h"
#include "proto/status_json.h"

namespace {

namespace fp = fleetproto;
namespace pb = ::migrator::v1;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "proto_convert_fuzz: invariant violated: %s\n", what);
  std::abort();
}

std::string Wire(const google::protobuf::MessageLite& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

void CheckTask(const pb::Task& in) {
  fp::Assignment a;
  absl::Status st = fp::FromProto(in, &a);
  Check(st.ok() || st.code() == absl::StatusCode::kInvalidArgument, "task: unexpected code");
  if (!st.ok()) return;
  pb::Task t1;
  fp::ToProto(a, &t1);
  fp::Assignment a1;
  Check(fp::FromProto(t1, &a1).ok(), "task: converted back, refused");
  pb::Task t2;
  fp::ToProto(a1, &t2);
  Check(Wire(t1) == Wire(t2), "task: not stable");
}

void CheckResult(const pb::TaskResult& in) {
  pb::TaskResult t1;
  fp::ToProto(fp::FromProto(in), &t1);
  pb::TaskResult t2;
  fp::ToProto(fp::FromProto(t1), &t2);
  Check(Wire(t1) == Wire(t2), "task result: not stable");
}

void CheckProgress(const pb::Progress& in) {
  pb::Progress p1;
  fp::ToProto(fp::FromProto(in), &p1);
  pb::Progress p2;
  fp::ToProto(fp::FromProto(p1), &p2);
  Check(Wire(p1) == Wire(p2), "progress: not stable");
}

void CheckRegister(const pb::Register& in) {
  pb::WorkerMessage m1 = fp::RegisterMessage(fp::FromProto(in));
  pb::WorkerMessage m2 = fp::RegisterMessage(fp::FromProto(m1.register_()));
  Check(Wire(m1) == Wire(m2), "register: not stable");
}

void CheckHeartbeat(const pb::Heartbeat& in) {
  std::vector<fp::Lease> leases = fp::LeasesFromProto(in);
  Check(leases.size() == static_cast<size_t>(in.leases_size()), "heartbeat: lost leases");
  pb::WorkerMessage m = fp::HeartbeatMessage(in.seq(), leases);
  Check(m.heartbeat().seq() == in.seq(), "heartbeat: seq");
  Check(fp::LeasesFromProto(m.heartbeat()) == leases, "heartbeat: leases not stable");
}

void CheckWelcome(const pb::Welcome& in) {
  pb::Welcome w1;
  fp::ToProto(fp::FromProto(in), &w1);
  pb::Welcome w2;
  fp::ToProto(fp::FromProto(w1), &w2);
  Check(Wire(w1) == Wire(w2), "welcome: not stable");
  Check(w1.job_id() == in.job_id(), "welcome: job id");
}

void CheckCancel(const pb::Cancel& in) {
  pb::Cancel c1;
  fp::ToProto(fp::FromProto(in), &c1);
  pb::Cancel c2;
  fp::ToProto(fp::FromProto(c1), &c2);
  Check(Wire(c1) == Wire(c2), "cancel: not stable");
  Check(c1.reason() == in.reason() && c1.task_id() == in.task_id(), "cancel: fields");
}

// Written and parsed again; returns the parsed JSON.
nlohmann::json Reparsed(const nlohmann::json& j) {
  std::string text = j.dump();  // throws on invalid UTF-8: proto3 strings are valid
  nlohmann::json back = nlohmann::json::parse(text, nullptr, false);
  Check(!back.is_discarded(), "status JSON does not parse");
  return back;
}

void CheckStatus(const pb::GetStatusResponse& in) {
  nlohmann::json j = Reparsed(statusfmt::StatusJson(in));
  Check(j["job_id"] == in.job_id() && j["stop_reason"] == in.stop_reason(), "status strings");
  Check(j["workers"].size() == static_cast<size_t>(in.workers_size()), "status workers");
}

void CheckAccounts(const pb::ListAccountsResponse& in) {
  nlohmann::json j = Reparsed(statusfmt::AccountsJson(in.accounts()));
  Check(j["accounts"].size() == static_cast<size_t>(in.accounts_size()), "accounts count");
  for (int i = 0; i < in.accounts_size(); ++i) {
    const nlohmann::json& a = j["accounts"][i];
    Check(a["email"] == in.accounts(i).email() && a["last_error"] == in.accounts(i).last_error(),
          "account strings");
  }
}

void CheckWatch(const pb::WatchEvent& in) {
  nlohmann::json j = Reparsed(statusfmt::WatchEventJson(in));
  Check(j["changed"].size() == static_cast<size_t>(in.changed_size()), "watch changed");
}

template <typename M>
bool Parse(absl::string_view bytes, M* m) {
  return m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Inputs that are no valid message (e.g. invalid UTF-8 in a string field) are the
  // common case here; protobuf would log each one.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size == 0 || size > 16 * 1024) return 0;  // regexes in a Task compile: keep them small
  absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
#define MIG_FUZZ_CASE(n, Type, check) \
  case n: {                           \
    pb::Type m;                       \
    if (Parse(bytes, &m)) check(m);   \
    break;                            \
  }
    MIG_FUZZ_CASE(0, Task, CheckTask)
    MIG_FUZZ_CASE(1, TaskResult, CheckResult)
    MIG_FUZZ_CASE(2, Progress, CheckProgress)
    MIG_FUZZ_CASE(3, Register, CheckRegister)
    MIG_FUZZ_CASE(4, Heartbeat, CheckHeartbeat)
    MIG_FUZZ_CASE(5, Welcome, CheckWelcome)
    MIG_FUZZ_CASE(6, Cancel, CheckCancel)
    MIG_FUZZ_CASE(7, GetStatusResponse, CheckStatus)
    MIG_FUZZ_CASE(8, ListAccountsResponse, CheckAccounts)
    MIG_FUZZ_CASE(9, WatchEvent, CheckWatch)
#undef MIG_FUZZ_CASE
  }
  return 0;
}
