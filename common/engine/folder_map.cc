#include "common/engine/folder_map.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/imap/mutf7.h"
#include "common/status/status_macros.h"
#include "re2/re2.h"

namespace engine {
namespace {

// Names common clients and providers give their special-use folders (lower case).
const std::map<std::string, std::string>& LocalizedNames() {
  static const auto* names = new std::map<std::string, std::string>{
      // \Sent
      {"sent", "\\Sent"},
      {"sent items", "\\Sent"},
      {"sent messages", "\\Sent"},
      {"sent mail", "\\Sent"},
      {"gesendet", "\\Sent"},
      {"gesendete objekte", "\\Sent"},
      {"gesendete elemente", "\\Sent"},
      {"éléments envoyés", "\\Sent"},
      {"envoyés", "\\Sent"},
      {"messages envoyés", "\\Sent"},
      {"enviados", "\\Sent"},
      {"elementos enviados", "\\Sent"},
      {"posta inviata", "\\Sent"},
      {"inviata", "\\Sent"},
      {"verzonden items", "\\Sent"},
      {"skickat", "\\Sent"},
      // \Trash
      {"trash", "\\Trash"},
      {"deleted items", "\\Trash"},
      {"deleted messages", "\\Trash"},
      {"bin", "\\Trash"},
      {"papierkorb", "\\Trash"},
      {"gelöschte elemente", "\\Trash"},
      {"gelöschte objekte", "\\Trash"},
      {"corbeille", "\\Trash"},
      {"éléments supprimés", "\\Trash"},
      {"papelera", "\\Trash"},
      {"elementos eliminados", "\\Trash"},
      {"cestino", "\\Trash"},
      {"verwijderde items", "\\Trash"},
      // \Junk
      {"junk", "\\Junk"},
      {"junk e-mail", "\\Junk"},
      {"junk email", "\\Junk"},
      {"spam", "\\Junk"},
      {"bulk mail", "\\Junk"},
      {"junk-e-mail", "\\Junk"},
      {"courrier indésirable", "\\Junk"},
      {"correo no deseado", "\\Junk"},
      {"posta indesiderata", "\\Junk"},
      // \Drafts
      {"drafts", "\\Drafts"},
      {"entwürfe", "\\Drafts"},
      {"brouillons", "\\Drafts"},
      {"borradores", "\\Drafts"},
      {"bozze", "\\Drafts"},
      {"concepten", "\\Drafts"},
      // \Archive
      {"archive", "\\Archive"},
      {"archives", "\\Archive"},
      {"archiv", "\\Archive"},
      {"archivo", "\\Archive"},
      // \All (Gmail)
      {"all mail", "\\All"},
      {"alle nachrichten", "\\All"},
      {"tous les messages", "\\All"},
  };
  return *names;
}

// ASCII lower case plus the few Latin-1 capitals of the table's languages.
std::string Lower(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(s);
  for (auto [upper, lower] :
       {std::pair<const char*, const char*>{"É", "é"}, {"Ü", "ü"}, {"Ö", "ö"}, {"Ä", "ä"}}) {
    for (size_t at = out.find(upper); at != std::string::npos; at = out.find(upper, at)) {
      out.replace(at, std::string(upper).size(), lower);
    }
  }
  return out;
}

// The levels of a folder's name relative to its namespace (UTF-8, or raw when it was not
// canonical modified UTF-7).
std::vector<std::string> LevelsOf(const FolderMeta& meta, bool raw) {
  absl::string_view rel = raw ? meta.raw_name : meta.name;
  if (!meta.namespace_prefix.empty()) absl::ConsumePrefix(&rel, meta.namespace_prefix);
  if (meta.delimiter.empty()) return {std::string(rel)};
  return absl::StrSplit(rel, meta.delimiter[0]);
}

// B's name for `levels`: the delimiter inside a level replaced (it would become
// hierarchy), B's prefix in front.
std::string Join(std::vector<std::string> levels, const TargetInfo& target) {
  if (target.delimiter != 0) {
    for (std::string& l : levels) std::replace(l.begin(), l.end(), target.delimiter, '_');
  }
  const char delim = target.delimiter ? target.delimiter : '/';
  return absl::StrCat(target.prefix, absl::StrJoin(levels, std::string(1, delim)));
}

}  // namespace

std::string LocalizedSpecialUse(const std::vector<std::string>& levels) {
  if (levels.empty() || levels.size() > 2) return "";
  if (levels.size() == 2) {
    const std::string parent = Lower(levels[0]);
    if (parent != "inbox" && parent != "[gmail]" && parent != "[google mail]") return "";
  }
  auto it = LocalizedNames().find(Lower(levels.back()));
  return it == LocalizedNames().end() ? "" : it->second;
}

FolderMapper::FolderMapper(const config::FolderMap& map) : map_(map) {
  for (const config::FolderRule& r : map_.rules) {
    regex_.push_back(r.regex.empty() ? nullptr
                                     : std::make_unique<re2::RE2>(r.regex, re2::RE2::Quiet));
  }
}

FolderMapper::~FolderMapper() = default;

void FolderMapper::ApplyTargetRules(std::vector<std::string>* levels, std::string* how) const {
  if (map_.target == "gmail") {
    for (std::string& l : *levels) {
      std::string fixed(absl::StripAsciiWhitespace(l));
      std::replace(fixed.begin(), fixed.end(), '^', '_');
      if (fixed.empty()) fixed = "_";
      if (fixed != l) {
        absl::StrAppend(how, ", renamed: '", l, "' is refused by gmail (no '^', no spaces around)");
        l = fixed;
      }
    }
  } else if (map_.target == "exchange" && levels->size() == 1 &&
             absl::EqualsIgnoreCase((*levels)[0], "Files")) {
    absl::StrAppend(how, ", renamed: '", (*levels)[0], "' is reserved on exchange");
    (*levels)[0] += " (migrated)";
  }
}

absl::StatusOr<MappedFolder> FolderMapper::Map(const FolderMeta& meta, const TargetInfo& target,
                                               bool localized) const {
  MappedFolder out;
  if (absl::EqualsIgnoreCase(meta.name, "INBOX")) {
    out.raw = out.name = "INBOX";
    out.how = "INBOX";
    return out;
  }
  // A name that is not canonical modified UTF-7 was kept raw: mapped without re-encoding.
  const bool raw = !imap::Mutf7ToUtf8(meta.raw_name).ok();
  std::vector<std::string> levels = LevelsOf(meta, raw);
  const std::string logical = absl::StrJoin(levels, "/");
  for (size_t i = 0; i < map_.rules.size() && out.how.empty(); ++i) {
    const config::FolderRule& r = map_.rules[i];
    std::string to;
    if (regex_[i] == nullptr) {
      if (r.from != logical) continue;
      to = r.to;
    } else {
      to = logical;
      if (!re2::RE2::Replace(&to, *regex_[i], r.to)) continue;
    }
    levels = absl::StrSplit(to, '/', absl::SkipEmpty());
    if (levels.empty()) levels = {"_"};
    out.how = absl::StrCat("rule ", i + 1);
    out.merge = r.merge;
  }
  if (out.how.empty() && map_.automap) {
    std::string use = meta.special_use;
    if (use.empty() && localized) use = LocalizedSpecialUse(levels);
    for (const imap::MailboxInfo& f :
         use.empty() ? std::vector<imap::MailboxInfo>() : target.folders) {
      if (!absl::EqualsIgnoreCase(f.special_use(), use)) continue;
      out.raw = f.raw_name;
      out.name = f.name;
      out.how = meta.special_use.empty() ? absl::StrCat("localized name of ", use)
                                         : absl::StrCat("special use ", use);
      return out;
    }
  }
  if (out.how.empty()) out.how = "same name";
  ApplyTargetRules(&levels, &out.how);
  out.name = Join(levels, target);
  if (raw) {
    out.raw = out.name;
  } else {
    ASSIGN_OR_RETURN(out.raw, imap::EncodeMailboxName(out.name));
  }
  return out;
}

absl::StatusOr<std::vector<MappedFolder>> FolderMapper::MapAll(
    const std::vector<FolderMeta>& folders, const TargetInfo& target) const {
  std::set<std::string> own_uses;  // special uses some folder has itself
  for (const FolderMeta& f : folders) {
    if (!f.special_use.empty()) own_uses.insert(absl::AsciiStrToLower(f.special_use));
  }
  std::vector<MappedFolder> out;
  std::map<std::string, size_t> landed;  // B name (folded for exchange) → first folder
  for (size_t i = 0; i < folders.size(); ++i) {
    const FolderMeta& f = folders[i];
    const bool raw = !imap::Mutf7ToUtf8(f.raw_name).ok();
    const std::string localized =
        f.special_use.empty() ? LocalizedSpecialUse(LevelsOf(f, raw)) : "";
    const bool automap_localized =
        !localized.empty() && !own_uses.count(absl::AsciiStrToLower(localized));
    absl::StatusOr<MappedFolder> one = Map(f, target, automap_localized);
    if (!one.ok()) return status::Annotate(one.status(), absl::StrCat("folder '", f.name, "'"));
    out.push_back(*std::move(one));
    const std::string key = map_.target == "exchange" ? Lower(out.back().raw) : out.back().raw;
    auto [it, first] = landed.emplace(key, i);
    if (first || out.back().merge || out[it->second].merge) continue;
    return absl::FailedPreconditionError(absl::StrCat(
        "folders '", folders[it->second].name, "' and '", f.name, "' would both land in '",
        out.back().name, "' on server B",
        map_.target == "exchange" ? " (exchange compares folder names without case)" : "",
        "; give one a folder_map rule to another name, or \"merge\": true to join them"));
  }
  return out;
}

}  // namespace engine
