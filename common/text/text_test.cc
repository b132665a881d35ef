#include "common/text/bytes.h"
#include "gtest/gtest.h"

namespace text {
namespace {

TEST(HumanBytesTest, DecimalUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(12.6), "13 B");
  EXPECT_EQ(HumanBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanBytes(1'500'000), "1.5 MB");
  EXPECT_EQ(HumanBytes(12345678), "12.3 MB");
  EXPECT_EQ(HumanBytes(2e12), "2.0 TB");
  EXPECT_EQ(HumanBytes(3e18), "3000.0 PB");
}

}  // namespace
}  // namespace text
