// `--help` generated from the registered Abseil flags (name, help text, default), grouped by
// a small table per program, so that every flag is listed once and none can be forgotten:
// a registered flag that no group names is listed under "other" (a test keeps that group
// empty). `--helpfull` lists every registered flag, Abseil's own included, one a line.
#ifndef MIGRATOR_COMMON_CLI_HELP_H_
#define MIGRATOR_COMMON_CLI_HELP_H_

#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"

namespace cli {

struct FlagGroup {
  std::string title;               // "job", "fleet", "security", "output"
  std::vector<std::string> flags;  // registered names ("max_workers")
};

struct HelpSpec {
  std::string program;   // "coordinator"
  std::string synopsis;  // the lines before the flags ("usage: ...\n")
  std::vector<FlagGroup> groups;
  std::map<std::string, std::string> short_names;  // "verbose" -> "-v"
  std::map<std::string, std::string> value_names;  // "mode" -> "MODE" (else by type/name)
  std::string epilogue;                            // after the flags (exit codes)
};

// The program's own registered flags (not Abseil's: --flagfile, --version, ...), by name.
std::vector<absl::CommandLineFlag*> ProgramFlags();

// The synopsis, then per group "<title>:" and one entry per flag: "  --max-workers N",
// its help text wrapped at 100 columns and "(default 4)" when the default says something;
// then "other:" for flags in no group; then the epilogue.
std::string FormatHelp(const HelpSpec& spec);

// Every registered flag, one a line: "--name<TAB>default<TAB>file that defines it".
std::string FormatHelpFull();

// The registered names of ProgramFlags() that no group of `spec` lists.
std::vector<std::string> UngroupedFlags(const HelpSpec& spec);

// "<program>: <error> (see <program> --help)\n": the one line of a wrong command line.
std::string UsageErrorLine(const std::string& program, const std::string& error);

}  // namespace cli

#endif  // MIGRATOR_COMMON_CLI_HELP_H_
