// A FetchSink that keeps everything it receives, for tests.
#ifndef MIGRATOR_COMMON_IMAP_TESTING_RECORDING_SINK_H_
#define MIGRATOR_COMMON_IMAP_TESTING_RECORDING_SINK_H_

#include <algorithm>
#include <string>
#include <vector>

#include "common/imap/commands.h"

namespace imap::testing {

class RecordingSink : public FetchSink {
 public:
  absl::Status BodyBegin(uint64_t seq, uint64_t size) override {
    current.clear();
    max_chunk = 0;
    announced = size;
    return absl::OkStatus();
  }
  absl::Status BodyData(absl::string_view chunk) override {
    max_chunk = std::max(max_chunk, chunk.size());
    current.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  }
  absl::Status BodyEnd() override {
    bodies.push_back(current);
    return absl::OkStatus();
  }
  absl::Status OnMessage(const FetchedMessage& m) override {
    messages.push_back(m);
    return absl::OkStatus();
  }
  std::string current;
  size_t max_chunk = 0;
  uint64_t announced = 0;
  std::vector<std::string> bodies;
  std::vector<FetchedMessage> messages;
};

}  // namespace imap::testing

#endif  // MIGRATOR_COMMON_IMAP_TESTING_RECORDING_SINK_H_
