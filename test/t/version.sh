#!/usr/bin/env bash
# The version lives in segment.control; META.json and the installed
# extension must agree with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" segment.control)
meta=$(python3 -c 'import json; m = json.load(open("META.json")); print(m["version"], m["provides"]["segment"]["version"])')
for v in $meta; do
	if [ "$v" != "$control" ]; then
		echo "META.json says $v, segment.control says $control" >&2
		exit 1
	fi
done
installed=$(psql -X -At -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'segment'")
if [ "$installed" != "$control" ]; then
	echo "the installed extension offers '$installed', segment.control says $control" >&2
	exit 1
fi
echo "version $control everywhere"
