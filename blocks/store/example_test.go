package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
)

// A put on one node: chunk, hash, pin, store, commit, unpin; then read the
// object back and delete it.
func ExampleStore() {
	dir, _ := os.MkdirTemp("", "emerge-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	data := bytes.Repeat([]byte("emerge "), 20_000) // 140,000 bytes
	c, _ := blocks.NewChunker(bytes.NewReader(data), blocks.MinBlockSize)
	m := &blocks.Manifest{BlockSize: blocks.MinBlockSize, Size: int64(len(data)), Replicas: 1, Created: time.Now()}
	buf := make([]byte, blocks.MinBlockSize)
	for {
		b, err := c.Next(buf)
		if err != nil {
			break // io.EOF
		}
		id := blocks.Sum(b)
		s.Pin(id) // protect it from Sweep until the commit
		if err := s.PutBlock(id, b); err != nil {
			log.Fatal(err)
		}
		m.Blocks = append(m.Blocks, id)
	}
	ref, _ := m.Ref()
	err = s.Commit(ref, m, store.UseOwner)
	s.Unpin(m.Blocks...) // the uses written by Commit protect them now
	if err != nil {
		log.Fatal(err)
	}

	got, use, _ := s.Manifest(ref)
	var out []byte
	for _, id := range got.Blocks {
		b, _ := s.GetBlock(id, nil)
		out = append(out, b...)
	}
	fmt.Println(len(got.Blocks), "blocks,", use, bytes.Equal(out, data))

	freed, _ := s.Delete(ref, time.Now())
	_, _, err = s.Manifest(ref)
	fmt.Println(freed, "bytes freed, deleted:", errors.Is(err, blocks.ErrDeleted))
	// Output:
	// 3 blocks, owner true
	// 140000 bytes freed, deleted: true
}
