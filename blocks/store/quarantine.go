package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// ErrQuarantined: a stored copy of a block did not match its id and was
// taken out of the store. It comes wrapped with blocks.ErrNotFound.
var ErrQuarantined = errors.New("stored copy failed its hash and was quarantined")

// Quarantined is a copy taken out of the store.
type Quarantined struct {
	ID     blocks.ID
	At     time.Time
	Reason string
}

// maxReason caps the reason kept with a quarantine record.
const maxReason = 200

// quarantine takes a bad copy of id out of the store: the block and every
// use of it are deleted (so the node neither serves nor counts it, and the
// copies of the object elsewhere show it under target to repair), and a
// record says when and why. The block's use stripes are held, so no commit
// writes a use of it meanwhile. Errors are logged: a copy that cannot be
// removed is still never served (GetBlock verifies every read).
func (s *Store) quarantine(id blocks.ID, reason string) {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	set := stripesOf([]blocks.ID{id})
	defer s.blockMu.writeUses(set)()
	var size int64
	var had bool
	err := s.db.Update(func(txn *badger.Txn) error {
		n, ok, err := valueLen(txn, blockKey(id))
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			// An unreadable value (lost by Badger) is removed all the same.
			ok, n = true, 0
		}
		had, size = ok, n
		if err := txn.Delete(blockKey(id)); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: usePrefix(id)})
		var uses [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			uses = append(uses, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range uses {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		rec := append(encodeTime(s.cfg.Clock()), reason...)
		return txn.Set(quarantineKey(id), rec)
	})
	if err != nil {
		s.log.Error().Err(err).Str("block", id.Short()).Msg("quarantine of a bad copy failed; it is still never served")
		return
	}
	if had {
		s.blocks.Add(-1)
		s.blockBytes.Add(-size)
	}
	s.quarantined.Add(1)
	s.log.Warn().Str("block", id.Short()).Str("reason", reason).Msg("stored copy failed its hash: quarantined")
	if s.cfg.OnQuarantine != nil {
		s.cfg.OnQuarantine(id)
	}
}

func quarantineKey(id blocks.ID) []byte { return key32(prefixQuarantine, id) }

// QuarantinedCount is the number of copies quarantined since the store
// opened (lost values found at open included).
func (s *Store) QuarantinedCount() int64 { return s.quarantined.Load() }

// QuarantineLog returns up to limit quarantine records, most recent last
// (records persist; Sweep drops those older than TombstoneTTL).
func (s *Store) QuarantineLog(limit int) ([]Quarantined, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []Quarantined
	err := s.scan([]byte{prefixQuarantine}, func(_ *badger.Txn, item *badger.Item) error {
		id, _ := suffix32(item.Key())
		return item.Value(func(v []byte) error {
			if len(v) < 8 {
				return nil
			}
			at, _ := decodeTime(v[:8])
			out = append(out, Quarantined{ID: id, At: at, Reason: string(v[8:])})
			return nil
		})
	}, nil)
	if len(out) > limit && limit > 0 {
		out = out[len(out)-limit:]
	}
	return out, err
}

// Quarantine takes id's stored copy out of the store as GetBlock does when a
// read fails its hash (the scrub, and tests that simulate damage).
func (s *Store) Quarantine(id blocks.ID, reason string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.quarantine(id, reason)
	return nil
}

// quarantineLost removes the blocks whose value the open found unreadable
// or empty (Badger truncated a damaged value log): they are reported like
// any bad copy, for repair to replace.
func (s *Store) quarantineLost(ids []blocks.ID) {
	for _, id := range ids {
		s.quarantine(id, "value lost from the value log")
	}
	if len(ids) > 0 {
		s.log.Warn().Int("blocks", len(ids)).Msg("blocks lost from the value log at open; quarantined for repair")
	}
}

// errLost marks a block whose value cannot be read back.
var errLost = fmt.Errorf("%w: value lost", ErrQuarantined)
