// WriteConfig: the config as pretty JSON (seed key order), written atomically with 0600.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/sys/file.h"
#include "nlohmann/json.hpp"

namespace config {
namespace {

using ojson = nlohmann::ordered_json;

// host, port and ssl are always written (as in the seed's examples); everything else
// only when it differs from its default.
ojson ServerJson(const ServerConfig& s) {
  ojson j;
  j["host"] = s.host;
  j["port"] = s.port;
  j["ssl"] = s.ssl;
  if (s.starttls) j["starttls"] = true;
  if (!s.ca_file.empty()) j["ca_file"] = s.ca_file;
  if (!s.tls_verify) j["tls_verify"] = false;
  if (s.compress) j["compress"] = true;
  auto from_file = [&s](const char* field) { return s.preset_fields.count(field) == 0; };
  if (s.max_connections_per_account != ServerConfig().max_connections_per_account &&
      from_file("max_connections_per_account")) {
    j["max_connections_per_account"] = s.max_connections_per_account;
  }
  if (s.throttle_max_wait != ServerConfig().throttle_max_wait) {
    j["throttle_max_wait"] = s.throttle_max_wait;
  }
  if (s.throttle_budget != ServerConfig().throttle_budget) {
    j["throttle_budget"] = s.throttle_budget;
  }
  if (s.max_line_length != ServerConfig().max_line_length) {
    j["max_line_length"] = s.max_line_length;
  }
  if (s.io_timeout != ServerConfig().io_timeout) j["io_timeout"] = s.io_timeout;
  if (s.min_rate != ServerConfig().min_rate) j["min_rate"] = s.min_rate;
  // Budgets: the provider, and what the file set beyond its preset ("bytes_per_day" set
  // both directions alike).
  if (s.provider != Provider::kNone) j["provider"] = ProviderName(s.provider);
  if (s.download_bytes_per_day != 0 && from_file("bytes_per_day")) {
    j["bytes_per_day"] = s.download_bytes_per_day;
  }
  if (s.messages_per_second != 0 && from_file("messages_per_second")) {
    j["messages_per_second"] = s.messages_per_second;
  }
  if (s.budget_window_seconds != ServerConfig().budget_window_seconds) {
    j["budget_window_seconds"] = s.budget_window_seconds;
  }
  return j;
}

ojson AccountJson(const Account& a) {
  ojson j;
  j["email"] = a.email;
  if (!a.login.empty() && a.login != a.email) j["login"] = a.login;
  if (!a.password.empty()) j["password"] = a.password;
  if (a.auth != AuthKind::kAuto) j["auth"] = AuthKindName(a.auth);
  if (!a.authzid.empty()) j["authzid"] = a.authzid;
  if (!a.oauth2_token.empty()) j["oauth2_token"] = a.oauth2_token;
  if (!a.oauth2_token_file.empty()) j["oauth2_token_file"] = a.oauth2_token_file;
  if (!a.oauth2_token_command.empty()) j["oauth2_token_command"] = a.oauth2_token_command;
  if (a.oauth2_token_max_age != 0) j["oauth2_token_max_age"] = a.oauth2_token_max_age;
  if (a.max_connections != 0) j["max_connections"] = a.max_connections;
  if (a.bytes_per_day != 0) j["bytes_per_day"] = a.bytes_per_day;
  if (a.messages_per_second != 0) j["messages_per_second"] = a.messages_per_second;
  return j;
}

}  // namespace

std::string ConfigToJson(const Config& config) {
  ojson root;
  root["server"] = ServerJson(config.server);
  ojson accounts = ojson::array();
  for (const Account& a : config.accounts) accounts.push_back(AccountJson(a));
  root["accounts"] = std::move(accounts);
  if (config.store_concurrency != 0) root["store"] = {{"concurrency", config.store_concurrency}};
  // replace: never throw on invalid UTF-8 (the strings came from a validated file).
  return root.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

absl::Status WriteConfig(const Config& config, const std::string& path) {
  return sys::WriteFileAtomically(path, ConfigToJson(config), {0600, /*overwrite=*/true});
}

absl::Status WriteConfigIfAbsent(const Config& config, const std::string& path) {
  return sys::WriteFileAtomically(path, ConfigToJson(config), {0600, /*overwrite=*/false});
}

}  // namespace config
