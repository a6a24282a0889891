package store

import (
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// Check reads the whole store and reports what breaks its invariants: a
// use of a block that is not stored, a stored block with no use and no
// pin, a use older than PendingGrace whose object has no manifest, a
// record that does not decode, counters that differ from what is stored.
// An empty list means consistent. It is for tests (run it when the store
// is quiet: a put in progress legitimately has pending uses) and for
// offline checks; it holds every key in memory.
func (s *Store) Check() ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var (
		probs     []string
		sizes     = map[blocks.ID]int64{}
		manifests = map[blocks.Ref]bool{}
		used      = map[blocks.ID]bool{}
		now       = s.cfg.Clock()
	)
	report := func(format string, args ...any) {
		if len(probs) < 100 {
			probs = append(probs, fmt.Sprintf(format, args...))
		}
	}
	err := s.scan([]byte{prefixBlock}, func(_ *badger.Txn, item *badger.Item) error {
		id, _ := suffix32(item.Key())
		return item.Value(func(v []byte) error { sizes[id] = int64(len(v)); return nil })
	}, nil)
	if err == nil {
		err = s.scan([]byte{prefixManifest}, func(_ *badger.Txn, item *badger.Item) error {
			ref, _ := suffix32(item.Key())
			manifests[ref] = true
			return item.Value(func(v []byte) error {
				if _, _, err := decodeStored(ref, v); err != nil {
					report("manifest %s: %v", blocks.Ref(ref).Short(), err)
				}
				return nil
			})
		}, nil)
	}
	if err == nil {
		err = s.scan([]byte{prefixUse}, func(_ *badger.Txn, item *badger.Item) error {
			id, ref, ok := splitUseKey(item.Key())
			if !ok {
				report("use key %x malformed", item.Key())
				return nil
			}
			used[id] = true
			if _, ok := sizes[id]; !ok {
				report("use of block %s by %s: block not stored", id.Short(), ref.Short())
			}
			return item.Value(func(v []byte) error {
				_, at, ok := decodeUse(v)
				switch {
				case !ok:
					report("use of block %s by %s: value of %d bytes", id.Short(), ref.Short(), len(v))
				case !manifests[ref] && expired(at, now, s.cfg.PendingGrace):
					report("use of block %s by %s: no manifest since %s", id.Short(), ref.Short(), at.Format(time.RFC3339))
				}
				return nil
			})
		}, nil)
	}
	if err != nil {
		return probs, err
	}
	var bytes int64
	for id, n := range sizes {
		bytes += n
		if !used[id] && !s.isPinned(id) {
			report("block %s stored with no use and no pin", id.Short())
		}
	}
	if got, want := s.blocks.Load(), int64(len(sizes)); got != want {
		report("block counter %d, %d stored", got, want)
	}
	if got := s.blockBytes.Load(); got != bytes {
		report("block bytes counter %d, %d stored", got, bytes)
	}
	if got, want := s.objects.Load(), int64(len(manifests)); got != want {
		report("object counter %d, %d manifests", got, want)
	}
	slices.Sort(probs)
	return probs, nil
}
