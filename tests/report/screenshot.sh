#!/usr/bin/env bash
# Opens DIR/report.html in headless Chromium as a person would, fails unless the page's
# own check says every chart drew (no script error, no empty chart), and saves what it
# looked like as DIR/report.png.
# Usage: tests/report/screenshot.sh DIR
set -euo pipefail
dir="$1"
page="file://$(realpath "$dir")/report.html"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars)
status=$("${browser[@]}" --dump-dom "$page" 2>/dev/null | grep -o '<p id="selfcheck"[^<]*' || true)
echo "report self-check: ${status:-none}"
grep -q 'data-ok="true"' <<<"$status" || { echo "the report did not draw: $page" >&2; exit 1; }
"${browser[@]}" --window-size=900,4200 --screenshot="$dir/report.png" "$page" 2>/dev/null
test -s "$dir/report.png"
echo "screenshot: $dir/report.png"
