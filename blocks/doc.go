// Package blocks holds emerge's storage primitives: block ids (BLAKE3-256 of
// the block's bytes), the fixed-size chunker, the manifest that lists an
// object's blocks, and the sentinel errors every layer maps to wire
// statuses. The Badger-backed store lives in blocks/store, so that a client
// importing blocks links no database.
//
// blocks imports nothing else from emerge; every other package builds on it.
package blocks
