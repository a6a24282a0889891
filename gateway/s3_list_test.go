package gateway

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

func memWith(t *testing.T, keys ...string) *MemoryNamespace {
	m := NewMemoryNamespace()
	ctx := context.Background()
	if err := m.CreateBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if _, err := m.Put(ctx, "b", Entry{Key: k, Ref: blocks.Ref{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Listing with a delimiter rolls keys up into common prefixes, pages of
// max keys resume where the last ended (after a prefix: past all its
// keys), and no key or prefix is listed twice or skipped.
func TestListPagesAndPrefixes(t *testing.T) {
	keys := []string{"a", "d/1", "d/2", "d/x/3", "e", "f/1", "f/2", "g", "ü"}
	g := &s3Gateway{ns: memWith(t, keys...)}
	r := httptest.NewRequest("GET", "/b", nil)
	for _, max := range []int{1, 2, 3, 1000} {
		var got []string
		after := ""
		for {
			l, err := g.list(r, "b", "", "/", after, max)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.entries {
				got = append(got, e.Key)
			}
			got = append(got, l.prefixes...)
			if !l.truncated {
				break
			}
			after = l.last
		}
		want := []string{"a", "e", "g", "ü", "d/", "f/"}
		if !sameSet(got, want) {
			t.Errorf("max %d: %q, want %q", max, got, want)
		}
	}
	l, _ := g.list(r, "b", "d/", "/", "", 1000)
	if len(l.entries) != 2 || !reflect.DeepEqual(l.prefixes, []string{"d/x/"}) {
		t.Errorf("under d/: %+v", l)
	}
	l, _ = g.list(r, "b", "d/", "", "d/1", 1000)
	if len(l.entries) != 2 || l.entries[0].Key != "d/2" {
		t.Errorf("after d/1, no delimiter: %+v", l.entries)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] != 1 {
			return false
		}
	}
	return true
}

// A ref named by two keys is released only when the second goes.
func TestMemoryNamespaceRefCounts(t *testing.T) {
	ctx := context.Background()
	m := memWith(t)
	ref := blocks.Ref{7}
	m.Put(ctx, "b", Entry{Key: "x", Ref: ref})
	m.Put(ctx, "b", Entry{Key: "y", Ref: ref})
	if unused, _ := m.Delete(ctx, "b", "x"); len(unused) != 0 {
		t.Fatalf("released while y names it: %v", unused)
	}
	if unused, _ := m.Put(ctx, "b", Entry{Key: "y", Ref: blocks.Ref{8}}); len(unused) != 1 || unused[0] != ref {
		t.Fatalf("overwriting y: %v", unused)
	}
	if err := m.DeleteBucket(ctx, "b"); err == nil {
		t.Fatal("deleted a bucket that holds y")
	}
}
