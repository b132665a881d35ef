// The coordinator: plans a migration job (one task per account), spawns local workers (or
// waits for remote ones), hands accounts out over gRPC, aggregates results, prints a
// summary table and writes a JSON report. Flags: options.cc (`--help`); exit codes:
// exit_codes.h.
#include <cstdio>
#include <string>

#include "common/cli/help.h"
#include "common/log/log.h"
#include "common/sys/signals.h"
#include "coordinator/app/exit_codes.h"
#include "coordinator/app/options.h"
#include "coordinator/app/run.h"
#include "coordinator/frontends/tty/console.h"

int main(int argc, char** argv) {
  sys::SignalThread::BlockStopSignals();
  coordinator::Console::BlockResizeSignal();  // for the console thread alone
  logging::SetProcessTag("coordinator");
  absl::StatusOr<coordinator::Options> options = coordinator::ParseOptions(argc, argv);
  if (options.ok() && (options->help || options->help_full)) {
    std::fputs((options->help ? coordinator::Usage() : coordinator::UsageFull()).c_str(), stdout);
    return coordinator::kExitOk;
  }
  if (!options.ok()) {  // one line and the hint, not the whole usage
    std::string line = cli::UsageErrorLine("coordinator", std::string(options.status().message()));
    std::fputs(line.c_str(), stderr);
    return coordinator::ExitCodeFor(options.status());
  }
  absl::Status status = coordinator::RunCoordinator(*std::move(options));
  if (!status.ok() && !absl::IsAborted(status)) {
    std::string line = "coordinator: " + std::string(status.message()) + "\n";
    std::fputs(line.c_str(), stderr);
    logging::AppendToFile(line);
  }
  return coordinator::ExitCodeFor(status);
}
