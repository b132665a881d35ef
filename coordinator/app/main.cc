// The coordinator: plans a migration job (one task per account), spawns local workers (or
// waits for remote ones), hands accounts out over gRPC, aggregates results, prints a
// summary table and writes a JSON report. Flags: options.cc (`--help`); exit codes:
// exit_codes.h.
#include <cstdio>
#include <string>

#include "common/log/log.h"
#include "common/sys/signals.h"
#include "coordinator/app/exit_codes.h"
#include "coordinator/app/options.h"
#include "coordinator/app/run.h"

int main(int argc, char** argv) {
  sys::SignalThread::BlockStopSignals();
  logging::SetProcessTag("coordinator");
  absl::StatusOr<coordinator::Options> options = coordinator::ParseOptions(argc, argv);
  if (options.ok() && options->help) {
    std::fputs(coordinator::Usage(), stdout);
    return coordinator::kExitOk;
  }
  absl::Status status =
      options.ok() ? coordinator::RunCoordinator(*std::move(options)) : options.status();
  if (!options.ok()) std::fputs(coordinator::Usage(), stderr);
  if (!status.ok() && !absl::IsAborted(status)) {
    std::string line = "coordinator: " + std::string(status.message()) + "\n";
    std::fputs(line.c_str(), stderr);
    logging::AppendToFile(line);
  }
  return coordinator::ExitCodeFor(status);
}
