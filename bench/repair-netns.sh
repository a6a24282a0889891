#!/usr/bin/env bash
# Repair benchmark: how long N nodes over tc-shaped links take to bring every
# block back to its target number of copies after one node that held S_lost
# bytes of them is killed (kill -9). `make bench-repair` runs this; it needs
# root (network namespaces, tc). docs/benchmarks.md ("Repair after node
# loss") explains the figures.
#
# The network is that of bench/prefetch-netns.sh (bench/netns-lib.sh): one
# namespace per node, one veth to a bridge, tbf at RATE_MBIT each way.
#
# Each row starts a fresh cluster of N nodes (repair_delay REPAIR_DELAY, the
# other repair keys at their defaults unless the row says otherwise), puts
# objects totalling SIZE_MIB through the nodes in turn (in parallel, one put
# at a time per node), checks that every block is at its target, reads from
# `emerge stat --holders` which blocks the victim holds that would fall under
# target without it (S_lost), kills the victim and polls until `stat
# --holders` shows every block at its target among the live members again.
#
# Times (from the kill, polled every 0.2 s or so): dead = node 0 lists the
# victim as dead; first = `emerge health --all` shows repaired bytes; bytes =
# the survivors' repaired bytes reach S_lost; checked = `stat --holders`
# shows every block at its target (it asks every member about every block,
# so it answers in seconds while repair fills the links: it confirms, it
# does not time). The repair time is bytes - dead - REPAIR_DELAY: what
# repair took once it was allowed to start. The floor is S_lost over the aggregate link rate of the
# N-1 survivors (each receives at RATE_MBIT): S_lost * 8 / ((N-1) * RATE).
# After each row a sample of objects is read back through survivors and
# compared byte for byte with what was put.
#
# Rows (ROWS, default "default rate"):
#   default   repair keys at their defaults (repair_rate 64 MiB/s, 4 streams)
#   rate      repair_rate RAISED_RATE (default 1GiB) and repair_streams
#             RAISED_STREAMS (default 8)
#
# Knobs (environment): N (default 5), REPLICAS (default 2), SIZE_MIB (default
# 1024; QUICK=1 makes it 256), OBJ_MIB (object size, default 64; QUICK=1: 32),
# RATE_MBIT (default 200), BURST, TC_LATENCY (as prefetch-netns.sh),
# REPAIR_DELAY (default 5s), VICTIM (node index, default N-1), VERIFY
# (objects read back after repair, default 4), TIMEOUT (seconds to wait for
# repair, default 900), EMERGE_BIN (default bin/emerge), LOG_LEVEL (default
# info: the repair passes' log lines say where the time goes), KEEP=1 keeps
# the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-5}
REPLICAS=${REPLICAS:-2}
SIZE_MIB=${SIZE_MIB:-$([[ ${QUICK:-} == 1 ]] && echo 256 || echo 1024)}
OBJ_MIB=${OBJ_MIB:-$([[ ${QUICK:-} == 1 ]] && echo 32 || echo 64)}
RATE_MBIT=${RATE_MBIT:-200}
BURST=${BURST:-256kb}
TC_LATENCY=${TC_LATENCY:-50ms}
REPAIR_DELAY=${REPAIR_DELAY:-5s}
RAISED_RATE=${RAISED_RATE:-1GiB}
RAISED_STREAMS=${RAISED_STREAMS:-8}
ROWS=${ROWS:-default rate}
VICTIM=${VICTIM:-$((N - 1))}
VERIFY=${VERIFY:-4}
TIMEOUT=${TIMEOUT:-900}
LOG_LEVEL=${LOG_LEVEL:-info}
BIN=${EMERGE_BIN:-bin/emerge}
SUBNET=10.78.0
PORT=7700
SCRIPT=repair-netns
MAKE_TARGET=bench-repair
NODE_ARGS=()
# shellcheck source=bench/netns-lib.sh
source bench/netns-lib.sh

COUNT=$((SIZE_MIB / OBJ_MIB))
DELAY_S=$(awk -v d="$REPAIR_DELAY" 'BEGIN { v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; print v }')

# node_id I: the member id of node I (from its ready file).
node_id() { jq -r .node "$WORK/n$1/ready.json"; }

# holders FILE: `stat --holders --json` of every ref through node 0, into FILE
# (one JSON document per ref).
holders() {
	cli 0 --node "$(ep 0)" --json stat --holders "${REFS[@]}" >"$1" 2>"$1.err"
}

# under FILE: blocks with fewer live durable copies than the target, plus
# the number of silent members reported (both must be 0 when repaired).
under() {
	jq -s '[.[] | .replicas as $r | (.blocks[] | select((.owners | length) < $r)) ] | length' "$1"
}
silent() { jq -s '[.[] | (.silent // [])[]] | length' "$1"; }

# repaired_bytes: bytes repaired so far by every live member (health --all).
repaired_bytes() {
	cli 0 --node "$(ep 0)" --json health --all 2>/dev/null | jq -s '[.[] | if type == "array" then .[] else . end | .repaired_bytes] | add // 0'
}

# victim_dead: node 0 lists the victim as dead or gone.
victim_dead() {
	local state
	state=$(cli 0 --node "$(ep 0)" --json peers 2>/dev/null |
		jq -r --arg id "$VICTIM_ID" '[.. | objects | select(.id? == $id or .node? == $id) | .state] | first // "gone"')
	[[ $state != alive && $state != suspect ]]
}

start_cluster() {
	local i
	start_node 0
	wait_ready 0
	for i in $(seq 1 $((N - 1))); do start_node "$i" "$(ep 0)"; done
	wait_ready $(seq 1 $((N - 1)))
	wait_members
}

stop_cluster() {
	local p t
	for p in $(ns_pids); do kill "$p" 2>/dev/null || true; done
	for t in $(seq 100); do [[ -z $(ns_pids) ]] && break; sleep 0.1; done
	for p in $(ns_pids); do kill -9 "$p" 2>/dev/null || true; done
	for t in $(seq 20); do [[ -z $(ns_pids) ]] && break; sleep 0.1; done
	rm -rf "$WORK"/n*
	NODE_PIDS=()
}

# put_all: puts the COUNT objects, object k through node k mod N, the nodes
# in parallel; sets REFS (in object order).
put_all() {
	local k i pids=()
	for i in $(seq 0 $((N - 1))); do
		(
			for k in $(seq 0 $((COUNT - 1))); do
				((k % N == i)) || continue
				cli "$i" --node "$(ep "$i")" put --replicas "$REPLICAS" "$WORK/obj$k.bin" >"$WORK/ref$k" 2>"$WORK/put$k.err" ||
					{ echo "put of object $k through node $i failed: $(cat "$WORK/put$k.err")" >&2; exit 1; }
			done
		) &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k" || die "a put failed"; done
	REFS=()
	for k in $(seq 0 $((COUNT - 1))); do REFS+=("$(cat "$WORK/ref$k")"); done
}

# verify: VERIFY objects spread over the list, each read back through a
# different survivor and compared with what was put.
verify() {
	local j k i step=$((COUNT / VERIFY > 0 ? COUNT / VERIFY : 1)) checked=0
	for j in $(seq 0 $((VERIFY - 1))); do
		k=$(((j * step) % COUNT))
		i=$((j % N))
		((i == VICTIM)) && i=$(((i + 1) % N))
		cli "$i" --node "$(ep "$i")" get "${REFS[$k]}" -o "$WORK/back.bin" || die "get of object $k through node $i failed after repair"
		cmp -s "$WORK/back.bin" "$WORK/obj$k.bin" || die "object $k read through node $i differs from what was put"
		rm -f "$WORK/back.bin"
		checked=$((checked + 1))
	done
	VERIFIED=$checked
}

# pass_lines: the survivors' repair log lines of this row (time, node, message).
pass_lines() {
	local i
	for i in $(seq 0 $((N - 1))); do
		((i == VICTIM)) && continue
		jq -r --arg n "$i" 'select(.message | test("repair|census|copies above")) |
			"\(.time) node \($n): \(.message) \(del(.time, .level, .message) | tostring)"' "$WORK/n$i/log" 2>/dev/null || true
	done | sort
}

run_row() {
	local row=$1 t0 tput tkill tdead= tfirst= tbytes= tdone= rep i lost_blocks held_blocks bs
	NODE_ARGS=(--repair-delay "$REPAIR_DELAY")
	case $row in
	default) ;;
	rate) NODE_ARGS+=(--repair-rate "$RAISED_RATE" --repair-streams "$RAISED_STREAMS") ;;
	*) die "unknown row $row (want default, rate)" ;;
	esac
	echo "== row $row: ${NODE_ARGS[*]}"
	start_cluster
	VICTIM_ID=$(node_id "$VICTIM")
	t0=$(now)
	put_all
	tput=$(elapsed "$t0" "$(now)")
	holders "$WORK/holders.before"
	[[ $(under "$WORK/holders.before") == 0 ]] || die "blocks under target before the kill: $(under "$WORK/holders.before")"
	bs=$(cli 0 --node "$(ep 0)" --json stat "${REFS[0]}" | jq .block_size)
	# blocks the victim holds, and those of them that fall under target without it
	held_blocks=$(jq -s --arg v "$VICTIM_ID" '[.[] | .blocks[] | select(.owners | index($v))] | length' "$WORK/holders.before")
	lost_blocks=$(jq -s --arg v "$VICTIM_ID" '[.[] | .replicas as $r | .blocks[] | select((.owners | index($v)) and ((.owners | length) - 1 < $r))] | length' "$WORK/holders.before")
	S_LOST=$((lost_blocks * bs))
	echo "put $COUNT x $OBJ_MIB MiB in $tput s; victim node $VICTIM ($VICTIM_ID) holds $held_blocks blocks, $lost_blocks of them fall under target without it: S_lost $((S_LOST >> 20)) MiB"
	rx_bytes >"$WORK/rx.before"
	tx_bytes >"$WORK/tx.before"
	local cpu0
	cpu0=$(node_cpu)
	tkill=$(now)
	{ kill -9 "${NODE_PIDS[$VICTIM]}" && wait "${NODE_PIDS[$VICTIM]}"; } 2>/dev/null || true # no "Killed" line
	# Cheap polls (peers, health) until the survivors have repaired S_lost
	# bytes; then `stat --holders`, which asks every member about every
	# block and answers slowly while repair fills the links, confirms it.
	local t n=0
	while :; do
		t=$(elapsed "$tkill" "$(now)")
		awk -v t="$t" -v m="$TIMEOUT" 'BEGIN { exit !(t > m) }' && {
			pass_lines | tail -n 20 >&2
			die "row $row: blocks still under target $TIMEOUT s after the kill"
		}
		if [[ -z $tdead ]] && victim_dead; then tdead=$t; fi
		rep=$(repaired_bytes)
		[[ $rep == null ]] && rep=0
		if [[ -z $tfirst && $rep != 0 ]]; then tfirst=$t; fi
		if [[ -z $tbytes && $rep -ge $S_LOST ]]; then tbytes=$(elapsed "$tkill" "$(now)"); fi
		# the holders check: once the bytes are there, and every 20th poll
		# after repair began (in case copies land that health does not count)
		if [[ -n $tbytes ]] || { [[ -n $tfirst ]] && ((++n % 20 == 0)); }; then
			holders "$WORK/holders.now" || true
			if [[ -s $WORK/holders.now && $(under "$WORK/holders.now") == 0 && $(silent "$WORK/holders.now") == 0 ]]; then
				tdone=$(elapsed "$tkill" "$(now)")
				break
			fi
		fi
		sleep 0.2
	done
	[[ -n $tbytes ]] || tbytes=$tdone
	CPU=$(cpu_since "$cpu0" "$(node_cpu)")
	rx_bytes >"$WORK/rx.after"
	tx_bytes >"$WORK/tx.after"
	rep=$(repaired_bytes)
	verify
	local floor repair ratio
	floor=$(awk -v s="$S_LOST" -v n="$((N - 1))" -v r="$RATE_MBIT" 'BEGIN { printf "%.2f", s * 8 / (n * r * 1e6) }')
	repair=$(awk -v d="$tbytes" -v x="$tdead" -v y="$DELAY_S" 'BEGIN { printf "%.1f", d - x - y }')
	ratio=$(awk -v a="$repair" -v f="$floor" 'BEGIN { printf "%.2f", (f > 0) ? a / f : 0 }')
	printf '%-8s %8s %8s %8s %8s %8s %9s %8s %7s %8s %6s\n' "$row" "$((S_LOST >> 20))" "$tdead" "${tfirst:--}" "$tbytes" "$tdone" "$repair" "$floor" "$ratio" \
		"$((rep >> 20))" "$CPU" | tee -a "$WORK/table"
	echo "  link MiB received by node: $(sent_mib "$WORK/rx.before" "$WORK/rx.after")"
	echo "  link MiB sent by node:     $(sent_mib "$WORK/tx.before" "$WORK/tx.after")"
	echo "  $VERIFIED objects read back through survivors: byte-exact"
	echo "  repair log (survivors):"
	pass_lines | sed 's/^/    /'
	stop_cluster
}

main() {
	preflight
	command -v jq >/dev/null || die "jq not found (apt-get install jq)"
	((VICTIM >= 1 && VICTIM < N)) || die "VICTIM=$VICTIM: need 1..N-1 (node 0 is the seed and the observer)"
	((COUNT >= 1)) || die "SIZE_MIB=$SIZE_MIB is less than OBJ_MIB=$OBJ_MIB"
	((REPLICAS >= 2 && REPLICAS < N)) || die "REPLICAS=$REPLICAS: need 2..N-1"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d /tmp/emerge-repair.XXXXXX)
	node_flags_supported
	echo "emerge $("$BIN" version 2>/dev/null | head -1), $(nproc) CPU, load at start:$(uptime | sed 's/.*load average://')"
	echo "N $N, replicas $REPLICAS, $COUNT objects x $OBJ_MIB MiB = $SIZE_MIB MiB, B $RATE_MBIT Mbit/s per link each way (tbf burst $BURST, latency $TC_LATENCY), repair_delay $REPAIR_DELAY, victim node $VICTIM"
	local k
	for k in $(seq 0 $((COUNT - 1))); do head -c $((OBJ_MIB << 20)) /dev/urandom >"$WORK/obj$k.bin"; done
	setup_network
	: >"$WORK/table"
	for r in $ROWS; do run_row "$r"; done
	echo
	echo "times in seconds from the kill -9: dead (node 0 says so), first (repaired bytes in health --all), bytes (the"
	echo "repaired bytes reach S_lost), checked (stat --holders shows nothing under target); repair = bytes - dead -"
	echo "repair_delay; floor = S_lost / ((N-1) x B)"
	printf '%-8s %8s %8s %8s %8s %8s %9s %8s %7s %8s %6s\n' row "S_lost" dead first bytes checked repair floor "/floor" "rep MiB" "CPU s"
	cat "$WORK/table"
	echo "packets dropped by tbf over the run, node:out/in: $(drops)"
	echo "load at end:$(uptime | sed 's/.*load average://')"
}

main "$@"
