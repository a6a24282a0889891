#!/usr/bin/env bash
# The scale rows of docs/benchmarks.md ("Scale"), with real `emerge`
# processes on this machine: `make bench-scale` runs this after building
# bin/emerge. Every node gets a fresh temporary data dir and free loopback
# ports (port *, read back from its ready file); every process started is
# stopped on exit. Rows (ROWS, default "members whohas get small"):
#
#   members  NODES (32) node processes, each joining through the first; the
#            seconds from the last spawn until every node counts NODES alive
#            members (emerge_members on /metrics), polled from the last spawn
#            on, every node in one curl a round (members.trace keeps each
#            round: seconds, node, alive, suspect).
#   whohas   BenchmarkWhoHas with EMERGE_BENCH_NODES=NODES (in-process
#            cluster): p50/p99 of the who-has lookup against an rpc ping.
#   get      GET_GIB (16) GiB of random bytes put into node A (replicas 1),
#            then `emerge --no-shm get REF -o /dev/null` through node B, which
#            pulls every block from A and keeps a cached copy, then through
#            node C (cache_off), which pulls every block and keeps none, then
#            the same get from A itself, then through shared memory; VmHWM of
#            each node after each get and its VmRSS sampled every 0.5 s during
#            it.
#   small    SMALL_N (1000000) objects of SMALL_SIZE (1024) bytes put into one
#            node by SMALL_C (32) concurrent puts (bench/smallput), the node
#            stopped (SIGTERM) and restarted: seconds to its ready file, then
#            `emerge ls` of every object (seconds, lines, the client's max RSS)
#            and the seconds to its first page (`emerge ls | head`).
#
# NODE_FLAGS (word-split) is added to every node's command line.
# QUICK=1 shrinks everything (8 nodes, 1 GiB, 20k objects). It fails on a
# wrong count or a failed command, never on a figure. OUT (default a temporary
# directory) keeps the logs and the raw samples.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n ${QUICK:-} ]]; then
	NODES=${NODES:-8} GET_GIB=${GET_GIB:-1} SMALL_N=${SMALL_N:-20000}
fi
NODES=${NODES:-32}
GET_GIB=${GET_GIB:-16}
SMALL_N=${SMALL_N:-1000000}
SMALL_SIZE=${SMALL_SIZE:-1024}
SMALL_C=${SMALL_C:-32}
ROWS=${ROWS:-members whohas get small}
NODE_FLAGS=${NODE_FLAGS:-} # added to every node's flags, e.g. "--memtable-size 8MiB"
BIN=${BIN:-bin/emerge}
OUT=${OUT:-$(mktemp -d /tmp/emerge-bench-scale.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/emerge-bench-scale-work.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
field() { sed -E "s/.*\"$2\":\"([^\"]+)\".*/\\1/" "$1"; } # field READYFILE KEY
load() { cut -d' ' -f1-3 /proc/loadavg; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; } # kib PID VmHWM|VmRSS

# start NAME ARGS...: a node with data dir $WORK/NAME, its pid in $STARTED.
start() {
	local name=$1
	shift
	rm -f "$WORK/$name.ready"
	# shellcheck disable=SC2086 # NODE_FLAGS is a word list
	"$BIN" node --listen '127.0.0.1:*' --pub-listen '127.0.0.1:*' --http-listen '127.0.0.1:*' \
		--data-dir "$WORK/$name" --ready-file "$WORK/$name.ready" --log-level warn "$@" $NODE_FLAGS 2>>"$OUT/$name.log" &
	STARTED=$!
	PIDS+=("$STARTED")
}

# ready NAME [TRIES]: wait for NAME's ready file (0.05 s a try).
ready() {
	local i
	for ((i = 0; i < ${2:-1200}; i++)); do
		[[ -s $WORK/$1.ready ]] && return 0
		sleep 0.05
	done
	echo "node $1 did not start: $(tail -5 "$OUT/$1.log")" >&2
	exit 1
}

# stop PID: SIGTERM and wait (the node closes its store).
stop() {
	kill "$1"
	wait "$1" 2>/dev/null || true
}

# states URL...: one line "I ALIVE SUSPECT" per URL (I from 0), the members
# the node at URL I sees, fetched by one curl so that a round over 32 nodes
# costs the nodes little CPU and takes milliseconds, not seconds.
states() {
	curl -s -m 2 -w '\n#end\n' "$@" | awk '/^emerge_members\{state="alive"\}/ {a = $2}
		/^emerge_members\{state="suspect"\}/ {s = $2} /^#end$/ {print i++, a + 0, s + 0; a = 0; s = 0}' || true
}

row_members() {
	echo "== members: $NODES node processes, load $(load)"
	local i peer t_last done_at=() left
	start m0 --shm-off --replicas 1
	ready m0
	peer=$(field "$WORK/m0.ready" rpc)
	local pids=("$STARTED")
	for ((i = 1; i < NODES; i++)); do
		start "m$i" --shm-off --replicas 1 --peers "$peer"
		pids+=("$STARTED")
	done
	t_last=$(now)
	# Poll from the last spawn on: a node not ready yet counts as short.
	left=$NODES
	local deadline=$(($(date +%s) + 120))
	local urls=() t a su nready=0 t_ready
	for ((i = 0; i < NODES; i++)); do urls+=("http://127.0.0.1:1/not-ready"); done
	while ((left > 0)); do
		if ((nready < NODES)); then
			for ((i = 0; i < NODES; i++)); do
				if [[ ${urls[i]} == *not-ready && -s $WORK/m$i.ready ]]; then
					urls[i]=$(field "$WORK/m$i.ready" http)/metrics
					nready=$((nready + 1))
				fi
			done
			((nready < NODES)) || t_ready=$(since "$t_last")
		fi
		t=$(since "$t_last")
		while read -r i a su; do
			echo "$t m$i $a $su" >>"$OUT/members.trace"
			if [[ -z ${done_at[i]:-} && $a == "$NODES" ]]; then
				done_at[i]=$t
				left=$((left - 1))
			fi
		done < <(states "${urls[@]}")
		if (($(date +%s) > deadline)); then
			echo "members: $left nodes still short of $NODES after 120 s" >&2
			exit 1
		fi
		sleep 0.1
	done
	local last first median
	printf '%s\n' "${done_at[@]}" | sort -g >"$OUT/members.converged"
	first=$(head -1 "$OUT/members.converged")
	median=$(sed -n "$(((NODES + 1) / 2))p" "$OUT/members.converged")
	last=$(tail -1 "$OUT/members.converged")
	local rss=0
	for i in "${pids[@]}"; do rss=$((rss + $(kib "$i" VmRSS))); done
	printf 'members %d: all ready %.2f s after the last spawn; all see %d alive %.2f s after it (%.2f s after the last ready; first node %.2f s, median %.2f s); RSS %d MiB total, load %s\n' \
		"$NODES" "$t_ready" "$NODES" "$last" "$(echo "$last - $t_ready" | bc -l)" "$first" "$median" $((rss / 1024)) "$(load)" |
		tee -a "$OUT/summary"
	for i in "${pids[@]}"; do stop "$i"; done
	PIDS=()
	for ((i = 0; i < NODES; i++)); do rm -rf "$WORK/m$i"; done
}

row_whohas() {
	echo "== whohas: BenchmarkWhoHas at $NODES members, load $(load)"
	EMERGE_BENCH_NODES=$NODES go test -run '^$' -bench 'BenchmarkWhoHas$' -benchtime 300x -count 1 ./bench |
		tee "$OUT/whohas.txt" | grep -E '^Benchmark' | tee -a "$OUT/summary"
}

# sample PID FILE: "VmRSS RssAnon RssShmem RssFile" (KiB) every 0.5 s into
# FILE until killed.
sample() {
	while :; do
		awk '$1 ~ /^(VmRSS|RssAnon|RssShmem|RssFile):$/ {v[$1] = $2}
			END {print v["VmRSS:"], v["RssAnon:"], v["RssShmem:"], v["RssFile:"]}' "/proc/$1/status" >>"$2" 2>/dev/null ||
			return 0
		sleep 0.5
	done
}

# maxcol FILE COL: the largest value of column COL, in MiB.
maxcol() { awk -v c="$2" '$c > m {m = $c} END {printf "%d", m / 1024}' "$1"; }

# timed_get NAME NODE_EP WATCH_PIDS... ARGS are passed after `get REF -o /dev/null`.
timed_get() {
	local name=$1 ep=$2 flags=$3
	shift 3
	local p samplers=() t0 secs
	for p in "$@"; do
		: >"$OUT/get-$name-$p.rss"
		sample "$p" "$OUT/get-$name-$p.rss" &
		samplers+=($!)
	done
	t0=$(now)
	# shellcheck disable=SC2086 # flags is a word list
	EMERGE_NODE=$ep "$BIN" $flags get "$REF" -o /dev/null
	secs=$(since "$t0")
	for p in "${samplers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	local line
	line=$(printf 'get %-14s %d GiB in %6.1f s (%4.0f MB/s)' "$name" "$GET_GIB" "$secs" \
		"$(echo "$BYTES / $secs / 1000000" | bc -l)")
	for p in "$@"; do
		local f=$OUT/get-$name-$p.rss
		line+=$(printf '; %s max MiB: VmRSS %d (anon %d, shmem %d, file %d), VmHWM %d' "${NAMES[$p]}" "$(maxcol "$f" 1)" \
			"$(maxcol "$f" 2)" "$(maxcol "$f" 3)" "$(maxcol "$f" 4)" $(($(kib "$p" VmHWM) / 1024)))
	done
	echo "$line, load $(load)" | tee -a "$OUT/summary"
}

row_get() {
	BYTES=$((GET_GIB << 30))
	echo "== get: $GET_GIB GiB, load $(load)"
	start ga --replicas 1
	local pa=$STARTED
	ready ga
	start gb --replicas 1 --peers "$(field "$WORK/ga.ready" rpc)"
	local pb=$STARTED
	start gc --replicas 1 --cache-off --peers "$(field "$WORK/ga.ready" rpc)"
	local pc=$STARTED
	ready gb
	ready gc
	declare -gA NAMES=([$pa]=A [$pb]=B [$pc]=C)
	local ea eb ec t0
	ea=$(field "$WORK/ga.ready" rpc)
	eb=$(field "$WORK/gb.ready" rpc)
	ec=$(field "$WORK/gc.ready" rpc)
	t0=$(now)
	REF=$(head -c "$BYTES" /dev/urandom | EMERGE_NODE=$ea "$BIN" --no-shm put - --replicas 1)
	printf 'put %d GiB into A in %.1f s; A VmHWM %d MiB\n' "$GET_GIB" "$(since "$t0")" $(($(kib "$pa" VmHWM) / 1024)) |
		tee -a "$OUT/summary"
	timed_get "B-from-A" "$eb" --no-shm "$pa" "$pb"
	timed_get "C-from-A" "$ec" --no-shm "$pa" "$pc"
	timed_get "A-local" "$ea" --no-shm "$pa"
	timed_get "A-local-shm" "$ea" "" "$pa"
	stop "$pc"
	stop "$pb"
	stop "$pa"
	PIDS=()
	rm -rf "$WORK/ga" "$WORK/gb" "$WORK/gc"
}

row_small() {
	echo "== small: $SMALL_N objects of $SMALL_SIZE bytes, load $(load)"
	go build -o "$WORK/smallput" ./bench/smallput
	start s0 --shm-off --replicas 1
	local p=$STARTED ep t0 secs
	ready s0
	ep=$(field "$WORK/s0.ready" rpc)
	read -r n secs < <("$WORK/smallput" -node "$ep" -n "$SMALL_N" -size "$SMALL_SIZE" -c "$SMALL_C" -progress 60s)
	printf 'small put %d objects in %.1f s (%.0f/s), node VmHWM %d MiB (now RssAnon %d, RssFile %d), data %s\n' "$n" "$secs" \
		"$(echo "$n / $secs" | bc -l)" $(($(kib "$p" VmHWM) / 1024)) $(($(kib "$p" RssAnon) / 1024)) \
		$(($(kib "$p" RssFile) / 1024)) "$(du -sh "$WORK/s0" | cut -f1)" | tee -a "$OUT/summary"
	stop "$p"
	PIDS=()
	t0=$(now)
	start s0 --shm-off --replicas 1
	p=$STARTED
	ready s0 6000
	printf 'small restart: ready in %.2f s (%d objects), load %s\n' "$(since "$t0")" "$n" "$(load)" | tee -a "$OUT/summary"
	ep=$(field "$WORK/s0.ready" rpc)
	t0=$(now)
	{ EMERGE_NODE=$ep "$BIN" ls || true; } | head -3 >"$OUT/ls-head.txt"
	local first
	first=$(since "$t0")
	t0=$(now)
	EMERGE_NODE=$ep /usr/bin/time -f '%M' -o "$OUT/ls.maxrss" "$BIN" ls >"$OUT/ls.txt"
	secs=$(since "$t0")
	local lines
	lines=$(($(wc -l <"$OUT/ls.txt") - 1))
	[[ $lines == "$n" ]] || { echo "ls listed $lines objects, want $n" >&2; exit 1; }
	printf 'small ls: first page in %.2f s; all %d in %.1f s, client max RSS %d MiB, node VmHWM %d MiB (now RssAnon %d), load %s\n' \
		"$first" "$lines" "$secs" $(($(cat "$OUT/ls.maxrss") / 1024)) $(($(kib "$p" VmHWM) / 1024)) \
		$(($(kib "$p" RssAnon) / 1024)) "$(load)" |
		tee -a "$OUT/summary"
	stop "$p"
	PIDS=()
	rm -rf "$WORK/s0"
}

echo "emerge $("$BIN" version 2>/dev/null | head -1); commit $(git rev-parse --short HEAD); $(date -u +%FT%TZ); $(nproc) cores; out $OUT"
for r in $ROWS; do "row_$r"; done
echo "== summary"
cat "$OUT/summary"
