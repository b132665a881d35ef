// Command-line parsing for the coordinator and worker over Abseil flags, with
// the seed's spelling (`--max-workers`, dashes) and our exit codes
// (absl::ParseCommandLine exits 1 on a bad flag; the CLI contract says 2).
// Header-only; no gRPC.
//
//   --name=value | --name value | --bool-flag | --nobool-flag | --help | --helpfull
// Dashes in names are accepted as underscores. Positional arguments are an
// error. Short aliases (e.g. "-v" for "--verbose") are the caller's to give.
// The help text is common/cli/help.h's.
#ifndef MIGRATOR_COMMON_CLI_FLAGS_H_
#define MIGRATOR_COMMON_CLI_FLAGS_H_

#include <map>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace cli {

// kHelp: --help or -h; kHelpFull: --helpfull (every registered flag, see help.h).
enum class ParseResult { kOk, kHelp, kHelpFull, kError };

// Parses argv[1..] into the registered Abseil flags. On kError, `*error` says
// why (one line). `aliases` maps a short spelling to a long one ("-v" -> "--verbose").
inline ParseResult ParseFlags(int argc, char** argv, std::string* error,
                              const std::map<std::string, std::string>& aliases = {}) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (auto alias = aliases.find(arg); alias != aliases.end()) arg = alias->second;
    if (arg == "--help" || arg == "-h") return ParseResult::kHelp;
    if (arg == "--helpfull") return ParseResult::kHelpFull;
    if (!absl::StartsWith(arg, "--")) {
      *error = "unexpected argument '" + arg + "'";
      return ParseResult::kError;
    }
    std::string body = arg.substr(2);
    size_t eq = body.find('=');
    std::string name = absl::StrReplaceAll(body.substr(0, eq), {{"-", "_"}});
    bool has_value = eq != std::string::npos;
    std::string value = has_value ? body.substr(eq + 1) : "";
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* neg = absl::FindCommandLineFlag(name.substr(2));
      if (neg != nullptr && neg->IsOfType<bool>()) {
        flag = neg;
        value = "false";
        has_value = true;
      }
    }
    if (flag == nullptr || flag->IsRetired()) {
      *error = "unknown flag '--" + body.substr(0, eq) + "'";
      return ParseResult::kError;
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        *error = "flag '--" + body + "' needs a value";
        return ParseResult::kError;
      }
    }
    std::string why;
    if (!flag->ParseFrom(value, &why)) {
      *error = "bad value for '--" + body.substr(0, eq) + "': " + why;
      return ParseResult::kError;
    }
  }
  return ParseResult::kOk;
}

}  // namespace cli

#endif  // MIGRATOR_COMMON_CLI_FLAGS_H_
