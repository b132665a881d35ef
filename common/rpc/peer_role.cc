#include "common/rpc/peer_role.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"

namespace rpc {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::string Subject(X509* cert) {
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
}

}  // namespace

const char* RoleUri(PeerRole role) {
  return role == PeerRole::kWorker ? kWorkerRoleUri : kOperatorRoleUri;
}

absl::StatusOr<PeerCertificate> ReadPeerCertificate(absl::string_view pem) {
  std::unique_ptr<BIO, BioFree> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("the peer certificate does not parse");
  PeerCertificate out;
  out.subject = Subject(cert.get());
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    out.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

absl::Status CheckRole(const PeerCertificate& cert, PeerRole role) {
  const std::string uri = RoleUri(role);
  if (std::find(cert.uris.begin(), cert.uris.end(), uri) != cert.uris.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the client certificate '", cert.subject, "' may not ",
                   role == PeerRole::kWorker ? "register as a worker" : "read the status",
                   ": that needs the URI subject alternative name ", uri,
                   " (see README \"Security: mutual TLS between hosts\")"));
}

}  // namespace rpc
