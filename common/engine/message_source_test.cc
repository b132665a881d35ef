// The repaired literal of --fix-messages: ScanRepair's size and counts, and RepairedSource's
// bytes read in any pieces (and again from an earlier offset, as a resend does) are those of
// the whole-message repair.
#include "common/engine/message_source.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace engine::internal {
namespace {

using namespace std::string_literals;  // NUL bytes inside literals

std::string Sample() {
  std::string s = "Subject: sample\nX-Long: " + std::string(3000, 'h') + "\n\n";
  for (int i = 0; i < 2000; ++i) s += "line \0with a bare LF\n"s;
  s += std::string(70000, 'b') + "\r\n";
  return s;
}

// Reads `source` from `offset` to its end in pieces of `piece` bytes.
std::string ReadFrom(const imap::LiteralSource& source, uint64_t offset, size_t piece) {
  std::string out;
  std::string buf(piece, '\0');
  while (offset < source.size()) {
    auto n = source.ReadAt(offset, buf.data(), buf.size());
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    out.append(buf.data(), *n);
    offset += *n;
  }
  return out;
}

TEST(MessageSourceTest, ScanAndRepairedSourceAgreeWithTheWholeMessageRepair) {
  const imap::RepairOptions options{998};
  const std::string original = Sample();
  const imap::RepairedMessage want = imap::RepairMessage(original, options);
  auto source = std::make_shared<imap::StringLiteralSource>(original);
  auto scan = ScanRepair(*source, options);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->size, want.bytes.size());
  EXPECT_EQ(scan->counts.Describe(), want.counts.Describe());
  EXPECT_EQ(scan->counts.nul_bytes, 2000u);

  RepairedSource repaired(source, options, scan->size);
  for (size_t piece : {1u, 7u, 4096u, 256u * 1024}) {
    EXPECT_EQ(ReadFrom(repaired, 0, piece), want.bytes) << piece;
  }
  // A read at an earlier offset (a resend after a refused batch) starts over.
  EXPECT_EQ(ReadFrom(repaired, 5000, 999), want.bytes.substr(5000));
  EXPECT_EQ(ReadFrom(repaired, 17, 64), want.bytes.substr(17));
}

TEST(MessageSourceTest, ALengthOtherThanTheScannedOneIsDataLoss) {
  const std::string original = "a\nb\n";
  auto source = std::make_shared<imap::StringLiteralSource>(original);
  char buf[64];
  RepairedSource shorter(source, imap::RepairOptions{}, 3);  // the repair gives 6 bytes
  EXPECT_TRUE(absl::IsDataLoss(shorter.ReadAt(0, buf, sizeof(buf)).status()));
  RepairedSource longer(source, imap::RepairOptions{}, 9);
  auto n = longer.ReadAt(0, buf, sizeof(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buf, *n), "a\r\nb\r\n");
  EXPECT_TRUE(absl::IsDataLoss(longer.ReadAt(*n, buf, sizeof(buf)).status()));
}

}  // namespace
}  // namespace engine::internal
