// A gRPC channel to the coordinator with the credentials a TlsMaterial asks
// for (mutual TLS or plaintext). This header has no gRPC include; only
// channel_client.cc does.
#ifndef MIGRATOR_COMMON_RPC_CHANNEL_CLIENT_H_
#define MIGRATOR_COMMON_RPC_CHANNEL_CLIENT_H_

#include <memory>
#include <string>

#include "common/rpc/transport_security.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace rpc {

// Lazily connecting, like grpc::CreateChannel. With TLS the server's chain is
// verified against ca_pem and its name against the address's host (or
// server_name when set); cert_pem/key_pem are presented as the client
// certificate when set.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const TlsMaterial& tls);

}  // namespace rpc

#endif  // MIGRATOR_COMMON_RPC_CHANNEL_CLIENT_H_
