#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format on the helper's C sources.
# CI installs clang-format with apt; without it this fails loudly instead of passing silently.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v clang-format >/dev/null 2>&1; then
	echo "format-check: clang-format is not installed (apt-get install -y clang-format)" >&2
	exit 1
fi
mapfile -t files < <(find common supervise tools netns watch -name '*.[ch]' | sort)
if [ "${1:-}" = "--fix" ]; then
	clang-format -i "${files[@]}"
	echo "format-check: formatted ${#files[@]} files"
else
	clang-format --dry-run --Werror "${files[@]}"
	echo "format-check: ${#files[@]} files clean"
fi
