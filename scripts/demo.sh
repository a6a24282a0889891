#!/usr/bin/env bash
# A real put/get through a local node: start `emerge node` on a free port
# with data in a temporary directory, store a 64 MiB file, read it back,
# compare, show stat/ls/info, and stop the node. Usage: demo.sh [path/to/emerge]
set -euo pipefail
BIN=${1:-bin/emerge}
WORK=$(mktemp -d /tmp/emerge-demo.XXXXXX)
NODE_PID=
cleanup() {
	[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting a node (data in $WORK/node)"
"$BIN" node --listen 'tcp://127.0.0.1:*' --data-dir "$WORK/node" --ready-file "$WORK/ready.json" \
	--log-format console --log-level warn &
NODE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "node did not start"; exit 1; }
EP=$(sed -E 's/.*"rpc":"([^"]+)".*/\1/' "$WORK/ready.json")
export EMERGE_NODE=$EP
echo "   node serving on $EP"

echo "== writing a 64 MiB random file"
head -c $((64 << 20)) /dev/urandom > "$WORK/in.bin"

echo "== emerge put"
t0=$(date +%s.%N)
REF=$("$BIN" put "$WORK/in.bin" --meta demo=true)
t1=$(date +%s.%N)
echo "   ref $REF  ($(awk "BEGIN{printf \"%.2f\", 64/($t1-$t0)}") MiB/s)"

echo "== emerge get"
t0=$(date +%s.%N)
"$BIN" get "$REF" -o "$WORK/out.bin"
t1=$(date +%s.%N)
echo "   $(awk "BEGIN{printf \"%.2f\", 64/($t1-$t0)}") MiB/s"
cmp "$WORK/in.bin" "$WORK/out.bin" && echo "   byte-exact: the file came back identical"

echo "== emerge stat $REF"
"$BIN" stat "$REF"
echo "== emerge ls"
"$BIN" ls
echo "== emerge info"
"$BIN" info
echo "== emerge get of an unknown ref (exit code 3 = not found)"
set +e
"$BIN" get 0000000000000000000000000000000000000000000000000000000000000001 > /dev/null
echo "   exit code $?"
set -e
echo "== done; stopping the node"
