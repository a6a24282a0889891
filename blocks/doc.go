// Package blocks holds emerge's storage primitives: block ids (BLAKE3-256 of
// the block's bytes), the fixed-size chunker, the manifest that lists an
// object's blocks, and the Badger-backed Store that keeps blocks, manifests,
// the block-use index and tombstones.
//
// blocks imports nothing else from emerge; every other package builds on it.
package blocks
