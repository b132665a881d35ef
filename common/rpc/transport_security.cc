#include "common/rpc/transport_security.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rpc {
namespace {

// "host" of "host:port", "[v6]:port", "ipv4:h:p", "ipv6:[h]:p", "dns:///h:p".
std::string HostOf(std::string a) {
  for (const char* scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(a, scheme)) {
      a = a.substr(std::strlen(scheme));
      break;
    }
  }
  if (absl::StartsWith(a, "[")) {
    size_t close = a.find(']');
    return close == std::string::npos ? a : a.substr(1, close - 1);
  }
  size_t colon = a.rfind(':');
  if (colon != std::string::npos && a.find(':') == colon) a = a.substr(0, colon);
  return a;
}

bool IsLoopbackHost(const std::string& host) {
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& flag, bool secret,
                                    std::string* warning) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string why = std::strerror(errno);
    std::string msg = absl::StrCat(flag, " ", path, ": ", why);
    return errno == EACCES ? absl::PermissionDeniedError(msg) : absl::NotFoundError(msg);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN")) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": not a PEM file"));
  }
  struct stat st;
  if (secret && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    *warning = absl::StrCat(flag, " ", path, " is readable by other users (chmod 600 it)");
  }
  return text.str();
}

absl::Status CheckCombination(const TlsFlags& f, Role role) {
  bool any = !f.cert_file.empty() || !f.key_file.empty() || !f.ca_file.empty();
  if (any && f.insecure) {
    return absl::InvalidArgumentError(
        "--insecure cannot be combined with --tls-cert/--tls-key/--tls-ca");
  }
  if (f.cert_file.empty() != f.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (role == Role::kServer && any && (f.cert_file.empty() || f.ca_file.empty())) {
    return absl::InvalidArgumentError(
        "TLS on the coordinator needs --tls-cert, --tls-key and --tls-ca (the "
        "CA that signs the workers' client certificates)");
  }
  if (role == Role::kClient && any && f.ca_file.empty()) {
    return absl::InvalidArgumentError("TLS needs --tls-ca to verify the coordinator's certificate");
  }
  if (role == Role::kServer && !f.server_name.empty()) {
    return absl::InvalidArgumentError("--tls-server-name is for clients");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLocalAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  return IsLoopbackHost(HostOf(address));
}

absl::StatusOr<TlsMaterial> ResolveTransport(const TlsFlags& f, Role role,
                                             const std::string& address, std::string* warning) {
  warning->clear();
  if (absl::Status st = CheckCombination(f, role); !st.ok()) return st;
  TlsMaterial m;
  m.tls = !f.ca_file.empty();
  if (!m.tls) {
    if (IsLocalAddress(address)) return m;
    if (!f.insecure) {
      return absl::InvalidArgumentError(
          absl::StrCat(address,
                       " is not a Unix socket or loopback address: account "
                       "passwords would cross the network in clear. Give "
                       "--tls-cert, --tls-key and --tls-ca (mutual TLS), or "
                       "--insecure to accept that risk"));
    }
    *warning = absl::StrCat(
        "INSECURE: plaintext gRPC on ", address,
        " (--insecure): account passwords travel UNENCRYPTED and anyone who "
        "can reach it can ",
        role == Role::kServer ? "pose as a worker and receive them" : "pose as the coordinator");
    return m;
  }
  std::string key_warning;
  auto ca = ReadPem(f.ca_file, "--tls-ca", false, warning);
  if (!ca.ok()) return ca.status();
  m.ca_pem = *ca;
  if (!f.cert_file.empty()) {
    auto cert = ReadPem(f.cert_file, "--tls-cert", false, warning);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(f.key_file, "--tls-key", true, &key_warning);
    if (!key.ok()) return key.status();
    m.cert_pem = *cert;
    m.key_pem = *key;
  }
  if (!key_warning.empty()) *warning = key_warning;
  m.server_name = f.server_name;
  return m;
}

}  // namespace rpc
