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
$1 == "rb" {
	add("rb" SUBSEP $2 SUBSEP $3, $4)
	if (NF >= 6) { add("rbp50" SUBSEP $2 SUBSEP $3, $5); add("rbp99" SUBSEP $2 SUBSEP $3, $6) }
}

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

function has(re,    i) { for (i = 1; i <= nn; i++) if (names[i] ~ re) return 1; return 0 }

END {
	if (has("^Benchmark(Put|Get|Small)")) foundation()
	if (has("^Benchmark(RemoteGet|WhoHas)")) peer()
}

function foundation(    i, b, c, op, e, rb, rr) {
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
	print "redis-benchmark: rb = one key (its default), rb -r = random keys (SET only); e = emerge; p50/p99 latency in µs"
	printf "%-24s %7s %6s %6s %6s %7s %7s %5s %5s %7s %6s %5s %5s %7s %6s\n", "benchmark", "emerge", "spread", "p50", "p99",
		"redis", "e/redis", "p50", "p99", "rb", "e/rb", "p50", "p99", "rb -r", "e/rb-r"
	for (i = 1; i <= nn; i++) {
		b = names[i]
		if (b !~ /^BenchmarkSmall(Put|Get)\/c=/) continue
		c = b; sub(/.*c=/, "", c)
		op = b ~ /Put/ ? "SET" : "GET"
		e = median(b SUBSEP "ops/s")
		rb = median("rb" SUBSEP c SUBSEP op)
		rr = median("rb" SUBSEP c SUBSEP op "-r")
		printf "%-24s %7s %6s %6s %6s %7s %7s %5s %5s %7s %6s %5s %5s %7s %6s\n", b, fmt(e, 0), spread(b SUBSEP "ops/s"),
			fmt(median(b SUBSEP "p50-us"), 0), fmt(median(b SUBSEP "p99-us"), 0),
			fmt(median(b SUBSEP "redis-ops/s"), 0), fmt(median(b SUBSEP "node/redis"), 3),
			fmt(median(b SUBSEP "redis-p50-us"), 0), fmt(median(b SUBSEP "redis-p99-us"), 0),
			fmt(rb, 0), ratio(e, rb), fmt(median("rbp50" SUBSEP c SUBSEP op), 0), fmt(median("rbp99" SUBSEP c SUBSEP op), 0),
			fmt(rr, 0), ratio(e, rr)
	}
	print ""
}

function peer() {
	if (has("^BenchmarkRemoteGet")) remote()
	if (has("^BenchmarkWhoHas")) whohas()
}

function remote(    i, b) {
	print "Remote gets through a member holding nothing (MB/s; median of runs; ratio = remote / reference):"
	print "local = the same get through an owner; tcp = the same bytes over one loopback TCP connection;"
	print "cpu = process CPU ns per byte (all nodes and the client), remote / local / tcp"
	printf "%-38s %8s %7s %8s %8s %8s %7s %18s\n", "benchmark", "MB/s", "spread", "local", "r/local", "tcp", "r/tcp", "cpu ns/B r/l/t"
	for (i = 1; i <= nn; i++) {
		b = names[i]
		if (b !~ /^BenchmarkRemoteGet\//) continue
		printf "%-38s %8s %7s %8s %8s %8s %7s %18s\n", b, fmt(median(b SUBSEP "MB/s"), 1), spread(b SUBSEP "MB/s"),
			fmt(median(b SUBSEP "local-MB/s"), 0), fmt(median(b SUBSEP "node/local"), 3),
			fmt(median(b SUBSEP "tcp-MB/s"), 0), fmt(median(b SUBSEP "node/tcp"), 3),
			fmt(median(b SUBSEP "cpu-ns/B"), 2) "/" fmt(median(b SUBSEP "local-cpu-ns/B"), 2) "/" fmt(median(b SUBSEP "tcp-cpu-ns/B"), 2)
	}
	print ""
}

function whohas(    i, b, m, q) {
	print "Who-has lookups (µs; median over runs of each run's p50/p99; spread of the p50; ratio = lookup / reference):"
	print "first = first owner's answer; done = Locate returned (first + 10 ms settle); ping = rpc Ping; hop = one pub/sub hop"
	printf "%-16s %-6s %9s %7s %9s %9s %9s %10s %9s %9s %8s\n", "benchmark", "", "first", "spread", "done", "ping", "hop",
		"first/ping", "first/hop", "found", ""
	for (i = 1; i <= nn; i++) {
		b = names[i]
		if (b !~ /^BenchmarkWhoHas/) continue
		for (m = 0; m < 2; m++) {
			q = m ? "p99" : "p50"
			printf "%-16s %-6s %9s %7s %9s %9s %9s %10s %9s %9s\n", b, q,
				fmt(median(b SUBSEP "first-" q "-us"), 0), spread(b SUBSEP "first-" q "-us"),
				fmt(median(b SUBSEP "done-" q "-us"), 0), fmt(median(b SUBSEP "ping-" q "-us"), 0),
				fmt(median(b SUBSEP "hop-" q "-us"), 0), fmt(median(b SUBSEP "first/ping-" q), 1),
				fmt(median(b SUBSEP "first/hop-" q), 1), m ? "" : fmt(median(b SUBSEP "found/holders"), 3)
		}
	}
}
