package node_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/node"
	"github.com/emerge-dev/emerge/rpc"
	zmq "github.com/pebbe/zmq4"
)

func shmNode(t *testing.T, capacity int64) (*node.Node, *client.Client) {
	t.Helper()
	n := nodetest.Start(t, func(c *node.Config) { c.ShmBytes = units.ByteSize(capacity) })
	c := nodetest.Client(t, n)
	if !c.Local() {
		t.Fatal("client in the node's process does not see the node as local")
	}
	return n, c
}

func mustView(t *testing.T, c *client.Client, ref blocks.Ref, want []byte, mapped bool) *client.View {
	t.Helper()
	v, err := c.GetView(nodetest.Context(t, time.Minute), ref)
	if err != nil {
		t.Fatalf("view %s: %v", ref.Short(), err)
	}
	if v.Mapped() != mapped || !bytes.Equal(v.Bytes(), want) {
		t.Fatalf("view %s: mapped %v (want %v), %d bytes, equal %v", ref.Short(), v.Mapped(), mapped, v.Size(),
			bytes.Equal(v.Bytes(), want))
	}
	return v
}

// checkUnder fails if the tier's accounting or its files exceed capacity.
func checkUnder(t *testing.T, tier *shm.Tier) {
	t.Helper()
	st := tier.Stats()
	var files int64
	ents, _ := os.ReadDir(tier.Dir())
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			files += fi.Size()
		}
	}
	if st.Used > st.Capacity || files > st.Capacity {
		t.Fatalf("shared memory over capacity: used %d, files %d, capacity %d", st.Used, files, st.Capacity)
	}
}

// Local put through an upload file and local get through a view, with no
// byte on the socket, for sizes around the block size; small objects go
// inline. Objects put by streaming become hot in the background.
func TestShmRoundTrip(t *testing.T) {
	n, c := shmNode(t, 64<<20)
	ctx := nodetest.Context(t, time.Minute)
	for _, size := range []int{0, 1, bs, bs + 1, 5*bs + 7} {
		data := testdata.Bytes(uint64(size)+100, size)
		ref, err := c.Put(ctx, bytes.NewReader(data), client.PutOptions{})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if size > bs && !n.Shm().Has(ref) {
			t.Fatalf("put of %d bytes through shared memory left no hot copy", size)
		}
		mustView(t, c, ref, data, true).Close()
		r, err := c.Get(ctx, ref)
		if err != nil || !r.Local() {
			t.Fatalf("get %d: local %v, err %v", size, r != nil && r.Local(), err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %d via hot reader: %d bytes, err %v", size, len(got), err)
		}
	}
	streamer, err := client.Dial(ctx, n.Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer streamer.Close()
	data := testdata.Bytes(7, 3*bs)
	ref, err := streamer.PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "a streamed put to become hot", func() bool { return n.Shm().Has(ref) })
	if v := mustView(t, streamer, ref, data, false); v.Mapped() {
		t.Fatal("NoShm client mapped shared memory")
	}
	mustView(t, c, ref, data, true).Close()
	checkUnder(t, n.Shm())
}

// A view keeps its bytes after the node evicts the object, and the
// evicted object is made hot again on the next view.
func TestShmViewSurvivesEviction(t *testing.T) {
	n, c := shmNode(t, 8<<20)
	ctx := nodetest.Context(t, time.Minute)
	a, b := testdata.Bytes(1, 6*bs), testdata.Bytes(2, 6*bs)
	refA, err := c.PutBytes(ctx, a, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	va := mustView(t, c, refA, a, true)
	defer va.Close()
	refB, err := c.PutBytes(ctx, b, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Shm().Has(refA) || !n.Shm().Has(refB) || n.Shm().Stats().Evictions == 0 {
		t.Fatalf("A not evicted for B: %+v", n.Shm().Stats())
	}
	if !bytes.Equal(va.Bytes(), a) {
		t.Fatal("view of an evicted object changed")
	}
	if _, err := c.Delete(ctx, refA); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(va.Bytes(), a) {
		t.Fatal("view of a deleted object changed")
	}
	if _, err := c.GetView(ctx, refA); !errors.Is(err, client.ErrDeleted) && !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("view of a deleted object: %v", err)
	}
	mustView(t, c, refB, b, true).Close()
	checkUnder(t, n.Shm())
}

// Filling past shm_bytes through puts and gets evicts, least recently used
// first, and never holds more than shm_bytes.
func TestShmCapacityThroughNode(t *testing.T) {
	const capacity = 10 << 20
	n, c := shmNode(t, capacity)
	ctx := nodetest.Context(t, time.Minute)
	var refs []blocks.Ref
	var objs [][]byte
	for i := 0; i < 8; i++ {
		data := testdata.Bytes(uint64(i)+20, 3*bs+i)
		ref, err := c.PutBytes(ctx, data, client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs, objs = append(refs, ref), append(objs, data)
		checkUnder(t, n.Shm())
	}
	for round := 0; round < 2; round++ {
		for i, ref := range refs {
			mustView(t, c, ref, objs[i], true).Close()
			checkUnder(t, n.Shm())
		}
	}
	st := n.Shm().Stats()
	if st.Evictions < 8 || st.Entries > 3 {
		t.Fatalf("8 objects of 3 MiB cycled through 10 MiB: %+v", st)
	}
}

// An object larger than shm_bytes is put and read by streaming, without
// an error; a node with shared memory off serves local clients by
// streaming as well.
func TestShmLargerThanCapacityStreams(t *testing.T) {
	n, c := shmNode(t, 4<<20)
	ctx := nodetest.Context(t, time.Minute)
	data := testdata.Bytes(3, 6*bs+3)
	ref, err := c.PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, c, ref, data, false).Close()
	r, err := c.Get(ctx, ref)
	if err != nil || r.Local() {
		t.Fatalf("get of an object larger than shm: local %v, err %v", r != nil && r.Local(), err)
	}
	r.Close()
	if n.Shm().Stats().Used != 0 {
		t.Fatalf("object larger than shm left something: %+v", n.Shm().Stats())
	}

	off := nodetest.Start(t, func(c *node.Config) { c.ShmOff = true })
	oc := nodetest.Client(t, off)
	ref, err = oc.PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, oc, ref, data, false).Close()
	if off.Shm() != nil || oc.Local() {
		t.Fatal("shm_off node has a tier, or its client still thinks it local")
	}
	if _, err := oc.CreateUpload(ctx, 10); !errors.Is(err, client.ErrNotLocal) {
		t.Fatalf("CreateUpload on a shm_off node: %v", err)
	}
}

// An explicit upload into a full tier fails clearly and leaves nothing;
// Put falls back to streaming; an aborted upload leaves no object.
func TestShmFullUpload(t *testing.T) {
	n, c := shmNode(t, 8<<20)
	ctx := nodetest.Context(t, time.Minute)
	u, err := c.CreateUpload(ctx, 6*bs)
	if err != nil {
		t.Fatal(err)
	}
	data := testdata.Bytes(4, 6*bs)
	copy(u.Bytes(), data)
	if _, err := c.CreateUpload(ctx, 6*bs); !errors.Is(err, client.ErrShmFull) || !errors.Is(err, client.ErrNoSpace) {
		t.Fatalf("second upload into a full tier: %v", err)
	}
	if _, err := c.CreateUpload(ctx, 9*bs); !errors.Is(err, client.ErrTooLarge) {
		t.Fatalf("upload over capacity: %v", err)
	}
	other := testdata.Bytes(5, 4*bs)
	refOther, err := c.Put(ctx, bytes.NewReader(other), client.PutOptions{})
	if err != nil {
		t.Fatalf("put while the tier is full of an upload: %v", err)
	}
	u.Abort()
	if objs, err := c.ListAll(ctx); err != nil || len(objs) != 1 || objs[0].Ref != refOther {
		t.Fatalf("objects after an aborted upload: %v %v", objs, err)
	}
	u, err = c.CreateUpload(ctx, 6*bs)
	if err != nil {
		t.Fatal(err)
	}
	copy(u.Bytes(), data)
	ref, err := u.Seal(ctx, client.PutOptions{ContentType: "x/y"})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := c.PutBytes(ctx, data, client.PutOptions{ContentType: "x/y"}); want != ref {
		t.Fatalf("sealed upload and put of the same bytes differ: %s %s", ref, want)
	}
	mustView(t, c, ref, data, true).Close()
	if st := n.Shm().Stats(); st.Uploads != 0 {
		t.Fatalf("uploads left: %+v", st)
	}
}

// A node restarted on the same shm_dir removes what a crashed run left.
func TestShmRestartCleansStale(t *testing.T) {
	cfg := nodetest.Config(t)
	dir := cfg.ShmDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ref := blocks.Ref(blocks.Sum([]byte("stale")))
	for _, name := range []string{ref.String(), "tmp-3", "up-0123456789abcdef01234567", "pool-2"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o600)
	n := nodetest.StartConfig(t, cfg)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "README" || n.Shm().Has(ref) {
		t.Fatalf("after restart %s holds %v", dir, ents)
	}
	n.Close()
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Fatal("Close removed a file the tier did not make")
	}
}

// A get through a node that had to fetch the object from a peer makes it
// hot there.
func TestShmHotAfterRemoteGet(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) { c.Replicas = 1 })
	ctx := nodetest.Context(t, time.Minute)
	c0, err := client.Dial(ctx, nodes[0].Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c0.Close()
	data := testdata.Bytes(6, 4*bs)
	// 64 blocks: the second node holds some but not all of them.
	ref, err := c0.PutBytes(ctx, data, client.PutOptions{BlockSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := client.Dial(ctx, nodes[1].Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	got, err := c1.GetBytes(ctx, ref)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get through the second node: %v", err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the fetched object to become hot", func() bool { return nodes[1].Shm().Has(ref) })
}

// Hostile shared-memory requests from a raw connection: names outside the
// directory, unknown uploads, bad sizes and refs are refused, a seal of an
// upload a client still holds is refused without losing the upload, and
// the node keeps serving.
func TestShmHostileRequests(t *testing.T) {
	n, c := shmNode(t, 16<<20)
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer zctx.Term()
	conn, err := rpc.Dial(rpc.ConnConfig{Context: zctx, Endpoint: n.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := nodetest.Context(t, time.Minute)
	for _, r := range []struct {
		op   rpc.Op
		body rpc.Body
		want error
	}{
		{rpc.OpShmSeal, &rpc.ShmSealReq{Name: "../../etc/passwd"}, rpc.ErrBadRequest},
		{rpc.OpShmSeal, &rpc.ShmSealReq{Name: "up-000000000000000000000000"}, rpc.ErrBadRequest},
		{rpc.OpShmAbort, &rpc.ShmAbortReq{Name: ""}, rpc.ErrBadRequest},
		{rpc.OpShmCreate, &rpc.ShmCreateReq{Size: -1}, rpc.ErrBadRequest},
		{rpc.OpShmCreate, &rpc.ShmCreateReq{Size: 1 << 40}, rpc.ErrTooLarge},
		{rpc.OpShmGet, &rpc.ShmGetReq{Ref: []byte("short")}, rpc.ErrBadRequest},
	} {
		if _, err := conn.Call(ctx, r.op, r.body, nil); !errors.Is(err, r.want) {
			t.Errorf("%s %+v: %v, want %v", r.op, r.body, err, r.want)
		}
	}
	m, err := conn.Call(ctx, rpc.OpShmCreate, &rpc.ShmCreateReq{Size: 2 * bs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var up rpc.ShmFileRep
	if err := m.Decode(&up); err != nil {
		t.Fatal(err)
	}
	held, err := shm.MapUpload(up.Path, up.Size)
	if err != nil {
		t.Fatal(err)
	}
	data := testdata.Bytes(9, 2*bs)
	copy(held.Bytes(), data)
	if _, err := conn.Call(ctx, rpc.OpShmSeal, &rpc.ShmSealReq{Name: up.Name}, nil); !errors.Is(err, rpc.ErrBadRequest) {
		t.Fatalf("seal of an upload a client holds: %v", err)
	}
	held.Close()
	m, err = conn.Call(ctx, rpc.OpShmSeal, &rpc.ShmSealReq{Name: up.Name}, nil)
	if err != nil {
		t.Fatalf("seal once released: %v", err)
	}
	var put rpc.PutRep
	if err := m.Decode(&put); err != nil {
		t.Fatal(err)
	}
	ref, _ := rpc.ParseRef(put.Ref)
	mustView(t, c, ref, data, true).Close()
}
