package main

// Examples shown by each command's help (kubectl's habit): commands a reader
// can paste. A test checks that every command has some.

const rootExample = `  emerge node                                  # run a node: rpc on 127.0.0.1:7700, data in ./emerge-data
  REF=$(emerge put weights.safetensors)        # store a file, print its ref
  emerge get $REF -o weights.safetensors       # fetch it back
  emerge --node 10.0.0.5:7700 ls               # talk to another node (or EMERGE_NODE=10.0.0.5:7700)
  source <(emerge completion bash)             # complete commands, refs, groups and flag values`

const nodeExample = `  emerge node                                           # defaults: 127.0.0.1:7700 (+7701 broadcast), ./emerge-data
  emerge node --config conf/emerge.yaml                 # every key documented there (emerge config)
  emerge node --listen 127.0.0.1:7710 --data-dir n2 --peers 127.0.0.1:7700   # a second node joining the first
  emerge node --shm-off --sync-writes --log-format json # booleans work bare
  emerge node --group actor --ready-file /run/emerge.json`

const putExample = `  emerge put weights.safetensors --meta step=1200
  cat data.bin | emerge put -                           # stdin
  emerge put big.bin --replicas 3 --json                # {"ref", "size", "copies", "replicas"}
  emerge put weights.bin --prefetch-group actor --wait  # spread to every actor node and wait
  emerge put policy.bin /models/policy.bin              # also name it: a new version of /models/policy.bin
  emerge put -r ./run-7 /datasets/run-7/                # a whole tree, one name per file`

const getExample = `  emerge get $REF -o weights.safetensors     # replaces the file (keeping its mode) once complete
  emerge get $REF -o weights.safetensors --no-clobber
  emerge get $REF > out.bin
  emerge get /models/policy.bin -o policy.bin  # the latest version of a name; /models/policy.bin@3 the third
  emerge --no-shm get $REF -o /dev/null       # stream over the socket even from the node's machine`

const rmExample = `  emerge rm $REF
  emerge rm $REF1 $REF2 $REF3                 # one line per ref; exit code of the first failure
  emerge rm --json $REF
  emerge rm /models/old.bin                   # the name goes; old.bin@N and its object stay
  emerge rm --all-versions /models/old.bin    # every version; objects no other name uses are deleted`

const statExample = `  emerge stat $REF
  emerge stat $REF1 $REF2                     # one block per ref
  emerge stat --holders $REF                  # which live members hold each block, copies per block
  emerge --json stat $REF | jq .local_blocks`

const healthExample = `  emerge health                               # this node: blocks under target, repair, scrub
  emerge health --all                         # every live member, one line each
  emerge --json health --all`

const lsExample = `  emerge ls
  emerge ls /models/                          # names: size, versions, owner, mode; -r for every name below
  emerge ls --json | jq -r '.[].ref'`

const peersExample = `  emerge peers
  emerge peers --events                       # also recent joins, departures, state changes
  emerge peers --json | jq -r '.[] | select(.state == "alive") | .node'`

const groupExample = `  emerge group join actor
  emerge group leave actor
  emerge group ls --json`

const prefetchExample = `  emerge prefetch start $REF --group actor --wait
  emerge prefetch start $REF --target 3f2a9c0d1e2b4a5f
  emerge prefetch status $REF
  emerge prefetch status $REF --json`

const infoExample = `  emerge info
  emerge --node 127.0.0.1:7710 info --json`

const configExample = `  emerge config > emerge.yaml                 # then edit, and: emerge node --config emerge.yaml`

const versionExample = `  emerge version
  emerge version --json`

const groupJoinExample = `  emerge group join actor
  emerge --node 10.0.0.7:7700 group join gpu`

const groupLeaveExample = `  emerge group leave actor`

const groupLsExample = `  emerge group ls
  emerge group ls --json`

const prefetchStartExample = `  emerge prefetch start $REF --group actor
  emerge prefetch start $REF --group actor --group gpu --wait
  emerge prefetch start $REF --target 3f2a9c0d1e2b4a5f --json
  emerge prefetch start $REF --group not-yet-used --allow-empty`

const prefetchStatusExample = `  emerge prefetch status $REF
  emerge prefetch status $REF --json | jq '.nodes[] | {node, state}'`
