package shm_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
)

// A node makes an object hot; a local client maps it without a copy.
func Example_get() {
	dir, _ := os.MkdirTemp("", "shm-example-")
	defer os.RemoveAll(dir)
	tier, err := shm.Open(shm.Config{Dir: dir + "/tier", Capacity: 1 << 20})
	if err != nil {
		panic(err)
	}
	defer tier.Close()

	// Node side: make hot.
	data := []byte("hello, shared memory")
	ref := blocks.Ref(blocks.Sum(data)) // stands in for the object's ref
	w, _ := tier.Create(ref, int64(len(data)))
	defer w.Abort() // no-op once sealed
	w.Write(data)
	if err := w.Seal(); err != nil {
		panic(err)
	}

	// Node side: answer a local get with the path; client side: map it.
	path, size, _ := tier.Acquire(ref)
	v, err := shm.OpenView(path, size)
	if err != nil {
		panic(err) // shm.ErrStale: ask the node again or stream instead
	}
	defer v.Close()
	fmt.Println(string(v.Bytes()))
	// Output: hello, shared memory
}

// A local client puts an object by filling a file the node created; the
// node seals it, persists it, and keeps it as the hot copy without a copy.
func Example_put() {
	dir, _ := os.MkdirTemp("", "shm-example-")
	defer os.RemoveAll(dir)
	tier, _ := shm.Open(shm.Config{Dir: dir + "/tier", Capacity: 1 << 20})
	defer tier.Close()

	data := []byte("put without a socket")
	// Node, on the client's request:
	up, _ := tier.CreateUpload(int64(len(data)))
	// Client, given up.Path:
	if _, err := shm.WriteUpload(up.Path, bytes.NewReader(data)); err != nil {
		panic(err)
	}
	// Node, when the client says it is done:
	f, size, err := tier.SealUpload(up.Name)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, size)
	f.ReadAt(buf, 0) // the node hashes and stores the object here
	f.Close()
	ref := blocks.Ref(blocks.Sum(buf))
	if err := tier.CommitUpload(up.Name, ref); err != nil {
		panic(err)
	}
	fmt.Println(tier.Has(ref), tier.Stats().Uploads)
	// Output: true 0
}
