#include "common/cli/help.h"

#include <algorithm>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace cli {
namespace {

constexpr size_t kWidth = 100, kIndent = 28;

bool IsAbseils(const absl::CommandLineFlag& flag) {
  std::string file(flag.Filename());
  return absl::StartsWith(file, "absl/") || absl::StrContains(file, "/absl/");
}

std::string Dashed(const std::string& name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

// The value's placeholder: the spec's, else by type ("N", "F", "DURATION") or, for a string,
// by name ("DIR", "ADDR", "FILE", "NAME", "TEXT"); "" for a switch.
std::string Placeholder(const HelpSpec& spec, const absl::CommandLineFlag& flag) {
  std::string name(flag.Name());
  if (auto it = spec.value_names.find(name); it != spec.value_names.end()) return it->second;
  if (flag.IsOfType<bool>()) return "";
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>() || flag.IsOfType<uint32_t>()) return "N";
  if (flag.IsOfType<double>()) return "F";
  if (flag.IsOfType<absl::Duration>()) return "DURATION";
  if (absl::EndsWith(name, "_dir")) return "DIR";
  if (absl::EndsWith(name, "listen") || name == "coordinator") return "ADDR";
  if (absl::EndsWith(name, "_name") || name == "id") return "NAME";
  if (absl::EndsWith(name, "_file") || absl::StartsWith(name, "tls_")) return "FILE";
  return "TEXT";
}

// "(default 4)", or "" when the default says nothing (an empty string, a false switch) or
// the help text already names it.
std::string DefaultNote(const absl::CommandLineFlag& flag) {
  std::string d(flag.DefaultValue());
  if (d.empty() || (flag.IsOfType<bool>() && d == "false")) return "";
  if (absl::StrContains(flag.Help(), "default")) return "";
  return absl::StrCat("(default ", d, ")");
}

// Appends `words` wrapped to kWidth, every line after the first indented by kIndent.
void AppendWrapped(const std::string& head, const std::string& text, std::string* out) {
  std::string line = head;
  if (line.size() + 1 >= kIndent) {
    absl::StrAppend(out, line, "\n");
    line.clear();
  }
  line.resize(kIndent, ' ');
  bool first = true;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!first && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(out, line, "\n");
      line.assign(kIndent, ' ');
      first = true;
    }
    absl::StrAppend(&line, first ? "" : " ", word);
    first = false;
  }
  absl::StrAppend(out, line, "\n");
}

void AppendFlag(const HelpSpec& spec, const absl::CommandLineFlag& flag, std::string* out) {
  std::string head = "  ";
  auto short_name = spec.short_names.find(std::string(flag.Name()));
  if (short_name != spec.short_names.end()) absl::StrAppend(&head, short_name->second, ", ");
  absl::StrAppend(&head, "--", Dashed(std::string(flag.Name())));
  std::string value = Placeholder(spec, flag);
  if (!value.empty()) absl::StrAppend(&head, " ", value);
  std::string text(flag.Help());
  std::string note = DefaultNote(flag);
  if (!note.empty()) absl::StrAppend(&text, " ", note);
  AppendWrapped(head, text, out);
}

}  // namespace

std::vector<absl::CommandLineFlag*> ProgramFlags() {
  std::vector<absl::CommandLineFlag*> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!flag->IsRetired() && !IsAbseils(*flag)) out.push_back(flag);
  }
  std::sort(out.begin(), out.end(),
            [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
              return a->Name() < b->Name();
            });
  return out;
}

std::string FormatHelp(const HelpSpec& spec) {
  std::map<std::string, absl::CommandLineFlag*> flags;
  for (absl::CommandLineFlag* f : ProgramFlags()) flags[std::string(f->Name())] = f;
  std::string out = spec.synopsis;
  std::set<std::string> listed;
  for (const FlagGroup& group : spec.groups) {
    std::string body;
    for (const std::string& name : group.flags) {
      auto it = flags.find(name);
      if (it == flags.end() || !listed.insert(name).second) continue;
      AppendFlag(spec, *it->second, &body);
    }
    if (!body.empty()) absl::StrAppend(&out, "\n", group.title, ":\n", body);
  }
  std::string other;
  for (const auto& [name, flag] : flags) {
    if (listed.count(name) == 0) AppendFlag(spec, *flag, &other);
  }
  if (!other.empty()) absl::StrAppend(&out, "\nother:\n", other);
  if (!spec.epilogue.empty()) absl::StrAppend(&out, "\n", spec.epilogue);
  return out;
}

std::string FormatHelpFull() {
  std::map<std::string, const absl::CommandLineFlag*> all;
  for (const auto& [name, flag] : absl::GetAllFlags()) all[std::string(name)] = flag;
  std::string out;
  for (const auto& [name, flag] : all) {
    absl::StrAppend(&out, "--", Dashed(name), "\t", flag->DefaultValue(), "\t", flag->Filename(),
                    "\n");
  }
  return out;
}

std::vector<std::string> UngroupedFlags(const HelpSpec& spec) {
  std::set<std::string> grouped;
  for (const FlagGroup& g : spec.groups) grouped.insert(g.flags.begin(), g.flags.end());
  std::vector<std::string> out;
  for (absl::CommandLineFlag* f : ProgramFlags()) {
    if (grouped.count(std::string(f->Name())) == 0) out.emplace_back(f->Name());
  }
  return out;
}

std::string UsageErrorLine(const std::string& program, const std::string& error) {
  return absl::StrCat(program, ": ", error, " (see ", program, " --help)\n");
}

}  // namespace cli
