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
#   cold      emerge from a cold start with the object on one node: `emerge
#             put FILE --replicas 1` on node 0 (the entry node keeps the
#             first replica, so every block is there alone), then `emerge
#             prefetch start REF --group actor --wait`, timed apart
#   bt        the peer to beat, a real BitTorrent swarm over the same links:
#             mktorrent makes the .torrent (timed apart, like the put),
#             Debian's opentracker tracks it and one aria2c seeds it in node
#             0's namespace, N-1 aria2c leech it, one in each other
#             namespace, and keep seeding until the last one is complete.
#             The tools come from Debian's packages (mktorrent, opentracker,
#             aria2, curl), installed with apt-get when missing. The run
#             ends with emerge's times over BitTorrent's.
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
# split cold bt direct own"; split = a plain put, then `prefetch start
# --wait`), EMERGE_BIN (default bin/emerge, built with `make build` when
# missing), LOG_LEVEL of the nodes (default warn), KEEP=1 keeps the work
# directory (node logs, data) after the run.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-8}
SIZE_MIB=${SIZE_MIB:-$([[ ${QUICK:-} == 1 ]] && echo 64 || echo 256)}
RATE_MBIT=${RATE_MBIT:-200}
BURST=${BURST:-256kb}
TC_LATENCY=${TC_LATENCY:-50ms}
METHODS=${METHODS:-raw prefetch split cold bt direct own}
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
	CPU=$(cpu_since "$cpu0" "$(node_cpu)")
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
	CPU=$(cpu_since "$cpu0" "$(node_cpu)")
	tx_bytes >"$WORK/tx.after"
	T_PREFETCH=$(elapsed "$t0" "$t1")
	row "prefetch (put --wait)" "$T_PREFETCH" \
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
	local t0 t1 t2 t3 ref
	new_object split
	tx_bytes >"$WORK/tx.before"
	t0=$(now)
	ref=$(cli 0 --node "$(ep 0)" put "$WORK/split.bin") || die "put failed"
	t1=$(now)
	tx_bytes >"$WORK/tx.mid"
	row "  put alone (replicas)" "$(elapsed "$t0" "$t1")" \
		"MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.mid")"
	t2=$(now) # the counters and the row above are not the prefetch's time
	cli 0 --node "$(ep 0)" prefetch start "$ref" --group "$GROUP" --wait >"$WORK/split-prefetch.out" ||
		die "prefetch start failed"
	t3=$(now)
	tx_bytes >"$WORK/tx.after"
	row "  then prefetch start --wait" "$(elapsed "$t2" "$t3")" \
		"MiB sent (link tx) by node: $(sent_mib "$WORK/tx.mid" "$WORK/tx.after")"
	check_held "$ref"
}

# run_cold: emerge from a cold start with the object on one node, the
# counterpart of the bt row: a put through node 0 with --replicas 1 (the
# entry node keeps the first replica, so every block is on node 0 alone),
# then `prefetch start --wait` to the group, timed on its own.
run_cold() {
	if ! "$BIN" prefetch start --help 2>/dev/null | grep -q -- --wait; then
		echo "cold: not supported by this binary" | tee -a "$WORK/table"
		return 0
	fi
	local t0 t1 t2 t3 ref cpu0
	new_object cold
	tx_bytes >"$WORK/tx.before"
	t0=$(now)
	ref=$(cli 0 --node "$(ep 0)" put "$WORK/cold.bin" --replicas 1) || die "put --replicas 1 failed"
	t1=$(now)
	tx_bytes >"$WORK/tx.mid"
	row "  put alone (--replicas 1)" "$(elapsed "$t0" "$t1")" \
		"$(one_holder "$ref"); MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.mid")"
	cpu0=$(node_cpu)
	rx_trace_start cold
	t2=$(now) # the holders check, the counters and the row above are not the prefetch's time
	cli 0 --node "$(ep 0)" prefetch start "$ref" --group "$GROUP" --wait >"$WORK/cold-prefetch.out" ||
		die "prefetch start failed"
	t3=$(now)
	CPU=$(cpu_since "$cpu0" "$(node_cpu)")
	tx_bytes >"$WORK/tx.after"
	T_COLD=$(elapsed "$t2" "$t3")
	row "cold (prefetch start --wait)" "$T_COLD" \
		"object on node 0 only; nodes' CPU ${CPU} s; MiB sent (link tx) by node: $(sent_mib "$WORK/tx.mid" "$WORK/tx.after")"
	echo "    s until half/all of S received, by node: $(rx_trace_stop cold "$t2")" | tee -a "$WORK/table"
	check_held "$ref"
}

# one_holder REF: "one holder" when every block of REF has a single copy, all
# on the same member (`emerge stat --holders`), else a description of the
# copies; the cold row is only a cold start in the first case.
one_holder() {
	local table verdict
	table=$(cli 0 --node "$(ep 0)" stat --holders "$1" 2>&1) || { echo "holders unknown: $table"; return 0; }
	verdict=$(awk '$1 ~ /^[0-9]+$/ { n++; if ($3 != 1 || NF > 4) bad++; h[$4] = 1 }
		END { m = 0; for (k in h) m++; if (bad == 0 && m == 1) print "one holder"; else printf "%d of %d blocks with other copies, %d holders", bad, n, m }' <<<"$table")
	[[ $verdict == "one holder" ]] || echo "warning: cold object not on node 0 alone: $verdict" >&2
	echo "$verdict"
}

# rx_trace_start NAME: samples how many bytes each node's link has
# received (the tx counter of the bridge's end, after its tbf) four times a
# second into $WORK/rx-NAME.tsv, one line "time bytes0 bytes1 ...", until
# rx_trace_stop. One bash in the bridge's namespace, no process per sample
# but sleep.
rx_trace_start() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$BR" bash -c 'while :; do
			printf %s "$EPOCHREALTIME"
			for ((i = 0; i < $1; i++)); do read -r b <"/sys/class/net/v$i/statistics/tx_bytes"; printf " %s" "$b"; done
			printf "\n"
			sleep 0.25
		done' _ "$N" >"$WORK/rx-$1.tsv" &
	TRACE_PID=$!
	PIDS+=($!)
}

# rx_trace_stop NAME T0: ends the sampling and prints, for each node 1..N-1,
# the seconds after T0 until its link had received half of S and all of S
# ("node:half/all"; the counters include headers and requests, so "all" is
# a little early).
rx_trace_stop() {
	kill "$TRACE_PID" 2>/dev/null || true
	wait "$TRACE_PID" 2>/dev/null || true
	awk -v t0="$2" -v s="$S" -v n="$N" '
		NR == 1 { for (i = 1; i < n; i++) b[i] = $(i + 2) }
		{ for (i = 1; i < n; i++) {
			got = $(i + 2) - b[i]
			if (!(i in half) && got >= s / 2) half[i] = $1 - t0
			if (!(i in all) && got >= s) all[i] = $1 - t0
		} }
		END { for (i = 1; i < n; i++) printf "%s%d:%s/%s", (i > 1 ? " " : ""), i,
			(i in half) ? sprintf("%.1f", half[i]) : "-", (i in all) ? sprintf("%.1f", all[i]) : "-"; print "" }' "$WORK/rx-$1.tsv"
}

# bt_tools: mktorrent, opentracker, aria2c and curl (the seed's check),
# installed from Debian's packages when missing.
bt_tools() {
	local missing=() c
	command -v mktorrent >/dev/null || missing+=(mktorrent)
	command -v opentracker >/dev/null || missing+=(opentracker)
	command -v aria2c >/dev/null || missing+=(aria2)
	command -v curl >/dev/null || missing+=(curl)
	((${#missing[@]} == 0)) && return 0
	echo "installing ${missing[*]} (apt-get)" >&2
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >&2 ||
		die "could not install ${missing[*]} with apt-get (the bt method needs mktorrent, opentracker, aria2c, curl; or leave bt out of METHODS)"
	for c in mktorrent opentracker aria2c curl; do
		command -v "$c" >/dev/null || die "$c still missing after apt-get install ${missing[*]}"
	done
}

BT_PORT=6969 # the tracker's, in node 0's namespace
# aria2c options shared by the seed and the leechers: the tracker is the
# only way to find peers (no DHT, no local discovery), no preallocation, and
# seeding that never stops by itself (ratio 0), so that a leecher that has
# finished keeps serving the others until the script kills the swarm.
BT_ARGS=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --disable-ipv6=true
	--file-allocation=none --seed-ratio=0.0 --summary-interval=0 --enable-color=false
	--console-log-level=warn --log-level=notice --listen-port=6881)

# run_bt: the same dissemination by a real BitTorrent swarm: mktorrent
# (1 MiB pieces) makes the .torrent of a fresh object in node 0's namespace,
# opentracker runs there too, one aria2c seeds it there, and N-1 aria2c
# leech it, one in each other namespace. Timed from the leechers' launch to
# the last leecher's completion (aria2c's --on-bt-download-complete hook);
# mktorrent is timed apart, like emerge's put.
run_bt() {
	local d="$WORK/bt" t0 t1 k pids=() cpu0 trace
	mkdir -p "$d/seed" "$d/tracker"
	head -c "$S" /dev/urandom >"$d/seed/bt.bin"
	t0=$(now)
	mktorrent -l 20 -a "http://$(ip_of 0):$BT_PORT/announce" -o "$d/bt.torrent" "$d/seed/bt.bin" >"$d/mktorrent.log" 2>&1 ||
		die "mktorrent failed: $(tail -n 1 "$d/mktorrent.log")"
	t1=$(now)
	T_MK=$(elapsed "$t0" "$t1")
	bt_tracker "$d"
	bt_seed "$d"
	# shellcheck disable=SC2016 # the hook expands $3, not this script
	printf '#!/bin/sh\n# aria2c hook: GID, number of files, path of the first file\ndate +%%s.%%N >"$(dirname "$3")/done"\n' >"$d/done.sh"
	chmod 755 "$d/done.sh"
	tx_bytes >"$WORK/tx.before"
	cpu0=$(proc_cpu "$BT_SEED")
	rx_trace_start bt
	t0=$(now)
	for k in $(seq 1 $((N - 1))); do
		mkdir -p "$d/l$k"
		ip netns exec "$(ns "$k")" aria2c "${BT_ARGS[@]}" --dir="$d/l$k" --log="$d/l$k.log" \
			--on-bt-download-complete="$d/done.sh" "$d/bt.torrent" >"$d/l$k.out" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	bt_wait "$d" "$t0" "${pids[@]}"
	trace=$(rx_trace_stop bt "$t0")
	tx_bytes >"$WORK/tx.after"
	CPU=$(cpu_since "$cpu0" "$(proc_cpu "$BT_SEED" "${pids[@]}")")
	kill "$BT_SEED" "$BT_TRACKER" "${pids[@]}" 2>/dev/null || true
	wait "$BT_SEED" "$BT_TRACKER" "${pids[@]}" 2>/dev/null || true
	for k in $(seq 1 $((N - 1))); do
		cmp -s "$d/seed/bt.bin" "$d/l$k/bt.bin" || die "bt: leecher $k's file differs from the source"
	done
	T_BT=$LAST
	row "bt (aria2c swarm)" "$T_BT" \
		"leechers' launch to last complete, all verified; mktorrent $T_MK s apart; aria2c CPU ${CPU} s; MiB sent (link tx) by node: $(sent_mib "$WORK/tx.before" "$WORK/tx.after")"
	echo "    s until half/all of S received, by node: $trace; complete (hook): $(bt_done "$d" "$t0")" | tee -a "$WORK/table"
	rm -f "$d"/seed/bt.bin "$d"/l*/bt.bin # N copies of S bytes; the logs stay (KEEP=1)
}

# bt_tracker DIR: opentracker in node 0's namespace. Debian's build only
# tracks the info hashes in its whitelist; it chroots into DIR/tracker and
# drops to nobody, so the whitelist's path is relative to that directory.
bt_tracker() {
	local d=$1 hash
	hash=$(aria2c -S "$d/bt.torrent" | awk '/^Info Hash:/ { print $3 }')
	[[ $hash =~ ^[0-9a-f]{40}$ ]] || die "bt: no info hash in the output of aria2c -S $d/bt.torrent"
	echo "$hash" >"$d/tracker/whitelist.txt"
	echo "access.whitelist /whitelist.txt" >"$d/tracker/opentracker.conf"
	chmod 755 "$d/tracker"
	chmod 644 "$d/tracker/whitelist.txt" "$d/tracker/opentracker.conf"
	BT_HASH=$hash
	ip netns exec "$(ns 0)" opentracker -i "$(ip_of 0)" -p "$BT_PORT" -P "$BT_PORT" -f "$d/tracker/opentracker.conf" -d "$d/tracker" \
		>"$d/tracker.log" 2>&1 &
	BT_TRACKER=$! # ip netns exec execs: these are the programs' pids
	PIDS+=($!)
}

# bt_seed DIR: one aria2c seeding the object in node 0's namespace; it
# checks the file's pieces first (-V), and returns once the tracker counts
# it as a seed (scrape: complete 1), so the leechers' time has no hashing.
bt_seed() {
	local d=$1 scrape
	ip netns exec "$(ns 0)" aria2c "${BT_ARGS[@]}" -V --dir="$d/seed" --log="$d/seed.log" "$d/bt.torrent" >"$d/seed.out" 2>&1 &
	BT_SEED=$!
	PIDS+=($!)
	scrape="http://$(ip_of 0):$BT_PORT/scrape?info_hash=$(sed 's/../%&/g' <<<"$BT_HASH")"
	for _ in $(seq 600); do
		in_ns 0 curl -s --max-time 2 "$scrape" 2>/dev/null | grep -aq 'completei1e' && return 0
		kill -0 "$BT_SEED" 2>/dev/null || die "bt: the seeding aria2c exited: $(tail -n 3 "$d/seed.out")"
		sleep 0.1
	done
	die "bt: the tracker does not count the seed after 60 s (tracker log: $(tail -n 2 "$d/tracker.log"))"
}

# bt_wait DIR T0 PID...: waits until every leecher wrote DIR/lK/done (each
# keeps seeding meanwhile); sets LAST to the latest completion after T0.
# Fails when a leecher exits or after 20 x (N-1) floors.
bt_wait() {
	local d=$1 t0=$2 k p deadline
	shift 2
	deadline=$(awk -v t="$t0" -v f="$FLOOR" -v n="$N" 'BEGIN { printf "%d", t + 20 * (n - 1) * f + 60 }')
	for k in $(seq 1 $((N - 1))); do
		until [[ -s $d/l$k/done ]]; do
			for p in "$@"; do kill -0 "$p" 2>/dev/null || die "bt: a leecher exited early: $(tail -n 3 "$d"/l*.out)"; done
			(($(date +%s) < deadline)) || die "bt: leecher $k not complete by the deadline"
			sleep 0.1
		done
	done
	LAST=0
	for k in $(seq 1 $((N - 1))); do
		LAST=$(awk -v a="$LAST" -v b="$(elapsed "$t0" "$(cat "$d/l$k/done")")" 'BEGIN { print (b > a) ? b : a }')
	done
}

# bt_done DIR T0: each leecher's completion, "node:seconds after T0".
bt_done() {
	local k sep=
	for k in $(seq 1 $((N - 1))); do
		printf '%s%d:%s' "$sep" "$k" "$(elapsed "$2" "$(cat "$1/l$k/done")")"
		sep=' '
	done
}

# proc_cpu PID...: CPU seconds (user + system) the processes used so far.
proc_cpu() {
	local p ticks=0
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] && ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}

# ratios: emerge's times over BitTorrent's, from the rows of this run; once,
# at the end of the run or, when a later row failed, on the way out.
ratios() {
	[[ -n ${T_BT:-} && -z ${RATIOS_DONE:-} ]] || return 0
	RATIOS_DONE=1
	ratio_line "emerge cold / bt" "${T_COLD:-}" "$T_BT"
	ratio_line "emerge prefetch (put included) / bt" "${T_PREFETCH:-}" "$T_BT"
	ratio_line "emerge prefetch (put included) / (mktorrent + bt)" "${T_PREFETCH:-}" \
		"$(awk -v a="$T_MK" -v b="$T_BT" 'BEGIN { printf "%.3f", a + b }')"
}

ratio_line() { # LABEL EMERGE BT
	[[ -n $2 ]] || return 0
	awk -v l="$1" -v e="$2" -v b="$3" 'BEGIN { printf "%s = %.2f (goal <= 0.8; %s s / %s s)\n", l, e / b, e, b }' | tee -a "$WORK/table"
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
	if [[ " $METHODS " == *" bt "* ]]; then bt_tools; fi
	trap 'ratios || true; cleanup' EXIT
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
		cold) run_cold ;;
		bt) run_bt ;;
		direct | own) run_naive "$m" ;;
		*) die "unknown method $m" ;;
		esac
	done
	ratios
	echo "targets: prefetch below 1.3 (Kraken's published p50 1.0, Dragonfly's 1.5); naive about N-1 = $((N - 1))"
	echo "packets dropped by tbf over the run, node:out/in: $(drops)"
	echo "load at end:$(uptime | sed 's/.*load average://')"
}

main "$@"
