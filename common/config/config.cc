// Config parsing and validation (see config.h). nlohmann::json exceptions are caught here
// and never escape. Values of secret fields are never copied into messages.
#include "common/config/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/config/config_internal.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"

namespace config {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxReportedErrors = 20;
constexpr int kMaxConnections = 64;
constexpr int kMaxTokenMaxAge = 86400;  // seconds
constexpr size_t kMaxShownValue = 60;
constexpr uint64_t kMaxBytesPerDay = uint64_t{1} << 50;
constexpr double kMaxMessagesPerSecond = 100000;
constexpr int kMaxBudgetWindow = 31 * 86400;  // seconds

// Collects errors and warnings, each "<path>: <field>: <problem>".
class Report {
 public:
  explicit Report(const std::string& path) : path_(path) {}
  void Error(const std::string& field, const std::string& problem) {
    errors_.push_back(Format(field, problem));
  }
  void Warn(const std::string& field, const std::string& problem) {
    warnings_.push_back(Format(field, problem));
  }
  bool has_errors() const { return !errors_.empty(); }
  std::vector<std::string>& warnings() { return warnings_; }
  absl::Status ToStatus() const {
    if (errors_.empty()) return absl::OkStatus();
    size_t shown = std::min(errors_.size(), kMaxReportedErrors);
    std::string msg = absl::StrJoin(errors_.begin(), errors_.begin() + shown, "\n");
    if (shown < errors_.size()) {
      absl::StrAppend(&msg, "\n", path_, ": ... and ", errors_.size() - shown, " more errors");
    }
    return absl::InvalidArgumentError(msg);
  }

 private:
  std::string Format(const std::string& field, const std::string& problem) const {
    if (field.empty()) return absl::StrCat(path_, ": ", problem);
    return absl::StrCat(path_, ": ", field, ": ", problem);
  }
  std::string path_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

// A JSON value for a message: strings quoted and truncated, containers named.
std::string Shown(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMaxShownValue) s = s.substr(0, kMaxShownValue) + "...";
  return s;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

enum Flags { kPlain = 0, kSecret = 1, kNonEmpty = 2 };

// One JSON object at a field path ("server", "accounts[3]") with typed accessors. Each
// accessor returns true when the field is present and valid, storing the value.
class Obj {
 public:
  Obj(Report* report, const json& j, std::string base)
      : report_(report), j_(j), base_(std::move(base)) {}

  std::string Path(absl::string_view name) const {
    return base_.empty() ? std::string(name) : absl::StrCat(base_, ".", name);
  }
  bool Has(const char* name) const { return j_.contains(name); }
  void Error(absl::string_view name, const std::string& problem) const {
    report_->Error(name.empty() ? base_ : Path(name), problem);
  }

  bool String(const char* name, std::string* out, int flags) const {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    if (!it->is_string()) {
      Error(name, (flags & kSecret) ? std::string("must be a string")
                                    : "must be a string, got " + Shown(*it));
      return false;
    }
    std::string v = it->get<std::string>();
    if ((flags & kNonEmpty) && v.empty()) {
      Error(name, "must not be empty");
      return false;
    }
    *out = std::move(v);
    return true;
  }

  bool Bool(const char* name, bool* out) const {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    if (!it->is_boolean()) {
      Error(name, "must be true or false, got " + Shown(*it));
      return false;
    }
    *out = it->get<bool>();
    return true;
  }

  bool Int(const char* name, int lo, int hi, int* out) const {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    bool ok = it->is_number_integer() && it->get<int64_t>() >= lo && it->get<int64_t>() <= hi;
    if (it->is_number_unsigned()) ok = it->get<uint64_t>() <= static_cast<uint64_t>(hi) && ok;
    if (!ok) {
      Error(name, absl::StrFormat("must be an integer from %d to %d, got %s", lo, hi, Shown(*it)));
      return false;
    }
    *out = static_cast<int>(it->get<int64_t>());
    return true;
  }

  bool Uint64(const char* name, uint64_t lo, uint64_t hi, uint64_t* out) const {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    bool ok = it->is_number_unsigned() && it->get<uint64_t>() >= lo && it->get<uint64_t>() <= hi;
    if (!ok) {
      Error(name, absl::StrFormat("must be an integer from %d to %d, got %s", lo, hi, Shown(*it)));
      return false;
    }
    *out = it->get<uint64_t>();
    return true;
  }

  bool Number(const char* name, double lo, double hi, double* out) const {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    bool ok = it->is_number() && it->get<double>() > lo && it->get<double>() <= hi;
    if (!ok) {
      Error(name,
            absl::StrFormat("must be a number above %g, at most %g, got %s", lo, hi, Shown(*it)));
      return false;
    }
    *out = it->get<double>();
    return true;
  }

  // Warns about every member not in `known`, suggesting a close known name.
  void WarnUnknown(std::initializer_list<const char*> known) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      const std::string& key = it.key();
      if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) !=
          known.end()) {
        continue;
      }
      std::string problem = "unknown field (ignored)";
      for (const char* k : known) {
        if (EditDistance(absl::AsciiStrToLower(key), k) <= 2) {
          absl::StrAppend(&problem, "; did you mean \"", k, "\"?");
          break;
        }
      }
      report_->Warn(Path(key), problem);
    }
  }

 private:
  Report* report_;
  const json& j_;
  std::string base_;
};

bool HasControl(absl::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Empty when `email` is usable as an identity and a directory name, else the problem.
std::string EmailProblem(const std::string& email) {
  if (email.empty()) return "must not be empty";
  std::string shown = Shown(json(email));
  if (HasControl(email)) return "must not contain control characters, got " + shown;
  if (email.find('/') != std::string::npos) return "must not contain '/', got " + shown;
  if (email[0] == '.') return "must not begin with '.', got " + shown;
  if (email.find('@') == std::string::npos) return "must contain '@', got " + shown;
  if (email.size() > 254) return "longer than 254 bytes";
  return "";
}

std::string HostProblem(const std::string& host) {
  if (host.empty()) return "must not be empty";
  bool bad = HasControl(host) || host.find(' ') != std::string::npos ||
             host.find("://") != std::string::npos || host.find('/') != std::string::npos;
  if (bad) return "must be a host name or address, got " + Shown(json(host));
  return "";
}

bool ParseProvider(const Obj& o, Provider* provider) {
  std::string text;
  if (!o.String("provider", &text, kPlain)) return false;
  for (Provider p : {Provider::kGmail, Provider::kM365}) {
    if (absl::AsciiStrToLower(text) == ProviderName(p)) {
      *provider = p;
      return true;
    }
  }
  o.Error("provider", "must be \"gmail\" or \"m365\", got " + Shown(json(text)));
  return false;
}

// The server block's limits and budgets; the provider preset fills what it does not set.
void ParseBudgets(const Obj& o, ServerConfig* s) {
  ParseProvider(o, &s->provider);
  uint64_t bytes = 0;
  if (o.Uint64("bytes_per_day", 1, kMaxBytesPerDay, &bytes)) {
    s->download_bytes_per_day = s->upload_bytes_per_day = bytes;
  }
  o.Number("messages_per_second", 0, kMaxMessagesPerSecond, &s->messages_per_second);
  o.Int("budget_window_seconds", 1, kMaxBudgetWindow, &s->budget_window_seconds);
  const ProviderPreset preset = PresetOf(s->provider);
  auto fill = [&](const char* field, auto value, auto* out) {
    if (o.Has(field) || value == 0) return;
    *out = value;
    s->preset_fields.insert(field);
  };
  fill("max_connections_per_account", preset.max_connections, &s->max_connections_per_account);
  fill("max_message_size", preset.max_message_size, &s->max_message_size);
  fill("messages_per_second", preset.messages_per_second, &s->messages_per_second);
  if (!o.Has("bytes_per_day")) {
    s->download_bytes_per_day = preset.download_bytes_per_day;
    s->upload_bytes_per_day = preset.upload_bytes_per_day;
    if (bytes == 0 && (preset.download_bytes_per_day || preset.upload_bytes_per_day)) {
      s->preset_fields.insert("bytes_per_day");
    }
  }
}

void ParseSelection(Report* report, const json& root, Selection* s) {
  auto it = root.find("selection");
  if (it == root.end()) return;
  if (!it->is_object()) return report->Error("selection", "must be an object, got " + Shown(*it));
  Obj o(report, *it, "selection");
  o.WarnUnknown({"include_folders", "exclude_folders", "skip_special_use", "just_folders", "since",
                 "before", "max_age_days", "min_age_days", "min_size", "max_size",
                 "skip_cross_duplicates"});
  o.String("include_folders", &s->include_folders, kPlain);
  o.String("exclude_folders", &s->exclude_folders, kPlain);
  o.Bool("just_folders", &s->just_folders);
  o.Bool("skip_cross_duplicates", &s->skip_cross_duplicates);
  o.String("since", &s->since, kPlain);
  o.String("before", &s->before, kPlain);
  o.Int("max_age_days", 1, 100000, &s->max_age_days);
  o.Int("min_age_days", 1, 100000, &s->min_age_days);
  o.Uint64("min_size", 1, uint64_t{1} << 40, &s->min_size);
  o.Uint64("max_size", 1, uint64_t{1} << 40, &s->max_size);
  if (auto uses = it->find("skip_special_use"); uses != it->end()) {
    bool ok = uses->is_array();
    for (const json& u : ok ? *uses : json::array()) ok = ok && u.is_string();
    if (!ok) {
      o.Error("skip_special_use", "must be an array of strings such as \\Junk");
    } else {
      for (const json& u : *uses) s->skip_special_use.push_back(u.get<std::string>());
    }
  }
  for (const std::string& problem : SelectionProblems(*s)) {
    report->Error("selection", problem);
  }
}

// "store": the export store's settings, for every worker.
void ParseStore(Report* report, const json& root, Config* config) {
  auto it = root.find("store");
  if (it == root.end()) return;
  if (!it->is_object()) return report->Error("store", "must be an object, got " + Shown(*it));
  Obj o(report, *it, "store");
  o.WarnUnknown({"concurrency"});
  o.Int("concurrency", 1, kMaxStoreConcurrency, &config->store_concurrency);
}

void ParseFolderMap(Report* report, const json& root, FolderMap* m) {
  auto it = root.find("folder_map");
  if (it == root.end()) return;
  if (!it->is_object()) return report->Error("folder_map", "must be an object, got " + Shown(*it));
  Obj o(report, *it, "folder_map");
  o.WarnUnknown({"rules", "automap", "target"});
  o.Bool("automap", &m->automap);
  o.String("target", &m->target, kPlain);
  if (auto rules = it->find("rules"); rules != it->end()) {
    if (!rules->is_array()) return o.Error("rules", "must be an array, got " + Shown(*rules));
    for (size_t i = 0; i < rules->size(); ++i) {
      const json& r = (*rules)[i];
      const std::string at = absl::StrCat("folder_map.rules[", i, "]");
      if (!r.is_object()) {
        report->Error(at, "must be an object, got " + Shown(r));
        continue;
      }
      Obj rule(report, r, at);
      rule.WarnUnknown({"from", "regex", "to", "merge"});
      FolderRule out;
      rule.String("from", &out.from, kPlain);
      rule.String("regex", &out.regex, kPlain);
      rule.String("to", &out.to, kPlain);
      rule.Bool("merge", &out.merge);
      m->rules.push_back(std::move(out));
    }
  }
  for (const std::string& problem : FolderMapProblems(*m)) report->Error("folder_map", problem);
}

void ParseServer(Report* report, const json& root, ServerConfig* s) {
  auto it = root.find("server");
  if (it == root.end()) return report->Error("server", "missing");
  if (!it->is_object()) return report->Error("server", "must be an object, got " + Shown(*it));
  Obj o(report, *it, "server");
  o.WarnUnknown({"host", "port", "ssl", "starttls", "ca_file", "tls_verify",
                 "max_connections_per_account", "compress", "max_message_size", "throttle_max_wait",
                 "throttle_budget", "io_timeout", "min_rate", "provider", "bytes_per_day",
                 "messages_per_second", "budget_window_seconds", "max_line_length"});
  if (!o.Has("host")) {
    o.Error("host", "missing");
  } else if (o.String("host", &s->host, kPlain)) {
    std::string problem = HostProblem(s->host);
    if (!problem.empty()) o.Error("host", problem);
  }
  bool ssl_set = o.Bool("ssl", &s->ssl);
  o.Bool("starttls", &s->starttls);
  // "starttls": true alone means a plain connect upgraded by STARTTLS, not both.
  if (!ssl_set && s->starttls) s->ssl = false;
  if (s->ssl && s->starttls) {
    o.Error("starttls", "cannot be true together with \"ssl\": true (choose one)");
  }
  if (!o.Int("port", 1, 65535, &s->port)) s->port = s->ssl ? 993 : 143;
  o.String("ca_file", &s->ca_file, kNonEmpty);
  o.Bool("tls_verify", &s->tls_verify);
  o.Int("max_connections_per_account", 1, kMaxConnections, &s->max_connections_per_account);
  o.Bool("compress", &s->compress);
  o.Uint64("max_message_size", 1, uint64_t{1} << 40, &s->max_message_size);
  o.Int("max_line_length", 78, 1 << 24, &s->max_line_length);
  o.Int("throttle_max_wait", 1, 86400, &s->throttle_max_wait);
  o.Int("throttle_budget", 1, 30 * 86400, &s->throttle_budget);
  o.Int("io_timeout", 1, 86400, &s->io_timeout);
  o.Int("min_rate", 0, 1000000000, &s->min_rate);
  ParseBudgets(o, s);
  if (!s->ssl && !s->starttls) {
    report->Warn("server", "neither ssl nor starttls: passwords are sent in clear text");
  }
  if (!s->tls_verify) {
    report->Warn("server.tls_verify", "false: server certificates and host names are not verified");
  }
}

bool ParseAuth(const Obj& o, AuthKind* kind) {
  std::string text;
  if (!o.String("auth", &text, kPlain)) return false;
  static const std::pair<const char*, AuthKind> kKinds[] = {
      {"login", AuthKind::kLogin},
      {"plain", AuthKind::kPlain},
      {"xoauth2", AuthKind::kXoauth2},
      {"oauthbearer", AuthKind::kOauthBearer}};
  for (const auto& [name, k] : kKinds) {
    if (absl::AsciiStrToLower(text) == name) {
      *kind = k;
      return true;
    }
  }
  o.Error("auth", absl::StrCat("must be one of \"login\", \"plain\", \"xoauth2\", ",
                               "\"oauthbearer\", got ", Shown(json(text))));
  return false;
}

bool IsOauth(AuthKind k) { return k == AuthKind::kXoauth2 || k == AuthKind::kOauthBearer; }

// Checks which secret the account authenticates with, given its auth kind.
void CheckCredentials(Report* report, const Obj& o, const Account& a) {
  const char* kOauthFields[] = {"oauth2_token", "oauth2_token_file", "oauth2_token_command"};
  if (IsOauth(a.auth)) {
    int sources = 0;
    for (const char* f : kOauthFields) sources += o.Has(f) ? 1 : 0;
    std::string kind = absl::StrCat("with \"auth\": \"", AuthKindName(a.auth), "\"");
    if (sources == 0) {
      o.Error("", "needs one of oauth2_token, oauth2_token_file, oauth2_token_command " + kind);
    } else if (sources > 1) {
      o.Error("", "set only one of oauth2_token, oauth2_token_file, oauth2_token_command");
    }
    if (o.Has("password")) report->Warn(o.Path("password"), "ignored " + kind);
    return;
  }
  if (!o.Has("password")) o.Error("password", "missing");
  for (const char* f : kOauthFields) {
    if (o.Has(f)) o.Error(f, "only used with \"auth\": \"xoauth2\" or \"oauthbearer\"");
  }
}

void ParseAccount(Report* report, const json& j, int index, Account* a) {
  a->index = index;
  Obj o(report, j, absl::StrCat("accounts[", index, "]"));
  o.WarnUnknown({"email", "login", "password", "auth", "authzid", "oauth2_token",
                 "oauth2_token_file", "oauth2_token_command", "oauth2_token_max_age",
                 "max_connections", "bytes_per_day", "messages_per_second"});
  if (!o.Has("email")) {
    o.Error("email", "missing");
  } else if (o.String("email", &a->email, kPlain)) {
    std::string problem = EmailProblem(a->email);
    if (!problem.empty()) o.Error("email", problem);
  }
  if (!o.String("login", &a->login, kNonEmpty)) a->login = a->email;
  o.String("password", &a->password, kSecret | kNonEmpty);
  ParseAuth(o, &a->auth);
  if (o.String("authzid", &a->authzid, kNonEmpty) && a->auth != AuthKind::kPlain) {
    o.Error("authzid", "only allowed with \"auth\": \"plain\"");
  }
  o.String("oauth2_token", &a->oauth2_token, kSecret | kNonEmpty);
  o.String("oauth2_token_file", &a->oauth2_token_file, kNonEmpty);
  o.String("oauth2_token_command", &a->oauth2_token_command, kSecret | kNonEmpty);
  if (o.Int("oauth2_token_max_age", 1, kMaxTokenMaxAge, &a->oauth2_token_max_age) &&
      !(IsOauth(a->auth) && (o.Has("oauth2_token_file") || o.Has("oauth2_token_command")))) {
    o.Error("oauth2_token_max_age", "only used with oauth2_token_file or oauth2_token_command");
  }
  o.Int("max_connections", 1, kMaxConnections, &a->max_connections);
  o.Uint64("bytes_per_day", 1, kMaxBytesPerDay, &a->bytes_per_day);
  o.Number("messages_per_second", 0, kMaxMessagesPerSecond, &a->messages_per_second);
  CheckCredentials(report, o, *a);
}

void ParseAccounts(Report* report, const json& root, std::vector<Account>* accounts) {
  auto it = root.find("accounts");
  if (it == root.end()) return report->Error("accounts", "missing");
  if (!it->is_array()) return report->Error("accounts", "must be an array, got " + Shown(*it));
  if (it->empty()) return report->Error("accounts", "must list at least one account");
  std::map<std::string, int> seen;  // lower-cased email → first index
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    std::string base = absl::StrCat("accounts[", i, "]");
    if (!item.is_object()) {
      report->Error(base, "must be an object, got " + Shown(item));
      continue;
    }
    Account a;
    ParseAccount(report, item, static_cast<int>(i), &a);
    if (!a.email.empty()) {
      auto [pos, inserted] = seen.emplace(absl::AsciiStrToLower(a.email), a.index);
      if (!inserted) {
        report->Error(base + ".email",
                      absl::StrFormat("duplicate of accounts[%d].email (%s, case-insensitive)",
                                      pos->second, Shown(json(a.email))));
      }
    }
    accounts->push_back(std::move(a));
  }
}

// Tracks the field path while reading the JSON to report duplicate keys (which nlohmann
// would silently collapse to the last one). A SAX handler, run over text that already
// parsed: linear in the document (nlohmann's callback parser rescans an array's elements at
// the end of each one, quadratic in the number of accounts).
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool null() override { return ElementDone(); }
  bool boolean(bool) override { return ElementDone(); }
  bool number_integer(number_integer_t) override { return ElementDone(); }
  bool number_unsigned(number_unsigned_t) override { return ElementDone(); }
  bool number_float(number_float_t, const string_t&) override { return ElementDone(); }
  bool string(string_t&) override { return ElementDone(); }
  bool binary(binary_t&) override { return ElementDone(); }
  bool start_object(std::size_t) override {
    frames_.push_back(Frame{false, 0, "", {}});
    return true;
  }
  bool key(string_t& key) override {
    if (frames_.empty()) return true;
    frames_.back().key = key;
    if (!frames_.back().keys.insert(key).second && first_.empty()) first_ = CurrentPath();
    return true;
  }
  bool end_object() override { return EndStructured(); }
  bool start_array(std::size_t) override {
    frames_.push_back(Frame{true, 0, "", {}});
    return true;
  }
  bool end_array() override { return EndStructured(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;  // not reached: the text parsed before
  }
  const std::string& first_duplicate() const { return first_; }

 private:
  struct Frame {
    bool array;
    size_t index;
    std::string key;
    std::set<std::string> keys;
  };
  bool ElementDone() {
    if (!frames_.empty() && frames_.back().array) frames_.back().index++;
    return true;
  }
  bool EndStructured() {
    if (!frames_.empty()) frames_.pop_back();
    return ElementDone();
  }
  std::string CurrentPath() const {
    std::string path;
    for (const Frame& f : frames_) {
      if (f.array) {
        absl::StrAppend(&path, "[", f.index, "]");
      } else {
        absl::StrAppend(&path, path.empty() ? "" : ".", f.key);
      }
    }
    return path;
  }
  std::vector<Frame> frames_;
  std::string first_;
};

// "syntax error while parsing object - unexpected end of input" etc., without the
// "last read: '...'" part nlohmann adds (it may contain the file's content).
std::string SafeSyntaxProblem(const std::string& what) {
  size_t start = what.find("syntax error");
  if (start == std::string::npos) return "invalid JSON";
  std::string problem = what.substr(start);
  size_t cut = problem.find("; last read");
  if (cut != std::string::npos) problem.resize(cut);
  return problem;
}

absl::Status SyntaxError(absl::string_view text, const std::string& path,
                         const json::parse_error& e) {
  // e.byte is the 1-based index of the last character read.
  size_t pos = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
  size_t line_start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
  if (pos == 0 || line_start == absl::string_view::npos) line_start = static_cast<size_t>(-1);
  size_t column = pos - (line_start + 1) + 1;
  return absl::InvalidArgumentError(absl::StrFormat("%s: invalid JSON at line %d, column %d: %s",
                                                    path, line, column,
                                                    SafeSyntaxProblem(e.what())));
}

// Microsoft 365 takes only XOAUTH2 over IMAP (basic authentication is off).
void WarnProviderAuth(Report* report, const Config& c) {
  if (c.server.provider != Provider::kM365) return;
  for (const Account& a : c.accounts) {
    if (a.auth == AuthKind::kXoauth2) continue;
    report->Warn(absl::StrCat("accounts[", a.index, "].auth"),
                 "Microsoft 365 (\"provider\": \"m365\") takes only XOAUTH2: set \"auth\": "
                 "\"xoauth2\" and a token (oauth2_token_file or oauth2_token_command)");
  }
}

bool HasInlineSecrets(const Config& c) {
  return std::any_of(c.accounts.begin(), c.accounts.end(), [](const Account& a) {
    return !a.password.empty() || !a.oauth2_token.empty();
  });
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view text, const std::string& path) {
  json root;
  DuplicateKeyFinder dups;
  try {
    root = json::parse(text.begin(), text.end());
    json::sax_parse(text.begin(), text.end(), &dups);
  } catch (const json::parse_error& e) {
    return SyntaxError(text, path, e);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  }
  if (!dups.first_duplicate().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", dups.first_duplicate(), ": duplicate field"));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": must be a JSON object with \"server\" and \"accounts\", got ", Shown(root)));
  }
  Config config;
  config.path = path;
  Report report(path);
  try {
    Obj(&report, root, "").WarnUnknown({"server", "accounts", "selection", "folder_map", "store"});
    ParseServer(&report, root, &config.server);
    ParseAccounts(&report, root, &config.accounts);
    ParseSelection(&report, root, &config.selection);
    ParseFolderMap(&report, root, &config.folder_map);
    ParseStore(&report, root, &config);
    WarnProviderAuth(&report, config);
  } catch (const std::exception& e) {  // not expected: every access is type-checked
    return absl::InternalError(absl::StrCat(path, ": unexpected error while validating"));
  }
  RETURN_IF_ERROR(report.ToStatus());
  config.warnings = std::move(report.warnings());
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  struct stat st;
  ASSIGN_OR_RETURN(std::string text,
                   internal::ReadFileBounded(path, internal::kMaxConfigBytes, &st));
  ASSIGN_OR_RETURN(Config config, ParseConfig(text, path));
  if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 && HasInlineSecrets(config)) {
    const char* how = (st.st_mode & 044) != 0 ? "readable" : "accessible";
    config.warnings.insert(
        config.warnings.begin(),
        absl::StrFormat("%s: %s by others (mode %04o); it holds passwords: chmod 600 %s", path, how,
                        st.st_mode & 07777, path));
  }
  return config;
}

std::string DefaultConfigPath(absl::string_view mode) {
  if (mode == "export" || mode == "test") return "export.pass.config.json";
  if (mode == "import" || mode == "validate") return "import.pass.config.json";
  return "";
}

const char* AuthKindName(AuthKind kind) {
  switch (kind) {
    case AuthKind::kAuto:
      return "auto";
    case AuthKind::kLogin:
      return "login";
    case AuthKind::kPlain:
      return "plain";
    case AuthKind::kXoauth2:
      return "xoauth2";
    case AuthKind::kOauthBearer:
      return "oauthbearer";
  }
  return "auto";
}

}  // namespace config
