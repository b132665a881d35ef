// A ResponseHandler that keeps the untagged data responses of one name ("LIST", "SEARCH").
// Internal to common/imap.
#ifndef MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_
#define MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_

#include <string>
#include <vector>

#include "common/imap/session.h"

namespace imap {

class CollectHandler : public ResponseHandler {
 public:
  explicit CollectHandler(std::string name) : name_(std::move(name)) {}
  absl::Status OnUntagged(const Response& r) override {
    if (r.status == StatusKind::kNone && r.name == name_) responses.push_back(r);
    return absl::OkStatus();
  }
  std::vector<Response> responses;

 private:
  std::string name_;
};

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_
