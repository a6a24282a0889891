#!/usr/bin/env bash
# Run every Fuzz target of the module for a while each. Usage: fuzz.sh [30s]
set -euo pipefail
T=${1:-30s}
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $f ($T)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$T" "$pkg"
	done
done
