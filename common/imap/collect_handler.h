// Response handlers shared by the command implementations. Internal to
// common/imap.
#ifndef MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_
#define MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_

#include <string>
#include <vector>

#include "common/imap/commands.h"
#include "common/imap/session.h"

namespace imap {

// Keeps the untagged data responses of one name ("LIST", "SEARCH").
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

// Collects what a SELECT or EXAMINE reports about the mailbox.
class SelectHandler : public ResponseHandler {
 public:
  explicit SelectHandler(bool read_only) : read_only_(read_only) {}
  absl::Status OnUntagged(const Response& r) override;
  // The mailbox once the command completed with `result`: an error (naming the
  // mailbox) for NO/BAD or a mailbox without UIDVALIDITY.
  absl::StatusOr<SelectedMailbox> Finish(const Session& session, absl::string_view mailbox,
                                         const CommandResult& result);
  SelectedMailbox box;

 private:
  bool read_only_;
};

}  // namespace imap

#endif  // MIGRATOR_COMMON_IMAP_COLLECT_HANDLER_H_
