// The sizes of test --sizes and the plans of dry runs, in the summary and the JSON report:
// per account and folder, and summed (report.h).
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/status/report.h"

namespace coordinator {

void PlanSums::Add(const engine::FolderResult& f) {
  folders += 1;
  source_messages += f.source_messages;
  source_bytes += f.source_bytes;
  folders_to_create += f.create ? 1 : 0;
  to_move += f.to_move;
  bytes_to_move += f.bytes_to_move;
  present += f.present;
  refused += f.refused;
}

void PlanSums::Add(const PlanSums& o) {
  folders += o.folders;
  source_messages += o.source_messages;
  source_bytes += o.source_bytes;
  folders_to_create += o.folders_to_create;
  to_move += o.to_move;
  bytes_to_move += o.bytes_to_move;
  present += o.present;
  refused += o.refused;
}

PlanSums SumsOf(const AccountView& a) {
  PlanSums sums;
  for (const engine::FolderResult& f : a.folders) sums.Add(f);
  return sums;
}

PlanSums SumsOf(const JobSnapshot& s) {
  PlanSums sums;
  for (const AccountView& a : s.accounts) sums.Add(SumsOf(a));
  return sums;
}

nlohmann::json PlanSumsJson(const PlanSums& p) {
  return {{"folders_total", p.folders},     {"source_messages", p.source_messages},
          {"source_bytes", p.source_bytes}, {"folders_to_create", p.folders_to_create},
          {"messages_to_move", p.to_move},  {"bytes_to_move", p.bytes_to_move},
          {"messages_present", p.present}};
}

namespace {

std::string Cut(const std::string& s, size_t max) {
  return s.size() <= max ? s : s.substr(0, max - 3) + "...";
}

// `s` in a column `width` characters wide (UTF-8: a folder name like "Résumé" is 6 wide,
// not 8): cut with "..." at a character boundary, or padded with spaces.
std::string Cell(const std::string& s, size_t width) {
  std::vector<size_t> starts;  // byte offset of each character
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) starts.push_back(i);
  }
  if (starts.size() > width) return s.substr(0, starts[width - 3]) + "...";
  return s + std::string(width - starts.size(), ' ');
}

int AccountWidth(const JobSnapshot& s) {
  size_t w = 7;
  for (const AccountView& a : s.accounts) w = std::max(w, a.task.email.size());
  return static_cast<int>(std::min<size_t>(w, 48));
}

}  // namespace

std::string FormatSizesTable(const JobSnapshot& s) {
  const int ew = AccountWidth(s);
  std::string out = absl::StrFormat("%-*s  %-30s  %9s  %10s  %s\n", ew, "ACCOUNT", "FOLDER",
                                    "MESSAGES", "BYTES", "ON SERVER B");
  for (const AccountView& a : s.accounts) {
    const std::string email = Cut(a.task.email, ew);
    for (const engine::FolderResult& f : a.folders) {
      std::string target = f.target;
      if (!target.empty() && f.create) target += " (to create)";
      if (!f.error.empty()) target = "error: " + Cut(f.error, 80);
      absl::StrAppend(&out,
                      absl::StrFormat("%-*s  %s  %9d  %10s  %s\n", ew, email, Cell(f.name, 30),
                                      f.source_messages, HumanBytes(f.source_bytes), target));
    }
    const PlanSums sums = SumsOf(a);
    absl::StrAppend(&out, absl::StrFormat("%-*s  %-30s  %9d  %10s\n", ew, email,
                                          absl::StrCat("(", sums.folders, " folders)"),
                                          sums.source_messages, HumanBytes(sums.source_bytes)));
  }
  return out;
}

std::string FormatPlanTable(const JobSnapshot& s) {
  const int ew = AccountWidth(s);
  std::string out =
      absl::StrFormat("%-*s  %-30s  %8s  %8s  %8s  %10s  %7s  %s\n", ew, "ACCOUNT", "FOLDER",
                      "SOURCE", "PRESENT", "TO MOVE", "BYTES", "REFUSED", "TARGET");
  for (const AccountView& a : s.accounts) {
    const std::string email = Cut(a.task.email, ew);
    for (const engine::FolderResult& f : a.folders) {
      // Only the folders with something to do on B, something to move, or an error (an
      // empty folder new to the export is only counted); every folder is in the report.
      const bool create_on_b = f.create && !f.target.empty();
      if (f.to_move == 0 && !create_on_b && f.refused == 0 && f.error.empty()) continue;
      std::string target = f.target;
      if (f.create) target += target.empty() ? "(new)" : " (to create)";
      if (!f.error.empty()) target = "error: " + Cut(f.error, 80);
      absl::StrAppend(&out,
                      absl::StrFormat("%-*s  %s  %8d  %8d  %8d  %10s  %7d  %s\n", ew, email,
                                      Cell(f.name, 30), f.source_messages, f.present, f.to_move,
                                      HumanBytes(f.bytes_to_move), f.refused, target));
    }
    const PlanSums p = SumsOf(a);
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-*s  %-30s  %8d  %8d  %8d  %10s  %7d  %s\n", ew, email,
                  absl::StrCat("(", p.folders, " folders)"), p.source_messages, p.present,
                  p.to_move, HumanBytes(p.bytes_to_move), p.refused,
                  p.folders_to_create > 0 ? absl::StrCat(p.folders_to_create, " to create") : ""));
  }
  return out;
}

std::string FormatPlanTotals(const JobSnapshot& s) {
  const PlanSums p = SumsOf(s);
  if (s.sizes) {
    return absl::StrFormat("sizes on server A: %d account(s), %d folder(s), %d message(s), %s\n",
                           s.accounts.size(), p.folders, p.source_messages,
                           HumanBytes(p.source_bytes));
  }
  if (!s.dry_run) return "";
  return absl::StrFormat(
      "dry run, nothing was written: %d folder(s) to create, %d message(s) to move (%s), %d "
      "already present%s\n",
      p.folders_to_create, p.to_move, HumanBytes(p.bytes_to_move), p.present,
      p.refused > 0 ? absl::StrCat(", ", p.refused, " refused by the target") : "");
}

}  // namespace coordinator
