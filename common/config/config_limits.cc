// Provider presets and an account's effective limits (README "Budgets").
#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/config/config.h"

namespace config {

ProviderPreset PresetOf(Provider provider) {
  ProviderPreset p;
  switch (provider) {
    case Provider::kGmail:
      // Google's published IMAP limits: 15 simultaneous connections per account; about
      // 2,500 MB downloaded and 500 MB uploaded per day (read as decimal megabytes, below
      // the binary reading, which leaves room for what a stop leaves in flight); and the
      // APPENDLIMIT Gmail advertises.
      p.max_connections = 15;
      p.download_bytes_per_day = 2'500'000'000;
      p.upload_bytes_per_day = 500'000'000;
      p.max_message_size = 35'651'584;
      break;
    case Provider::kM365:
      // No published IMAP budget; conservative choices (README "Budgets"): 8 connections,
      // half of Exchange's default MaxConnectionsPerUser (16), under the 20 IMAP connections
      // of Exchange Online's throttling FAQ; 10 messages/s per account, below which
      // Exchange's "Suggested Backoff Time" throttles are rare; 35 MB appends (not
      // advertised).
      p.max_connections = 8;
      p.messages_per_second = 10;
      p.max_message_size = 36'700'160;
      break;
    case Provider::kNone:
      break;
  }
  return p;
}

const char* ProviderName(Provider provider) {
  switch (provider) {
    case Provider::kGmail:
      return "gmail";
    case Provider::kM365:
      return "m365";
    case Provider::kNone:
      return "";
  }
  return "";
}

AccountLimits LimitsOf(const ServerConfig& server, const Account& account, Direction direction) {
  AccountLimits out;
  out.max_connections =
      std::max(1, account.max_connections > 0 ? account.max_connections
                                              : server.max_connections_per_account);
  out.messages_per_second =
      account.messages_per_second > 0 ? account.messages_per_second : server.messages_per_second;
  if (direction != Direction::kNone) {
    out.bytes_per_day = account.bytes_per_day > 0           ? account.bytes_per_day
                        : direction == Direction::kDownload ? server.download_bytes_per_day
                                                            : server.upload_bytes_per_day;
  }
  return out;
}

std::string ConnectionKey(const Account& account) {
  const std::string& who = !account.authzid.empty() ? account.authzid
                           : !account.login.empty() ? account.login
                                                    : account.email;
  return absl::AsciiStrToLower(who);
}

}  // namespace config
