// gRPC side of rpc::MakeChannel.
#include "common/rpc/channel_client.h"

#include "grpcpp/grpcpp.h"

namespace rpc {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const TlsMaterial& tls) {
  grpc::ChannelArguments args;
  if (!tls.tls) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.ca_pem;
  ssl.pem_cert_chain = tls.cert_pem;
  ssl.pem_private_key = tls.key_pem;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

}  // namespace rpc
