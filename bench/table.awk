# table.awk: medians and ratios from the output of bench/run.sh.
# Input: `go test -bench` lines (value-unit pairs after the iteration count)
# and lines "rb C OP ops/s" from redis-benchmark. mawk-compatible.

/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	if (!(name in seen)) { seen[name] = 1; names[++nn] = name }
	for (i = 3; i < NF; i += 2) add(name SUBSEP $(i + 1), $i)
	next
}
$1 == "rb" { add("rb" SUBSEP $2 SUBSEP $3, $4) }

function add(key, v) { n[key]++; val[key, n[key]] = v + 0 }

function median(key,    i, j, k, t, a) {
	k = n[key]
	if (k == 0) return ""
	for (i = 1; i <= k; i++) a[i] = val[key, i]
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}

# spread is (max-min)/median in percent.
function spread(key,    i, lo, hi, m) {
	if (n[key] < 2) return "-"
	lo = hi = val[key, 1]
	for (i = 2; i <= n[key]; i++) { if (val[key, i] < lo) lo = val[key, i]; if (val[key, i] > hi) hi = val[key, i] }
	m = median(key)
	return m > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / m) : "-"
}

function fmt(v, digits) { return v == "" ? "-" : sprintf("%." digits "f", v) }
function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.3f", a / b) : "-" }

END {
	print "Large objects, one node over loopback (MB/s = 10^6 B/s; median of runs; ratio = node / reference):"
	printf "%-26s %9s %7s %10s %7s %10s %7s %9s %7s\n", "benchmark", "node MB/s", "spread", "badger", "node/b", "store", "node/s", "tcp", "node/t"
	for (i = 1; i <= nn; i++) {
		b = names[i]
		if (b !~ /^Benchmark(Put|Get)\//) continue
		printf "%-26s %9s %7s %10s %7s %10s %7s %9s %7s\n", b, fmt(median(b SUBSEP "MB/s"), 1), spread(b SUBSEP "MB/s"),
			fmt(median(b SUBSEP "badger-MB/s"), 0), fmt(median(b SUBSEP "node/badger"), 3),
			fmt(median(b SUBSEP "store-MB/s"), 0), fmt(median(b SUBSEP "node/store"), 3),
			fmt(median(b SUBSEP "tcp-MB/s"), 0), fmt(median(b SUBSEP "node/tcp"), 3)
	}
	print ""
	print "4 KiB objects, C concurrent callers (ops/s; median of runs; redis = Go RESP client, same op count, C connections):"
	print "redis-benchmark: rb = one key (its default), rb -r = random keys (SET only); e = emerge"
	printf "%-26s %9s %7s %9s %8s %9s %7s %9s %7s\n", "benchmark", "emerge", "spread", "redis", "e/redis", "rb", "e/rb", "rb -r", "e/rb-r"
	for (i = 1; i <= nn; i++) {
		b = names[i]
		if (b !~ /^BenchmarkSmall(Put|Get)\/c=/) continue
		c = b; sub(/.*c=/, "", c)
		op = b ~ /Put/ ? "SET" : "GET"
		e = median(b SUBSEP "ops/s")
		rb = median("rb" SUBSEP c SUBSEP op)
		rr = median("rb" SUBSEP c SUBSEP op "-r")
		printf "%-26s %9s %7s %9s %8s %9s %7s %9s %7s\n", b, fmt(e, 0), spread(b SUBSEP "ops/s"),
			fmt(median(b SUBSEP "redis-ops/s"), 0), fmt(median(b SUBSEP "node/redis"), 3),
			fmt(rb, 0), ratio(e, rb), fmt(rr, 0), ratio(e, rr)
	}
}
