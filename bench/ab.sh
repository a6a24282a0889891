#!/usr/bin/env bash
# Before/after comparison of two compiled bench binaries (`go test -c ./bench`
# in two trees), run alternately A B A B ... so that whatever else the
# machine does falls on both sides alike. Prints, per benchmark and metric,
# the median of each side and the median of the per-pair ratios after/before.
# docs/benchmarks.md ("Block mover: before and after") explains the figures.
#
#   bash bench/ab.sh BEFORE_BIN AFTER_BIN [go test flags...]
#   PAIRS=3 bash bench/ab.sh /tmp/bench-before /tmp/bench-after \
#       -test.run '^$' -test.bench '^BenchmarkRemoteGet$' -test.benchtime 3x
#
# Knobs (environment): PAIRS (default 3), METRICS (default "MB/s cpu-ns/B"),
# OUT (directory kept with each run's output; default a temporary one).
set -euo pipefail

die() { echo "ab: $*" >&2; exit 2; }
(($# >= 2)) || die "usage: bash bench/ab.sh BEFORE_BIN AFTER_BIN [go test flags...]"
A=$1 B=$2
shift 2
[[ -x $A ]] || die "$A is not executable"
[[ -x $B ]] || die "$B is not executable"
PAIRS=${PAIRS:-3}
METRICS=${METRICS:-"MB/s cpu-ns/B"}
OUT=${OUT:-$(mktemp -d /tmp/emerge-ab.XXXXXX)}
mkdir -p "$OUT"

echo "before $A, after $B, $PAIRS pairs, $(nproc) CPU, load at start:$(uptime | sed 's/.*load average://')"
echo "flags: $*"
for p in $(seq "$PAIRS"); do
	for side in before after; do
		bin=$A
		[[ $side == after ]] && bin=$B
		echo "pair $p $side (load:$(uptime | sed 's/.*load average://'))" >&2
		# Each binary runs in its own package directory's place: bench tests
		# need no files, so the working directory is the output directory.
		(cd "$OUT" && "$bin" "$@") >"$OUT/$side.$p.txt" 2>&1 || {
			cat "$OUT/$side.$p.txt" >&2
			die "$side run $p failed"
		}
		if grep -q -E '^(FAIL|--- FAIL|panic:)' "$OUT/$side.$p.txt"; then
			cat "$OUT/$side.$p.txt" >&2
			die "$side run $p failed"
		fi
	done
done
echo "load at end:$(uptime | sed 's/.*load average://')"
echo

# One line per benchmark line: side pair name metric value.
for f in "$OUT"/before.*.txt "$OUT"/after.*.txt; do
	side=$(basename "$f" | cut -d. -f1)
	p=$(basename "$f" | cut -d. -f2)
	awk -v side="$side" -v p="$p" '/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i += 2) print side, p, name, $(i + 1), $i
	}' "$f"
done >"$OUT/all.txt"

awk -v metrics="$METRICS" '
function median(arr, k,    i, j, t, a) {
	for (i = 1; i <= k; i++) a[i] = arr[i]
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
BEGIN { nm = split(metrics, ms, " "); for (i = 1; i <= nm; i++) want[ms[i]] = 1 }
want[$4] {
	key = $3 SUBSEP $4
	if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
	v[key, $1, $2] = $5
	if ($2 > maxp) maxp = $2
}
END {
	printf "%-40s %-10s %12s %12s %22s  %s\n", "benchmark", "metric", "before", "after", "after/before (median)", "per pair"
	for (k = 1; k <= nk; k++) {
		key = keys[k]
		split(key, parts, SUBSEP)
		nb = na = nr = 0
		pp = ""
		for (p = 1; p <= maxp; p++) {
			if ((key, "before", p) in v) bb[++nb] = v[key, "before", p]
			if ((key, "after", p) in v) aa[++na] = v[key, "after", p]
			if (((key, "before", p) in v) && ((key, "after", p) in v) && v[key, "before", p] > 0) {
				r = v[key, "after", p] / v[key, "before", p]
				rr[++nr] = r
				pp = pp sprintf("%s%.2f", (pp == "" ? "" : " "), r)
			}
		}
		printf "%-40s %-10s %12.4g %12.4g %22.3f  %s\n", parts[1], parts[2], median(bb, nb), median(aa, na), nr ? median(rr, nr) : 0, pp
	}
}' "$OUT/all.txt"
echo "raw output in $OUT"
