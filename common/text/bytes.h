// Human-readable byte counts, one convention for every table the programs
// print.
#ifndef MIGRATOR_COMMON_TEXT_BYTES_H_
#define MIGRATOR_COMMON_TEXT_BYTES_H_

#include <string>

namespace text {

// Decimal units (powers of 1000): "999 B", "1.5 MB", "12.3 GB"; B, kB, MB, GB,
// TB, PB. A fractional count below 1000 (a rate) is rounded to whole bytes.
std::string HumanBytes(double bytes);

}  // namespace text

#endif  // MIGRATOR_COMMON_TEXT_BYTES_H_
