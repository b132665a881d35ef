#include "common/engine/layout.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/crypto/sha256.h"
#include "nlohmann/json.hpp"

namespace engine {
namespace {

constexpr size_t kMaxComponent = 200;

bool MustEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7f) return true;
  switch (c) {
    case '%':
    case '/':
    case '\\':
    case ':':
    case '*':
    case '?':
    case '"':
    case '<':
    case '>':
    case '|':
      return true;
    default:
      return false;
  }
}

void AppendEscaped(std::string* out, unsigned char c) { absl::StrAppendFormat(out, "%%%02X", c); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <typename T>
absl::StatusOr<T> ParseJson(absl::string_view json, absl::string_view what,
                            T (*convert)(const nlohmann::json&)) {
  try {
    return convert(nlohmann::json::parse(json.begin(), json.end()));
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("corrupt ", what, ": ", e.what()));
  }
}

}  // namespace

std::string EscapeComponent(absl::string_view component) {
  if (component.empty()) return "%-";
  // The '.' that must be escaped: a leading one, and the one of a file-like suffix.
  size_t suffix_dot = std::string::npos;
  for (absl::string_view ext : {".eml", ".json"}) {
    if (absl::EndsWithIgnoreCase(component, ext)) suffix_dot = component.size() - ext.size();
  }
  std::string out;
  for (size_t i = 0; i < component.size(); ++i) {
    unsigned char c = component[i];
    if (MustEscape(c) || (c == '.' && (i == 0 || i == suffix_dot))) {
      AppendEscaped(&out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (out.size() <= kMaxComponent) return out;
  size_t cut = kMaxComponent;
  // Do not split a %XX escape or a UTF-8 sequence.
  while (cut > 0 && (out[cut - 1] == '%' || (cut > 1 && out[cut - 2] == '%') ||
                     (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)) {
    --cut;
  }
  return absl::StrCat(out.substr(0, cut), "%~", crypto::Sha256Hex(component).substr(0, 16));
}

absl::StatusOr<std::string> UnescapeComponent(absl::string_view escaped) {
  if (escaped == "%-") return std::string();
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '%') {
      out.push_back(escaped[i]);
      continue;
    }
    int hi = i + 2 < escaped.size() ? HexValue(escaped[i + 1]) : -1;
    int lo = i + 2 < escaped.size() ? HexValue(escaped[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("not an escaped component: ", escaped));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string FolderPath(absl::string_view utf8_name, char delimiter) {
  std::vector<absl::string_view> parts;
  if (delimiter == 0) {
    parts.push_back(utf8_name);
  } else {
    parts = absl::StrSplit(utf8_name, delimiter);
  }
  std::string out;
  for (absl::string_view p : parts) {
    if (!out.empty()) out.push_back('/');
    out += EscapeComponent(p);
  }
  return out;
}

std::string FolderPrefix(absl::string_view email, absl::string_view folder_path) {
  return absl::StrCat(email, "/", folder_path, "/");
}

std::string MessageBase(uint64_t uidvalidity, uint32_t uid) {
  return absl::StrFormat("%d-%010d", uidvalidity, uid);
}

bool ParseMessageBase(absl::string_view base, uint64_t* uidvalidity, uint32_t* uid) {
  size_t dash = base.find('-');
  if (dash == absl::string_view::npos || dash == 0 || base.size() - dash - 1 != 10) return false;
  for (char c : base) {
    if (c != '-' && !absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(base.substr(0, dash), uidvalidity) &&
         absl::SimpleAtoi(base.substr(dash + 1), uid) && *uid > 0;
}

std::string FolderMetaToJson(const FolderMeta& m) {
  nlohmann::json claimed = nlohmann::json::object();
  for (const auto& [uid, base] : m.claimed) claimed[std::to_string(uid)] = base;
  nlohmann::json j = {{"name", m.name},
                      {"raw_name", m.raw_name},
                      {"delimiter", m.delimiter},
                      {"special_use", m.special_use},
                      {"attributes", m.attributes},
                      {"namespace_prefix", m.namespace_prefix},
                      {"uidvalidity", m.uidvalidity},
                      {"claimed", claimed}};
  if (m.gmail_all_mail) j["gmail_all_mail"] = true;
  if (!m.gmail_label.empty()) j["gmail_label"] = m.gmail_label;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {
FolderMeta FolderFrom(const nlohmann::json& j) {
  FolderMeta m;
  m.name = j.at("name").get<std::string>();
  m.raw_name = j.at("raw_name").get<std::string>();
  m.delimiter = j.value("delimiter", "");
  m.special_use = j.value("special_use", "");
  m.attributes = j.value("attributes", std::vector<std::string>{});
  m.namespace_prefix = j.value("namespace_prefix", "");
  m.uidvalidity = j.value("uidvalidity", uint64_t{0});
  if (j.contains("claimed")) {
    for (const auto& [k, v] : j.at("claimed").items()) {
      m.claimed[static_cast<uint32_t>(std::stoul(k))] = v.get<std::string>();
    }
  }
  m.gmail_all_mail = j.value("gmail_all_mail", false);
  m.gmail_label = j.value("gmail_label", "");
  return m;
}

MessageMeta MessageFrom(const nlohmann::json& j) {
  MessageMeta m;
  m.flags = j.at("flags").get<std::vector<std::string>>();
  m.internaldate = j.at("internaldate").get<std::string>();
  m.size = j.at("size").get<uint64_t>();
  m.sha256 = j.at("sha256").get<std::string>();
  m.message_id = j.value("message_id", "");
  m.header_digest = j.value("header_digest", "");
  if (j.contains("internaldate_raw"))
    m.internaldate_raw = j.at("internaldate_raw").get<std::string>();
  if (j.contains("rfc822_size_raw")) {
    m.size_unusable = true;
    const auto& raw = j.at("rfc822_size_raw");
    if (!raw.is_null()) m.size_raw = raw.get<std::string>();
  }
  const auto& src = j.at("source");
  m.uidvalidity = src.at("uidvalidity").get<uint64_t>();
  m.uid = src.at("uid").get<uint32_t>();
  if (j.contains("gmail_msgid")) {  // a string of digits (above 2^53: not a JSON number)
    const auto& id = j.at("gmail_msgid");
    m.gmail_msgid = id.is_string() ? std::stoull(id.get<std::string>()) : id.get<uint64_t>();
  }
  if (j.contains("gmail_labels")) {
    m.gmail_labels = j.at("gmail_labels").get<std::vector<std::string>>();
  }
  return m;
}
}  // namespace

absl::StatusOr<FolderMeta> FolderMetaFromJson(absl::string_view json) {
  return ParseJson<FolderMeta>(json, "folder metadata", &FolderFrom);
}

std::string MessageMetaToJson(const MessageMeta& m) {
  nlohmann::json j = {{"flags", m.flags},
                      {"internaldate", m.internaldate},
                      {"size", m.size},
                      {"sha256", m.sha256},
                      {"message_id", m.message_id},
                      {"source", {{"uidvalidity", m.uidvalidity}, {"uid", m.uid}}}};
  if (!m.header_digest.empty()) j["header_digest"] = m.header_digest;
  if (m.internaldate_raw) j["internaldate_raw"] = *m.internaldate_raw;
  if (m.size_unusable) {
    j["rfc822_size_raw"] = m.size_raw ? nlohmann::json(*m.size_raw) : nlohmann::json(nullptr);
  }
  if (m.gmail_msgid) j["gmail_msgid"] = std::to_string(*m.gmail_msgid);
  if (m.gmail_labels) j["gmail_labels"] = *m.gmail_labels;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<MessageMeta> MessageMetaFromJson(absl::string_view json) {
  return ParseJson<MessageMeta>(json, "message metadata", &MessageFrom);
}

namespace {
RefusalRecord RecordFrom(const nlohmann::json& j) {
  RefusalRecord r;
  r.target = j.value("target", "");
  r.updated_at = j.value("updated_at", "");
  for (const auto& m : j.at("messages")) {
    RefusedEntry e;
    e.folder = m.at("folder").get<std::string>();
    e.prefix = m.at("prefix").get<std::string>();
    e.base = m.at("base").get<std::string>();
    e.message.uidvalidity = m.value("uidvalidity", uint64_t{0});
    e.message.uid = m.value("uid", uint32_t{0});
    e.message.size = m.value("size", uint64_t{0});
    e.message.internaldate = m.value("internaldate", "");
    e.message.kind = m.value("kind", "");
    e.message.reason = m.value("reason", "");
    if (m.contains("keywords"))
      e.message.keywords = m.at("keywords").get<std::vector<std::string>>();
    r.entries.push_back(std::move(e));
  }
  return r;
}
}  // namespace

std::string RefusalRecordToJson(const RefusalRecord& r) {
  nlohmann::json messages = nlohmann::json::array();
  for (const RefusedEntry& e : r.entries) {
    nlohmann::json m = {{"folder", e.folder},
                        {"prefix", e.prefix},
                        {"base", e.base},
                        {"uidvalidity", e.message.uidvalidity},
                        {"uid", e.message.uid},
                        {"size", e.message.size},
                        {"internaldate", e.message.internaldate},
                        {"kind", e.message.kind},
                        {"reason", e.message.reason}};
    if (!e.message.keywords.empty()) m["keywords"] = e.message.keywords;
    messages.push_back(std::move(m));
  }
  nlohmann::json j = {{"target", r.target}, {"updated_at", r.updated_at}, {"messages", messages}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<RefusalRecord> RefusalRecordFromJson(absl::string_view json) {
  return ParseJson<RefusalRecord>(json, "refusal record", &RecordFrom);
}

}  // namespace engine
