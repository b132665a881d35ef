// Modified UTF-7 (RFC 3501 §5.1.3). Canonical form, which the decoder insists
// on so that Utf8ToMutf7(Mutf7ToUtf8(x)) == x for every accepted x:
//  - printable US-ASCII (0x20..0x7e) other than '&' stands for itself; '&' is
//  "&-";
//  - every maximal run of other characters is one "&<base64 of UTF-16BE>-" with
//  ',' for
//    '/', no '=' padding, the fewest base64 characters and zero padding bits.
#include "common/imap/mutf7.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace imap {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool IsDirect(uint32_t c) { return c >= 0x20 && c <= 0x7e; }

absl::Status Error(absl::string_view what, size_t pos) {
  return absl::InvalidArgumentError(absl::StrCat(what, " at byte ", pos));
}

// Decodes the UTF-8 sequence at s[*i] strictly (no overlong forms, surrogates
// or values above U+10FFFF) and advances *i past it.
absl::StatusOr<uint32_t> DecodeUtf8(absl::string_view s, size_t* i) {
  const size_t at = *i;
  const unsigned char lead = static_cast<unsigned char>(s[at]);
  size_t len;
  uint32_t cp;
  uint32_t min;
  if (lead < 0x80) {
    ++*i;
    return lead;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2, cp = lead & 0x1f, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3, cp = lead & 0x0f, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return Error("modified UTF-7: invalid UTF-8 lead byte", at);
  }
  if (s.size() - at < len) return Error("modified UTF-7: truncated UTF-8", at);
  for (size_t k = 1; k < len; ++k) {
    unsigned char c = static_cast<unsigned char>(s[at + k]);
    if ((c & 0xc0) != 0x80) return Error("modified UTF-7: invalid UTF-8", at + k);
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return Error("modified UTF-7: invalid UTF-8 code point", at);
  }
  *i = at + len;
  return cp;
}

using text::AppendUtf8;

void AppendUtf16(uint32_t cp, std::vector<uint16_t>* units) {
  if (cp < 0x10000) {
    units->push_back(static_cast<uint16_t>(cp));
  } else {
    cp -= 0x10000;
    units->push_back(static_cast<uint16_t>(0xd800 | (cp >> 10)));
    units->push_back(static_cast<uint16_t>(0xdc00 | (cp & 0x3ff)));
  }
}

// Writes "&<base64>-" for `units` and clears them.
void FlushRun(std::vector<uint16_t>* units, std::string* out) {
  if (units->empty()) return;
  out->push_back('&');
  uint32_t bits = 0;
  int nbits = 0;
  for (uint16_t u : *units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out->push_back(kBase64[(bits >> nbits) & 0x3f]);
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out->push_back(kBase64[(bits << (6 - nbits)) & 0x3f]);
  out->push_back('-');
  units->clear();
}

// Decodes UTF-16 units of one encoded run into UTF-8, pairing surrogates.
class RunDecoder {
 public:
  explicit RunDecoder(std::string* out) : out_(out) {}

  absl::Status Unit(uint16_t u, size_t pos) {
    ++units_;
    if (high_ != 0) {
      if (u < 0xdc00 || u > 0xdfff) return Error("modified UTF-7: unpaired surrogate", pos);
      AppendUtf8(0x10000 + ((uint32_t{high_} - 0xd800) << 10) + (u - 0xdc00), out_);
      high_ = 0;
    } else if (u >= 0xd800 && u <= 0xdbff) {
      high_ = u;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return Error("modified UTF-7: unpaired surrogate", pos);
    } else if (IsDirect(u)) {
      return Error("modified UTF-7: printable ASCII must not be encoded", pos);
    } else {
      AppendUtf8(u, out_);
    }
    return absl::OkStatus();
  }

  bool pending_high() const { return high_ != 0; }
  size_t units() const { return units_; }

 private:
  std::string* out_;
  uint16_t high_ = 0;
  size_t units_ = 0;
};

// Decodes the run "&...-" starting at s[*i] ('&' not followed by '-'); advances
// past it.
absl::Status DecodeRun(absl::string_view s, size_t* i, std::string* out) {
  const size_t start = *i;
  RunDecoder decoder(out);
  uint32_t bits = 0;
  int nbits = 0;
  size_t p = start + 1;
  for (; p < s.size() && s[p] != '-'; ++p) {
    int v = Base64Value(static_cast<unsigned char>(s[p]));
    if (v < 0) return Error("modified UTF-7: invalid character in encoded run", p);
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 16) {
      nbits -= 16;
      RETURN_IF_ERROR(decoder.Unit(static_cast<uint16_t>(bits >> nbits), p));
      bits &= (1u << nbits) - 1;
    }
  }
  if (p >= s.size()) return Error("modified UTF-7: unterminated encoded run", start);
  if (decoder.units() == 0) return Error("modified UTF-7: empty encoded run", start);
  if (nbits >= 6) return Error("modified UTF-7: superfluous base64 characters", p);
  if (bits != 0) return Error("modified UTF-7: non-zero padding bits", p);
  if (decoder.pending_high()) return Error("modified UTF-7: unpaired surrogate", p);
  ++p;  // '-'
  if (p + 1 < s.size() && s[p] == '&' && s[p + 1] != '-') {
    return Error("modified UTF-7: adjacent encoded runs", p);
  }
  *i = p;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Utf8ToMutf7(absl::string_view utf8) {
  std::string out;
  std::vector<uint16_t> run;
  size_t i = 0;
  while (i < utf8.size()) {
    ASSIGN_OR_RETURN(uint32_t cp, DecodeUtf8(utf8, &i));
    if (!IsDirect(cp)) {
      AppendUtf16(cp, &run);
      continue;
    }
    FlushRun(&run, &out);
    if (cp == '&') {
      out += "&-";
    } else {
      out.push_back(static_cast<char>(cp));
    }
  }
  FlushRun(&run, &out);
  return out;
}

absl::StatusOr<std::string> Mutf7ToUtf8(absl::string_view mutf7) {
  std::string out;
  size_t i = 0;
  while (i < mutf7.size()) {
    unsigned char c = static_cast<unsigned char>(mutf7[i]);
    if (c == '&') {
      if (i + 1 < mutf7.size() && mutf7[i + 1] == '-') {
        out.push_back('&');
        i += 2;
      } else {
        RETURN_IF_ERROR(DecodeRun(mutf7, &i, &out));
      }
      continue;
    }
    if (!IsDirect(c)) return Error("modified UTF-7: byte not allowed", i);
    out.push_back(static_cast<char>(c));
    ++i;
  }
  return out;
}

}  // namespace imap
