#!/usr/bin/env bash
# Benchmarks of emerge with same-run reference figures; `make bench` runs
# this. It prints tables of medians and ratios and exits non-zero if a
# benchmark fails. docs/benchmarks.md explains the figures.
#
# Knobs (environment): SECTIONS (default "foundation peer"), COUNT (runs of
# each benchmark, default 3), LARGE_TIME (1 MiB put/get, default 2s),
# HUGE_TIME (256 MiB, default 4x), SMALL_TIME (4 KiB ops, default 3s),
# CONCURRENCY (default "1 50"), REMOTE_TIME (remote gets, default 3x; with
# EMERGE_LONG=1 they move 1 GiB instead of 256 MiB), WHOHAS_TIME (who-has
# lookups, default 300x), OUT (directory kept with the raw output; default a
# temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."

SECTIONS=${SECTIONS:-"foundation peer"}
COUNT=${COUNT:-3}
LARGE_TIME=${LARGE_TIME:-2s}
HUGE_TIME=${HUGE_TIME:-4x}
SMALL_TIME=${SMALL_TIME:-3s}
CONCURRENCY=${CONCURRENCY:-"1 50"}
REMOTE_TIME=${REMOTE_TIME:-3x}
WHOHAS_TIME=${WHOHAS_TIME:-300x}
OUT=${OUT:-$(mktemp -d /tmp/emerge-bench.XXXXXX)}
mkdir -p "$OUT"
REDIS_PID=

cleanup() {
	rm -f "$OUT/bench.test"
	if [[ -n $REDIS_PID ]]; then
		kill "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# ensure_redis installs Debian's redis-server when missing and we are root;
# otherwise the Redis references are skipped.
ensure_redis() {
	command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && return 0
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "installing redis-server (apt-get)" >&2
		apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null && return 0
	fi
	echo "redis-server not found: Redis references skipped" >&2
	return 1
}

# start_redis runs a scratch redis-server, persistence off, on a free
# loopback port, and sets REDIS_PORT and REDIS_PID.
start_redis() {
	local port try
	for try in 1 2 3 4 5; do
		port=$(shuf -i 20000-60000 -n 1)
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # in use
		redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			--daemonize no --logfile "$OUT/redis.log" &
		REDIS_PID=$!
		if wait_redis "$port"; then
			REDIS_PORT=$port
			return 0
		fi
		kill "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
		REDIS_PID=
	done
	echo "could not start redis-server (see $OUT/redis.log)" >&2
	return 1
}

wait_redis() {
	local i
	for i in $(seq 50); do
		[[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return 0
		kill -0 "$REDIS_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# gobench NAME ARGS...: runs the compiled benchmarks, output to $OUT/NAME.txt.
gobench() {
	local name=$1
	shift
	"$OUT/bench.test" -test.run '^$' -test.count "$COUNT" "$@" 2>&1 | tee "$OUT/$name.txt"
	if grep -q -E '^(FAIL|--- FAIL|panic:)' "$OUT/$name.txt"; then
		echo "benchmark failed: $name" >&2
		return 1
	fi
}

# redis_benchmark C N: redis-benchmark's SET and GET of 4 KiB values with C
# clients (all on one key, as redis-benchmark does by default), then SET on
# random keys (-r: fresh values, as every emerge put is), COUNT times; lines
# "rb C OP ops/s p50-us p99-us" (OP = SET, GET or SET-r) go to
# $OUT/redis-benchmark.txt.
redis_benchmark() {
	local c=$1 n=$2 run
	for run in $(seq "$COUNT"); do
		redis-cli -p "$REDIS_PORT" flushall >/dev/null
		rb "$c" "" -t set,get -c "$c" -n "$n"
		redis-cli -p "$REDIS_PORT" flushall >/dev/null
		rb "$c" -r -t set -r 1000000 -c "$c" -n "$n"
	done
}

# rb C SUFFIX ARGS...: one redis-benchmark run, its figures as "rb" lines
# (its CSV: test, rps, avg, min, p50, p95, p99, max latency in ms).
rb() {
	local c=$1 suffix=$2
	shift 2
	redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -d 4096 --csv "$@" | tr -d '"\r' |
		awk -F, -v c="$c" -v s="$suffix" 'NR > 1 && NF >= 7 { print "rb", c, $1 s, $2, $5 * 1000, $7 * 1000 }' |
		tee -a "$OUT/redis-benchmark.txt"
}

echo "emerge $(git describe --always --dirty 2>/dev/null || echo dev), $(go version | cut -d' ' -f3), $(nproc) CPU, load at start:$(uptime | sed 's/.*load average://')"
go test -c -o "$OUT/bench.test" ./bench

# foundation: one node, large and small objects, Redis references.
foundation() {
	REDIS_PORT=
	if ensure_redis; then
		start_redis
		export EMERGE_REDIS_ADDR=127.0.0.1:$REDIS_PORT
	fi
	gobench large -test.bench '^Benchmark(Put|Get)$/size=1MiB$' -test.benchtime "$LARGE_TIME"
	gobench huge -test.bench '^Benchmark(Put|Get)$/size=256MiB$' -test.benchtime "$HUGE_TIME"
	: >"$OUT/redis-benchmark.txt"
	for c in $CONCURRENCY; do
		EMERGE_BENCH_C=$c gobench "small-c$c" -test.bench '^BenchmarkSmall(Put|Get)$' -test.benchtime "$SMALL_TIME"
		if [[ -n $REDIS_PORT ]]; then
			redis_benchmark "$c" $((c == 1 ? 20000 : 100000))
		fi
	done
}

# peer: remote gets through an empty member, who-has on 16 members.
peer() {
	gobench remote -test.bench '^BenchmarkRemoteGet$' -test.benchtime "$REMOTE_TIME"
	gobench whohas -test.bench '^BenchmarkWhoHas$' -test.benchtime "$WHOHAS_TIME"
}

for section in $SECTIONS; do
	case $section in
	foundation | peer) "$section" ;;
	*) echo "unknown section $section (want foundation, peer)" >&2 && exit 2 ;;
	esac
done
echo "load at end:$(uptime | sed 's/.*load average://')"

echo
files=()
for f in "$OUT"/{large,huge,small-c*,redis-benchmark,remote,whohas}.txt; do
	[[ -e $f ]] && files+=("$f")
done
awk -f bench/table.awk "${files[@]}" /dev/null
echo "raw output in $OUT"
