package names

import (
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Storage keeps small named records: a node's block store meta records
// satisfy it. GetMeta returns an error matching blocks.ErrNotFound for a
// record never written.
type Storage interface {
	GetMeta(name string) ([]byte, error)
	PutMeta(name string, val []byte) error
}

// recordName is the record of bucket b: one record per bucket, rewritten
// whole when the bucket changes.
func recordName(b int) string { return fmt.Sprintf("names/%02x", b) }

// load reads every bucket record back.
func (ns *Namespace) load() error {
	if ns.cfg.Storage == nil {
		return nil
	}
	for b := range ns.buckets {
		val, err := ns.cfg.Storage.GetMeta(recordName(b))
		if errors.Is(err, blocks.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("names: read bucket %02x: %w", b, err)
		}
		entries, err := DecodeEntries(val)
		if err != nil {
			return fmt.Errorf("names: bucket %02x: %w", b, err)
		}
		for _, e := range entries {
			if BucketOf(e.Path) == b && checkEntry(e) == nil {
				ns.insertLocked(b, e)
				ns.clock.observe(e.HLC)
			}
		}
	}
	return nil
}

// saveLocked rewrites bucket b's record.
func (ns *Namespace) saveLocked(b int) error {
	if ns.cfg.Storage == nil {
		return nil
	}
	val, err := EncodeEntries(ns.bucketLocked(b))
	if err != nil {
		return err
	}
	if err := ns.cfg.Storage.PutMeta(recordName(b), val); err != nil {
		return fmt.Errorf("names: write bucket %02x: %w", b, err)
	}
	return nil
}
