#include "common/imap/date.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace imap {
namespace {

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool Digits(absl::string_view s, int* out) {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<absl::Time> ParseInternalDate(absl::string_view text) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("bad IMAP date-time '", text.substr(0, 40), "'"));
  };
  absl::string_view s = absl::StripLeadingAsciiWhitespace(text);
  // d[d]-Mon-yyyy hh:mm:ss +zzzz
  size_t dash = s.find('-');
  if (dash == absl::string_view::npos || s.size() != dash + 24) return bad();
  int day, year, hh, mm, ss, zone;
  int month = -1;
  absl::string_view mon = s.substr(dash + 1, 3);
  for (int i = 0; i < 12; ++i) {
    if (absl::EqualsIgnoreCase(mon, kMonths[i])) month = i + 1;
  }
  if (month < 0 || !Digits(s.substr(0, dash), &day) || s[dash + 4] != '-' ||
      !Digits(s.substr(dash + 5, 4), &year) || s[dash + 9] != ' ' ||
      !Digits(s.substr(dash + 10, 2), &hh) || s[dash + 12] != ':' ||
      !Digits(s.substr(dash + 13, 2), &mm) || s[dash + 15] != ':' ||
      !Digits(s.substr(dash + 16, 2), &ss) || s[dash + 18] != ' ' ||
      (s[dash + 19] != '+' && s[dash + 19] != '-') || !Digits(s.substr(dash + 20, 4), &zone)) {
    return bad();
  }
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59) return bad();
  const int offset_secs =
      ((zone / 100) * 3600 + (zone % 100) * 60) * (s[dash + 19] == '-' ? -1 : 1);
  absl::CivilSecond cs(year, month, day, hh, mm, ss);
  if (cs.day() != day) return bad();  // e.g. 31-Feb normalised away
  return absl::FromCivil(cs, absl::UTCTimeZone()) - absl::Seconds(offset_secs);
}

absl::StatusOr<absl::Time> ParseMessageDate(absl::string_view text) {
  std::string s(absl::StripAsciiWhitespace(text));
  if (size_t paren = s.find('('); paren != std::string::npos) s.resize(paren);  // a comment
  absl::StripAsciiWhitespace(&s);
  if (size_t comma = s.find(','); comma != std::string::npos) s.erase(0, comma + 1);
  absl::StripAsciiWhitespace(&s);
  for (const char* utc : {" UT", " UTC", " GMT", " Z"}) {
    if (absl::EndsWithIgnoreCase(s, utc)) {
      s.resize(s.size() - std::strlen(utc));
      s += " +0000";
      break;
    }
  }
  for (const char* format : {"%d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M %z"}) {
    absl::Time t;
    if (absl::ParseTime(format, s, &t, nullptr)) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat("bad message date '", text.substr(0, 40), "'"));
}

std::string FormatInternalDate(absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  absl::CivilSecond cs = absl::ToCivilSecond(t, utc);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%02d-%s-%04d %02d:%02d:%02d +0000", cs.day(),
                kMonths[cs.month() - 1], static_cast<int>(cs.year()), cs.hour(), cs.minute(),
                cs.second());
  return buf;
}

}  // namespace imap
