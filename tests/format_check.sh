#!/usr/bin/env bash
# Fails when a tracked C++ file differs from .clang-format (clang-format --dry-run -Werror).
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "format_check: clang-format is not installed (deploy/local/install-deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cc' '*.h')
if clang-format --dry-run -Werror "${files[@]}" 2>/tmp/format_check.$$; then
  rm -f /tmp/format_check.$$
  echo "format_check: ${#files[@]} files formatted"
  exit 0
fi
grep -o '^[^:]*\.\(cc\|h\)' /tmp/format_check.$$ | sort -u | sed 's/^/not formatted: /' >&2
rm -f /tmp/format_check.$$
exit 1
