// Tests only: one unary gRPC call by method name ("/pkg.Service/Method") without generated
// stubs, plaintext, with a 10 s deadline. Returns the call's status; parses the reply into
// `*reply` when it is OK.
#ifndef MIGRATOR_COMMON_RPC_TESTING_UNARY_CALL_H_
#define MIGRATOR_COMMON_RPC_TESTING_UNARY_CALL_H_

#include <string>

#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace rpc_testing {

grpc::Status UnaryCall(const std::string& address, const std::string& method,
                       const google::protobuf::Message& request, google::protobuf::Message* reply);

}  // namespace rpc_testing

#endif  // MIGRATOR_COMMON_RPC_TESTING_UNARY_CALL_H_
