package store

import (
	"bytes"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

// PutBlocks stores a batch as PutBlock would one by one: a block already
// stored and one given twice are stored (and counted) once.
func TestPutBlocksCountsEachBlockOnce(t *testing.T) {
	s := openStore(t, testConfig(t, newTestClock()))
	data := randomBlocks(newRand(t), 5, 0)
	putBlocks(t, s, data[:1])
	batch := append(data[:len(data):len(data)], data[2])
	ids := make([]blocks.ID, len(batch))
	for i, b := range batch {
		ids[i] = blocks.Sum(b)
	}
	if err := s.PutBlocks(ids, batch); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil || st.Blocks != 5 || st.BlockBytes != int64(5*testBlockSize) {
		t.Fatalf("stats %+v, %v; want 5 blocks of %d bytes", st, err, testBlockSize)
	}
	for i, id := range ids {
		if got, err := s.GetBlock(id, nil); err != nil || !bytes.Equal(got, batch[i]) {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	if err := s.PutBlocks(ids[:2], batch[:1]); err == nil {
		t.Fatal("PutBlocks took 2 ids for 1 block")
	}
}
