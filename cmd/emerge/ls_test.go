package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/rpc"
)

// TestLsPages: ls prints every object of a node holding more than one page
// (the node answers at most rpc.MaxListLimit a page), in ref order, and
// --json writes exactly the array printJSON writes of the whole list.
func TestLsPages(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const count = rpc.MaxListLimit + 7
	buf := make([]byte, 64)
	for i := range count {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		if _, err := c.PutBytes(ctx, buf, client.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.ListAll(ctx)
	if err != nil || len(all) != count {
		t.Fatalf("ListAll: %d objects, %v", len(all), err)
	}
	ep := "--node=" + n.Endpoint()
	r := runCLI(t, nil, ep, "ls")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != count+1 || !strings.HasPrefix(lines[0], "REF ") {
		t.Fatalf("ls: exit %d, %d lines (want %d), stderr %q", r.code, len(lines), count+1, r.stderr)
	}
	cols := columns(lines[0])
	for i, o := range all {
		if !strings.HasPrefix(lines[i+1], o.Ref.String()+" ") {
			t.Fatalf("ls line %d: %q, want ref %s", i+1, lines[i+1], o.Ref)
		}
		if got := columns(lines[i+1]); got != cols {
			t.Fatalf("ls line %d: columns at %v, the header's at %v:\n%s\n%s", i+1, got, cols, lines[0], lines[i+1])
		}
	}
	var want bytes.Buffer
	if err := printJSON(&want, all); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, ep, "ls", "--json"); r.code != 0 || r.stdout != want.String() {
		t.Fatalf("ls --json: exit %d, %d bytes, want the %d of printJSON; stderr %q", r.code, len(r.stdout), want.Len(), r.stderr)
	}
	// Each page is written before the next is asked for: a writer that
	// cancels on its first write leaves exactly the first page printed.
	pctx, pcancel := context.WithCancel(ctx)
	cw := &cancelWriter{cancel: pcancel}
	if err := lsObjects(pctx, c, cw, false); err == nil {
		t.Fatal("ls with its context cancelled after the first page: no error")
	}
	if got := strings.Count(cw.buf.String(), "\n"); got != rpc.MaxListLimit+1 {
		t.Fatalf("ls cancelled after the first page printed %d lines, want %d", got, rpc.MaxListLimit+1)
	}
	var none bytes.Buffer
	printJSON(&none, []client.Info{})
	empty := nodetest.Start(t, nil)
	if r := runCLI(t, nil, "--node="+empty.Endpoint(), "ls", "--json"); r.code != 0 || r.stdout != none.String() {
		t.Fatalf("ls --json of no objects: %q, want %q", r.stdout, none.String())
	}
}

// columns returns where an ls line's BLOCKS HERE and CREATED columns start,
// in the header or in an object's line.
func columns(line string) [2]int {
	if strings.HasPrefix(line, "REF ") {
		return [2]int{strings.Index(line, "BLOCKS HERE"), strings.Index(line, "CREATED")}
	}
	var at [2]int
	for i, re := range []*regexp.Regexp{regexp.MustCompile(` [0-9]+/[0-9]+ `), regexp.MustCompile(` [0-9]{4}-[0-9]{2}-[0-9]{2} `)} {
		at[i] = re.FindStringIndex(line)[0] + 1
	}
	return at
}

type cancelWriter struct {
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.buf.Write(p)
}
