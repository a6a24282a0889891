#!/usr/bin/env bash
# The HTTP interface against the CLI and a raw TCP connection, in the same
# run: `make bench-http` runs this after building bin/emerge. One node alone
# (replicas 1), an object of SIZE_MIB (default 1024) of random bytes; in each
# of RUNS runs (default 3) it is read by curl over HTTP, by `emerge get`
# streamed and through shared memory, and the same byte count crosses one
# loopback TCP connection (bench/rawlink); then put by curl and by `emerge
# put` (the object deleted before each put, so every put stores its blocks);
# then `rclone copy` of a tree (TREE_FILES files of TREE_MIB MiB and as many
# of 64 KiB) to the node's S3 interface and to a local directory. The first
# HTTP get, the HTTP put and the tree (rclone check) are checked byte for
# byte. It prints the median and the range of MB/s (10^6 bytes per second)
# and fails on a wrong byte, never on speed. Knobs: SIZE_MIB, RUNS,
# TREE_FILES (16), TREE_MIB (64), BIN (default bin/emerge), OUT (directory
# kept with the raw figures; default a temporary one). rclone comes from
# Debian (make s3-deps); without it the tree rows are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
BIN=${BIN:-bin/emerge}
OUT=${OUT:-$(mktemp -d /tmp/emerge-bench-http.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/emerge-bench-http-work.XXXXXX)
NODE_PID=
BYTES=$((SIZE_MIB << 20))
TREE_FILES=${TREE_FILES:-16}
TREE_MIB=${TREE_MIB:-64}
TREE_BYTES=$((TREE_FILES * (TREE_MIB << 20) + TREE_FILES * 65536))

cleanup() {
	if [[ -n $NODE_PID ]]; then
		kill "$NODE_PID" 2>/dev/null || true
		wait "$NODE_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/rawlink" ./bench/rawlink
head -c "$BYTES" /dev/urandom >"$WORK/object"

"$BIN" node --listen 127.0.0.1:* --pub-listen 127.0.0.1:* --http-listen 127.0.0.1:* --replicas 1 \
	--shm-bytes $((2 * SIZE_MIB + 64))MiB --data-dir "$WORK/data" --ready-file "$WORK/ready.json" \
	--s3-access-key AKBENCH --s3-secret-key benchsecret --log-level warn 2>"$OUT/node.log" &
NODE_PID=$!
for _ in $(seq 300); do [[ -s $WORK/ready.json ]] && break; sleep 0.1; done
[[ -s $WORK/ready.json ]] || { echo "node did not start: $(cat "$OUT/node.log")" >&2; exit 1; }
RPC=$(sed -E 's/.*"rpc":"([^"]+)".*/\1/' "$WORK/ready.json")
HTTP=$(sed -E 's/.*"http":"([^"]+)".*/\1/' "$WORK/ready.json")
export EMERGE_NODE=$RPC

# seconds runs a command and prints the seconds it took.
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null || { echo "failed: $*" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

record() { # record NAME SECONDS [BYTES]
	echo "$2" >>"$OUT/$1.sec"
	echo "${3:-$BYTES}" >"$OUT/$1.bytes"
	printf '  %-12s %8.0f MB/s\n' "$1" "$(echo "${3:-$BYTES} / $2 / 1000000" | bc -l)"
}

# rclone's remote "em:" is the node's S3 interface.
export RCLONE_CONFIG=$WORK/rclone.conf RCLONE_CONFIG_EM_TYPE=s3 RCLONE_CONFIG_EM_PROVIDER=Other \
	RCLONE_CONFIG_EM_ACCESS_KEY_ID=AKBENCH RCLONE_CONFIG_EM_SECRET_ACCESS_KEY=benchsecret RCLONE_CONFIG_EM_REGION=us-east-1
unset AWS_CA_BUNDLE
: >"$RCLONE_CONFIG"
make_tree() {
	mkdir -p "$WORK/tree/small"
	for i in $(seq "$TREE_FILES"); do
		head -c $((TREE_MIB << 20)) /dev/urandom >"$WORK/tree/f$i.bin"
		head -c 65536 /dev/urandom >"$WORK/tree/small/s$i.bin"
	done
}

raw_tcp() {
	local port
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$WORK/rawlink" -listen "127.0.0.1:$port" >"$WORK/raw.out" &
	local rx=$!
	"$WORK/rawlink" -send "127.0.0.1:$port" -bytes "$BYTES"
	wait "$rx"
	read -r got secs <"$WORK/raw.out"
	[[ $got == "$BYTES" ]] || { echo "rawlink moved $got bytes, want $BYTES" >&2; exit 1; }
	echo "$secs"
}

REF=$("$BIN" put "$WORK/object")
export RCLONE_CONFIG_EM_ENDPOINT=$HTTP
if [[ -x /usr/bin/rclone ]]; then
	make_tree
	rclone mkdir em:bench
else
	echo "rclone not installed (make s3-deps): tree rows skipped"
fi
curl -sf "$HTTP/ref/$REF" | cmp - "$WORK/object"
echo "object $REF, $SIZE_MIB MiB; node $RPC, $HTTP; load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
	echo "run $run"
	record http-get "$(seconds curl -sf -o /dev/null "$HTTP/ref/$REF")"
	record cli-get "$(seconds "$BIN" --no-shm get "$REF" -o /dev/null)"
	record cli-get-shm "$(seconds "$BIN" get "$REF" -o /dev/null)"
	record tcp "$(raw_tcp)"
	"$BIN" rm "$REF" >/dev/null
	record http-put "$(seconds curl -sf -T "$WORK/object" "$HTTP/ref")"
	curl -sf "$HTTP/ref/$REF" | cmp - "$WORK/object"
	"$BIN" rm "$REF" >/dev/null
	record cli-put "$(seconds "$BIN" --no-shm put "$WORK/object")"
	if [[ -x /usr/bin/rclone ]]; then
		record rclone-s3 "$(seconds rclone copy "$WORK/tree" "em:bench/run$run")" "$TREE_BYTES"
		rclone check "$WORK/tree" "em:bench/run$run" 2>>"$OUT/rclone.log"
		record rclone-local "$(seconds rclone copy "$WORK/tree" "$WORK/local$run")" "$TREE_BYTES"
		rclone purge "em:bench/run$run"
		rm -rf "$WORK/local$run"
	fi
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "| path | MB/s (median) | range |"
echo "|---|---|---|"
for name in http-get cli-get cli-get-shm tcp http-put cli-put rclone-s3 rclone-local; do
	[[ -s $OUT/$name.sec ]] || continue
	sort -g "$OUT/$name.sec" | awk -v b="$(cat "$OUT/$name.bytes")" -v name="$name" '
		{ s[NR] = $1 }
		END { m = s[int((NR + 1) / 2)]; printf "| %s | %.0f | %.0f–%.0f |\n", name, b / m / 1e6, b / s[NR] / 1e6, b / s[1] / 1e6 }'
done
