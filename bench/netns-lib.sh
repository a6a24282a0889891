# netns-lib.sh: the network of the tc-shaped benchmarks, sourced by
# bench/prefetch-netns.sh and bench/repair-netns.sh (never run alone).
#
# Each node runs in its own network namespace with one veth link to a bridge
# that lives in a namespace of its own, so nothing is added to the root
# namespace. Each link is shaped with tbf to RATE_MBIT in both directions:
# egress of the node's end (what the node sends) and egress of the bridge's
# end (what it receives).
#
# The sourcing script sets, before calling these: N, RATE_MBIT, BURST,
# TC_LATENCY, LOG_LEVEL, BIN, SUBNET, PORT, SCRIPT (its name, for messages),
# MAKE_TARGET (the make target that runs it), and optionally GROUP (nodes
# started with a seed join it) and NODE_ARGS (an array of extra `emerge node`
# flags, e.g. config keys).

P=emnet-$$      # prefix of this run's namespaces
BR=$P-br        # the namespace holding the bridge
WORK=
PIDS=()         # nodes and helpers, killed on exit
NODE_PIDS=()

die() { echo "$SCRIPT: $*" >&2; exit 1; }

# ns_pids: every process inside this run's node namespaces (nodes, clients,
# rawlink), whatever started it.
ns_pids() {
	local i
	for i in $(seq 0 $((N - 1))); do ip netns pids "$P-$i" 2>/dev/null || true; done
}

cleanup() {
	local p t
	for p in "${PIDS[@]}" $(ns_pids); do kill "$p" 2>/dev/null || true; done
	for t in $(seq 100); do # nodes shut down gracefully: give them 10 s
		[[ -z $(ns_pids) ]] && break
		sleep 0.1
	done
	for p in $(ns_pids); do kill -9 "$p" 2>/dev/null || true; done
	for t in $(seq 20); do [[ -z $(ns_pids) ]] && break; sleep 0.1; done
	for i in $(seq 0 $((N - 1))); do ip netns del "$P-$i" 2>/dev/null || true; done
	ip netns del "$BR" 2>/dev/null || true # takes the bridge and the veths' bridge ends with it
	if [[ -n $WORK && ${KEEP:-} != 1 ]]; then rm -rf "$WORK"; fi
	if [[ -n $WORK && ${KEEP:-} == 1 ]]; then echo "kept $WORK" >&2; fi
}

preflight() {
	[[ $(id -u) == 0 ]] || die "must run as root (it creates network namespaces and tc qdiscs); try: sudo make $MAKE_TARGET"
	command -v ip >/dev/null || die "ip (iproute2) not found"
	command -v tc >/dev/null || die "tc (iproute2) not found"
	command -v go >/dev/null || die "go not found (builds bench/rawlink)"
	((N >= 2 && N <= 200)) || die "N=$N: need 2..200 nodes"
	if [[ ! -x $BIN ]]; then
		[[ $BIN == bin/emerge ]] || die "EMERGE_BIN=$BIN is not executable"
		echo "building $BIN (make build)" >&2
		make build >&2
	fi
	BIN=$(realpath "$BIN")
}

ns() { echo "$P-$1"; }      # namespace of node i
ip_of() { echo "$SUBNET.$(($1 + 1))"; }
ep() { echo "tcp://$(ip_of "$1"):$PORT"; }
in_ns() { local i=$1; shift; ip netns exec "$(ns "$i")" "$@"; }
# cli I ARGS...: the CLI in node I's namespace. It runs as a job the shell
# waits for, so that Ctrl-C reaches the traps below: the CLI catches SIGINT
# itself, and bash does not run its own INT trap when a foreground command
# caught the signal and exited normally.
cli() {
	local i=$1
	shift
	EMERGE_HOST_ID=netns-$i ip netns exec "$(ns "$i")" "$BIN" "$@" &
	wait $!
}

# shape NS DEV: tbf at B on the egress of DEV in namespace NS.
shape() { ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "${RATE_MBIT}mbit" burst "$BURST" latency "$TC_LATENCY"; }

setup_network() {
	local i
	ip netns add "$BR"
	ip -n "$BR" link add br0 type bridge
	ip -n "$BR" link set br0 up
	ip -n "$BR" link set lo up
	for i in $(seq 0 $((N - 1))); do
		ip netns add "$(ns "$i")"
		ip link add "v$i" netns "$BR" type veth peer name eth0 netns "$(ns "$i")"
		ip -n "$BR" link set "v$i" master br0 up
		ip -n "$(ns "$i")" addr add "$(ip_of "$i")/24" dev eth0
		ip -n "$(ns "$i")" link set eth0 up
		ip -n "$(ns "$i")" link set lo up
		shape "$(ns "$i")" eth0 # what node i sends
		shape "$BR" "v$i"       # what node i receives
	done
}

# node_flags_supported sets GROUP_FLAG and SHM_FLAG from `emerge node --help`.
node_flags_supported() {
	local help
	help=$("$BIN" node --help)
	GROUP_FLAG=
	if grep -q -- '--group ' <<<"$help"; then GROUP_FLAG=--group; elif grep -q -- '--groups ' <<<"$help"; then GROUP_FLAG=--groups; fi
	SHM_FLAG=
	if grep -q -- '--shm-dir ' <<<"$help"; then SHM_FLAG=--shm-dir; fi
}

# start_node I [SEED]: runs node I in its namespace and waits for its ready file.
start_node() {
	local i=$1 seed=${2:-} d="$WORK/n$1"
	mkdir -p "$d/shm"
	local args=(node --listen "$(ep "$i")" --pub-listen "tcp://$(ip_of "$i"):$((PORT + 1))" --data-dir "$d/data"
		--host-id "netns-$i" --ready-file "$d/ready.json" --log-format json --log-level "$LOG_LEVEL"
		--insecure) # plaintext on the veths: the namespaces are this machine's own
	[[ -n $seed ]] && args+=(--peers "$seed")
	[[ -n $seed && -n ${GROUP:-} && -n $GROUP_FLAG ]] && args+=("$GROUP_FLAG" "$GROUP")
	args+=("${NODE_ARGS[@]}")
	[[ -n $SHM_FLAG ]] && args+=("$SHM_FLAG" "$d/shm")
	ip netns exec "$(ns "$i")" "$BIN" "${args[@]}" >"$d/log" 2>&1 &
	PIDS+=($!) # ip netns exec execs: this is the node's pid
	NODE_PIDS+=($!)
}

wait_ready() {
	local i t
	for i in "$@"; do
		for t in $(seq 100); do [[ -s $WORK/n$i/ready.json ]] && break; sleep 0.1; done
		[[ -s $WORK/n$i/ready.json ]] || { cat "$WORK/n$i/log" >&2; die "node $i did not start"; }
	done
}

# wait_members: every node sees N live members (deadline 30 s).
wait_members() {
	local i t
	for i in $(seq 0 $((N - 1))); do
		for t in $(seq 300); do
			[[ $(cli "$i" --node "$(ep "$i")" peers --json | grep -c '"state": "alive"') == "$N" ]] && continue 2
			sleep 0.1
		done
		cli "$i" --node "$(ep "$i")" peers >&2
		die "node $i does not see $N live members after 30 s"
	done
}

# tx_bytes: bytes sent by each node's link so far, one line "i bytes".
tx_bytes() {
	local i
	for i in $(seq 0 $((N - 1))); do echo "$i $(in_ns "$i" cat /sys/class/net/eth0/statistics/tx_bytes)"; done
}

# rx_bytes: bytes received by each node's link so far, one line "i bytes".
rx_bytes() {
	local i
	for i in $(seq 0 $((N - 1))); do echo "$i $(in_ns "$i" cat /sys/class/net/eth0/statistics/rx_bytes)"; done
}

# sent_mib BEFORE AFTER: "node:MiB" each node sent between the two snapshots.
sent_mib() {
	awk 'NR == FNR { b[$1] = $2; next } { printf "%s%d:%.0f", sep, $1, ($2 - b[$1]) / 1048576; sep = " " }' "$1" "$2"
}

# drops: packets each link's tbf dropped so far, "node:out/in".
drops() {
	local i out in sep=
	for i in $(seq 0 $((N - 1))); do
		out=$(ip netns exec "$(ns "$i")" tc -s qdisc show dev eth0 | grep -o -m1 'dropped [0-9]*' | cut -d' ' -f2)
		in=$(ip netns exec "$BR" tc -s qdisc show dev "v$i" | grep -o -m1 'dropped [0-9]*' | cut -d' ' -f2)
		printf '%s%d:%s/%s' "$sep" "$i" "$out" "$in"
		sep=' '
	done
}

# node_cpu: CPU seconds (user + system) the nodes have used so far.
node_cpu() {
	local p ticks=0
	for p in "${NODE_PIDS[@]}"; do
		[[ -r /proc/$p/stat ]] && ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}

# cpu_since BEFORE NOW: the CPU seconds between two readings (node_cpu, proc_cpu).
cpu_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
