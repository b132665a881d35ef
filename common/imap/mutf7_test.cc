#include "common/imap/mutf7.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace imap {
namespace {

void ExpectPair(const std::string& utf8, const std::string& mutf7) {
  absl::StatusOr<std::string> encoded = Utf8ToMutf7(utf8);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, mutf7);
  absl::StatusOr<std::string> decoded = Mutf7ToUtf8(mutf7);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, utf8);
}

TEST(Mutf7Test, Rfc3501Example) {
  // "~peter/mail/" + U+65E5 U+672C U+8A9E "/" U+53F0 U+5317
  ExpectPair(
      "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

TEST(Mutf7Test, AmpersandAndAscii) {
  ExpectPair("&", "&-");
  ExpectPair("Tom & Jerry", "Tom &- Jerry");
  ExpectPair("&&", "&-&-");
  ExpectPair("", "");
  ExpectPair("INBOX/Sent Items", "INBOX/Sent Items");
  ExpectPair("~!@#$%^*()_+-=[]{}|;':\",./<>?`\\", "~!@#$%^*()_+-=[]{}|;':\",./<>?`\\");
}

TEST(Mutf7Test, CommonNames) {
  ExpectPair(
      "Entw\xc3\xbc"
      "rfe",
      "Entw&APw-rfe");
  ExpectPair("Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente");
  ExpectPair("\xc3\xa9&", "&AOk-&-");
  ExpectPair("&\xc3\xa9", "&-&AOk-");
  ExpectPair(
      "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd"
      "\xd0\xbd\xd1\x8b\xd0\xb5",
      "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
  ExpectPair(std::string("a\0b", 3), "a&AAA-b");  // controls are encoded
  ExpectPair("\x7f", "&AH8-");
}

TEST(Mutf7Test, NonBmpSurrogatePairs) {
  ExpectPair("\xf0\x9f\x93\xa7", "&2D3c5w-");  // U+1F4E7 E-MAIL SYMBOL
  ExpectPair("x\xf0\x9f\x98\x80y\xf4\x8f\xbf\xbf",
             "x&2D3eAA-y&2,,f,w-");  // U+10FFFF
}

TEST(Mutf7Test, RejectsNonCanonicalAndInvalid) {
  for (const char* bad : {
           "&AGE-",        // 'a' encoded
           "&ACY-",        // '&' encoded
           "&",            // lone '&'
           "&AOk",         // unterminated
           "&-&",          // trailing lone '&'
           "&AOkA-",       // superfluous base64 character
           "&AOl-",        // non-zero padding bits
           "&AOk-&AOk-",   // adjacent runs must be one
           "&AA-",         // no complete UTF-16 unit
           "&2D0-",        // high surrogate alone
           "&3,c-",        // low surrogate alone
           "&2D3YPQ-",     // high surrogate followed by high
           "&AOk=-",       // '=' is not base64 here
           "&AOk/-",       // '/' is ',' in modified base64
           "caf\xc3\xa9",  // 8-bit bytes
           "tab\there",    // control character
           "&AOk-x&AO@-",  // invalid base64 character
       }) {
    absl::StatusOr<std::string> r = Mutf7ToUtf8(bad);
    EXPECT_FALSE(r.ok()) << bad << " -> " << *r;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("at byte"), absl::string_view::npos);
    }
  }
}

TEST(Mutf7Test, EncodeRejectsInvalidUtf8) {
  for (const char* bad : {
           "\xff", "\xc3", "\xc0\xaf",  // bad lead, truncated, overlong
           "\xe0\x80\xaf",              // overlong
           "\xed\xa0\x80",              // surrogate
           "\xf4\x90\x80\x80",          // above U+10FFFF
           "a\x80", "\xe6\x97",         // stray continuation, truncated
       }) {
    absl::StatusOr<std::string> r = Utf8ToMutf7(bad);
    EXPECT_FALSE(r.ok()) << *r;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

uint32_t RandomCodePoint(std::mt19937* rng) {
  switch ((*rng)() % 4) {
    case 0:
      return 0x20 + (*rng)() % 0x5f;  // printable ASCII, '&' included
    case 1:
      return (*rng)() % 0x800;
    case 2: {
      uint32_t cp = (*rng)() % 0x10000;
      return (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp;
    }
    default:
      return 0x10000 + (*rng)() % 0x100000;
  }
}

TEST(Mutf7Test, RandomRoundTrip) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string utf8;
    int n = rng() % 12;
    for (int k = 0; k < n; ++k) AppendUtf8(RandomCodePoint(&rng), &utf8);
    absl::StatusOr<std::string> encoded = Utf8ToMutf7(utf8);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    for (char c : *encoded) ASSERT_TRUE(c >= 0x20 && c <= 0x7e) << *encoded;
    absl::StatusOr<std::string> decoded = Mutf7ToUtf8(*encoded);
    ASSERT_TRUE(decoded.ok()) << *encoded << ": " << decoded.status();
    ASSERT_EQ(*decoded, utf8);
  }
}

// Random printable strings made of mUTF-7 ingredients: whatever decodes must
// re-encode to the same bytes (the decoder accepts canonical forms only).
TEST(Mutf7Test, RandomDecodeIsCanonical) {
  std::mt19937 rng(777);
  const std::string alphabet = "&-AOkZeVn2D3c5wab,+=/ ";
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string s;
    int n = rng() % 10;
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    absl::StatusOr<std::string> decoded = Mutf7ToUtf8(s);
    if (!decoded.ok()) continue;
    ++accepted;
    absl::StatusOr<std::string> encoded = Utf8ToMutf7(*decoded);
    ASSERT_TRUE(encoded.ok());
    ASSERT_EQ(*encoded, s);
  }
  EXPECT_GT(accepted, 1000);
}

}  // namespace
}  // namespace imap
