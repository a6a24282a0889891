#!/usr/bin/env bash
# Dissemination benchmark (issue 5): how long N nodes take to all hold an
# object of S bytes put on node 0, when every node has a link of rate B.
# `make bench-prefetch` runs this; it needs root (network namespaces, tc).
# docs/benchmarks.md ("Dissemination (netns + tc)") explains the figures.
#
# Each node runs in its own network namespace with one veth link to a bridge
# that lives in a namespace of its own, so nothing is added to the root
# namespace (bench/netns-lib.sh, shared with bench/repair-netns.sh). Each
# link is shaped with tbf to B in both directions: egress of the node's end
# (what the node sends) and egress of the bridge's end (what it receives).
# Every figure is a ratio against the floor S/B, the time one link needs
# for the object, and the raw-link row measures that link in the same run
# with one plain TCP stream.
#
# Rows:
#   raw link  one TCP stream of S bytes from node 0's namespace to node 1's
#   prefetch  nodes 1..N-1 in group "actor"; `emerge put FILE
#             --prefetch-group actor --wait` on node 0 (skipped when the
#             binary lacks the flag)
#   naive     an object put on node 0 while it was alone (every block there,
#             one replica), then nodes 1..N-1 get it at once:
#             "from node 0" - each client asks node 0 itself (--node), so
#                             node 0 is the only source: about (N-1) x floor
#             "via own node" - each client asks its own node, which fetches
#                             from whichever members hold blocks, including
#                             blocks other nodes fetched a moment before
#
# Knobs (environment): N (nodes, default 8), SIZE_MIB (default 256; QUICK=1
# makes it 64), RATE_MBIT (default 200), BURST (tbf burst, default 256kb),
# TC_LATENCY (tbf queue, default 50ms), METHODS (default "raw prefetch
# split direct own"; split = a plain put, then `prefetch start --wait`), EMERGE_BIN (default bin/emerge, built with `make build` when
# missing), LOG_LEVEL of the nodes (default warn), KEEP=1 keeps the work
# directory (node logs, data) after the run.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-8}
SIZE_MIB=${SIZE_MIB:-$([[ ${QUICK:-} == 1 ]] && echo 64 || echo 256)}
RATE_MBIT=${RATE_MBIT:-200}
BURST=${BURST:-256kb}
TC_LATENCY=${TC_LATENCY:-50ms}
METHODS=${METHODS:-raw prefetch split direct own}
LOG_LEVEL=${LOG_LEVEL:-warn}
BIN=${EMERGE_BIN:-bin/emerge}
GROUP=actor
SUBNET=10.77.0
PORT=7700
S=$((SIZE_MIB << 20))
FLOOR=$(awk -v s="$S" -v r="$RATE_MBIT" 'BEGIN { printf "%.3f", s * 8 / (r * 1e6) }')
SCRIPT=prefetch-netns
MAKE_TARGET=bench-prefetch
NODE_ARGS=()
# shellcheck source=bench/netns-lib.sh
source bench/netns-lib.sh

# row NAME SECONDS [NOTE]: one line of the result table.
row() {
	local ratio
	ratio=$(awk -v t="$2" -v f="$FLOOR" 'BEGIN { printf "%.2f", t / f }')
	printf '%-28s %10s %8s   %s\n' "$1" "$2" "$ratio" "${3:-}" | tee -a "$WORK/table"
}

run_raw() {
	local out t0 t1
	out="$WORK/raw.out"
	ip netns exec "$(ns 1)" "$WORK/rawlink" -listen "$(ip_of 1):7799" >"$out" &
	local rx=$!
	PIDS+=($rx)
	t0=$(now)
	in_ns 0 "$WORK/rawlink" -send "$(ip_of 1):7799" -bytes "$S"
	wait "$rx" || die "raw-link receiver failed"
	t1=$(now)
	read -r got secs <"$out"
	[[ $got == "$S" ]] || die "raw link: received $got of $S bytes"
	row "raw link (1 TCP stream)" "$secs" "accept to EOF; with process start $(elapsed "$t0" "$t1") s"
}

# new_object NAME: a file of S random bytes (fresh blocks: nothing deduplicates).
new_object() {
	head -c "$S" /dev/urandom >"$WORK/$1.bin"
}

# gets_at_once FROM...: node k (1..N-1) gets $REF through endpoint FROM[k],
# all at once; sets LAST to the time of the last to finish.
gets_at_once() {
	local eps=("$@") k t0 pids=()
	t0=$(now)
	for k in $(seq 1 $((N - 1))); do
		(
			set -o pipefail
			rc=0
			cli "$k" --node "${eps[$k]}" get "$REF" | wc -c >"$WORK/get$k.bytes" || rc=$?
			now >"$WORK/get$k.end"
			echo $rc >"$WORK/get$k.rc"
		) 2>"$WORK/get$k.err" &
		pids+=($!)
		PIDS+=($!)
	done
	wait "${pids[@]}" || true
	LAST=0
	for k in $(seq 1 $((N - 1))); do
		[[ $(cat "$WORK/get$k.rc") == 0 && $(cat "$WORK/get$k.bytes") == "$S" ]] || {
			tail -n 5 "$WORK/n$k/log" >&2
			die "get on node $k failed: $(cat "$WORK/get$k.err")"
		}
		LAST=$(awk -v a="$LAST" -v b="$(elapsed "$t0" "$(cat "$WORK/get$k.end")")" 'BEGIN { print (b > a) ? b : a }')
	done
}

run_naive() { # direct|own
	local k eps=()
	for k in $(seq 0 $((N - 1))); do
		if [[ $1 == direct ]]; then eps+=("$(ep 0)"); else eps+=("$(ep "$k")"); fi
	done
	tx_bytes >"$WORK/tx.before"
	local cpu0
	cpu0=$(node_cpu)
	gets_at_once "${eps[@]}"
	CPU=$(awk -v a="$cpu0" -v b="$(node_cpu)" 'BEGIN { printf "%.1f", b - a }')
	tx_bytes >"$WORK/tx.after"
	local label="naive, gets from node 0" expect="expected ~$((N - 1)).00; "
	if [[ $1 == own ]]; then label="naive, gets via own node" expect=; fi
	row "$label" "$LAST" "${expect}nodes' CPU ${CPU} s; MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.after")"
}

run_prefetch() {
	if ! "$BIN" put --help | grep -q -- --prefetch-group; then
		echo "prefetch: not supported by this binary" | tee -a "$WORK/table"
		return 0
	fi
	[[ -n $GROUP_FLAG ]] || die "the binary has put --prefetch-group but no node --group flag"
	local t0 t1 ref
	new_object prefetch
	tx_bytes >"$WORK/tx.before"
	local cpu0
	cpu0=$(node_cpu)
	t0=$(now)
	ref=$(cli 0 --node "$(ep 0)" put "$WORK/prefetch.bin" --prefetch-group "$GROUP" --wait) ||
		die "put --prefetch-group failed"
	t1=$(now)
	CPU=$(awk -v a="$cpu0" -v b="$(node_cpu)" 'BEGIN { printf "%.1f", b - a }')
	tx_bytes >"$WORK/tx.after"
	row "prefetch (put --wait)" "$(elapsed "$t0" "$t1")" \
		"put included; nodes' CPU ${CPU} s; MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.after")"
	check_held "$ref"
	cli 0 --node "$(ep 0)" prefetch status "$ref" --json >"$WORK/prefetch-status.json" 2>&1 || true
}

# run_prefetch_split: the same dissemination in two timed steps, so the
# put's own cost (its replica pushes leave node 0 over the same link) and the
# swarm's are read apart: a plain put, then `prefetch start --wait`.
run_prefetch_split() {
	if ! "$BIN" prefetch start --help 2>/dev/null | grep -q -- --wait; then
		echo "prefetch split: not supported by this binary" | tee -a "$WORK/table"
		return 0
	fi
	local t0 t1 t2 ref
	new_object split
	tx_bytes >"$WORK/tx.before"
	t0=$(now)
	ref=$(cli 0 --node "$(ep 0)" put "$WORK/split.bin") || die "put failed"
	t1=$(now)
	tx_bytes >"$WORK/tx.mid"
	row "  put alone (replicas)" "$(elapsed "$t0" "$t1")" \
		"MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.mid")"
	cli 0 --node "$(ep 0)" prefetch start "$ref" --group "$GROUP" --wait || die "prefetch start failed"
	t2=$(now)
	tx_bytes >"$WORK/tx.after"
	row "  then prefetch start --wait" "$(elapsed "$t1" "$t2")" \
		"MiB sent (link tx) by node: $(sent_mib "$WORK/tx.mid" "$WORK/tx.after")"
	check_held "$ref"
}

# check_held REF: every node holds every block of REF (from `emerge stat`).
check_held() {
	local k line
	for k in $(seq 1 $((N - 1))); do
		line=$(cli "$k" --node "$(ep "$k")" stat "$1" 2>&1 | grep '^blocks\|emerge:') || true
		[[ $line =~ ([0-9]+)\ x\ .*\(([0-9]+)\ held ]] && [[ ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
			echo "warning: node $k after prefetch: $line" | tee -a "$WORK/table"
	done
}

main() {
	preflight
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d /tmp/emerge-netns.XXXXXX)
	go build -o "$WORK/rawlink" ./bench/rawlink
	node_flags_supported
	echo "emerge $("$BIN" version 2>/dev/null | head -1), $(nproc) CPU, load at start:$(uptime | sed 's/.*load average://')"
	echo "S $SIZE_MIB MiB ($S bytes), B $RATE_MBIT Mbit/s per link each way (tbf burst $BURST, latency $TC_LATENCY), N $N, floor S/B $FLOOR s"
	setup_network

	# node 0 alone first: the naive object's blocks all land on it
	start_node 0
	wait_ready 0
	new_object naive
	local t0
	t0=$(now)
	REF=$(cli 0 --node "$(ep 0)" put "$WORK/naive.bin" --replicas 1)
	echo "naive object put on node 0 alone in $(elapsed "$t0" "$(now)") s: $REF"
	for i in $(seq 1 $((N - 1))); do start_node "$i" "$(ep 0)"; done
	wait_ready $(seq 1 $((N - 1)))
	wait_members
	echo "$N members live${GROUP_FLAG:+; nodes 1..$((N - 1)) started with $GROUP_FLAG $GROUP}"

	echo
	printf '%-28s %10s %8s   %s\n' method "last (s)" "/ floor" notes
	for m in $METHODS; do
		case $m in
		raw) run_raw ;;
		prefetch) run_prefetch ;;
		split) run_prefetch_split ;;
		direct | own) run_naive "$m" ;;
		*) die "unknown method $m" ;;
		esac
	done
	echo "targets: prefetch below 1.3 (Kraken's published p50 1.0, Dragonfly's 1.5); naive about N-1 = $((N - 1))"
	echo "packets dropped by tbf over the run, node:out/in: $(drops)"
	echo "load at end:$(uptime | sed 's/.*load average://')"
}

main "$@"
