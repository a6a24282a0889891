package registry

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/zeebo/blake3"
)

func nodes(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = mem(fmt.Sprintf("node-%02d", i), 1)
	}
	return ms
}

// hashedKey is what block ids look like: a BLAKE3 hash.
func hashedKey(i int) [32]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	return blake3.Sum256(b[:])
}

// countedKey is a structured key (a counter in the first bytes), to check
// the score mixes well without help from the key.
func countedKey(i int) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], uint64(i))
	return k
}

func TestPlaceDeterministic(t *testing.T) {
	ms := nodes(20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		key := hashedKey(i)
		want := ids(Place(key, ms, 4))
		shuffled := slices.Clone(ms)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := ids(Place(key, shuffled, 4)); !slices.Equal(got, want) {
			t.Fatalf("key %d: %v with shuffled members, %v before", i, got, want)
		}
		rank := ids(Rank(key, shuffled))
		if len(rank) != len(ms) || !slices.Equal(rank[:4], want) {
			t.Fatalf("key %d: Rank %v does not start with Place %v", i, rank, want)
		}
		if got := ids(Place(key, ms, 18)); !slices.Equal(got, rank[:18]) {
			t.Fatalf("key %d: Place(n=18) %v is not Rank's prefix", i, got)
		}
	}
}

func TestPlaceEdges(t *testing.T) {
	ms := nodes(3)
	key := hashedKey(1)
	if Place(key, ms, 0) != nil || Place(key, nil, 3) != nil || Place(key, ms, -1) != nil {
		t.Fatal("empty placement is not nil")
	}
	if got := Place(key, ms, 10); len(got) != 3 {
		t.Fatalf("n above the member count gave %d members", len(got))
	}
	ms[1].Left = true
	if got := ids(Place(key, ms, 10)); slices.Contains(got, ms[1].ID) || len(got) != 2 {
		t.Fatalf("Place included a Left member: %v", got)
	}
	if got := ids(Rank(key, ms)); slices.Contains(got, ms[1].ID) || len(got) != 2 {
		t.Fatalf("Rank included a Left member: %v", got)
	}
	// A block id is assignable to the key without conversion.
	if got := Place(blocks.Sum([]byte("block")), ms, 1); len(got) != 1 {
		t.Fatal("placing a block id failed")
	}
	allLeft := []Member{left(mem("x", 1))}
	if Place(key, allLeft, 1) != nil {
		t.Fatal("placement over only Left members is not nil")
	}
}

// TestScoreGolden pins the score function: it is part of the protocol, and
// a change would move every block in a running network.
func TestScoreGolden(t *testing.T) {
	cases := []struct {
		key  [32]byte
		id   string
		want uint64
	}{
		{[32]byte{}, "", 0xc70b7d317e33bf45},
		{[32]byte{}, "node-00", 0x86f657aa720b9f50},
		{hashedKey(1), "node-00", 0xac80ebe57295e1f3},
		{hashedKey(1), "node-01", 0x8b44723b5a558219},
	}
	for _, c := range cases {
		if got := Score(c.key, c.id); got != c.want {
			t.Errorf("Score(%x…, %q) = %#x, want %#x", c.key[:4], c.id, got, c.want)
		}
	}
}

func TestPlaceDistribution(t *testing.T) {
	const keys = 100_000
	for name, keyOf := range map[string]func(int) [32]byte{"hashed": hashedKey, "counted": countedKey} {
		t.Run(name, func(t *testing.T) {
			ms := nodes(16)
			first, inTop3 := map[string]int{}, map[string]int{}
			for i := range keys {
				top := Place(keyOf(i), ms, 3)
				first[top[0].ID]++
				for _, m := range top {
					inTop3[m.ID]++
				}
			}
			checkEven(t, "first owner", first, ms, keys/16)
			checkEven(t, "top 3", inTop3, ms, 3*keys/16)
		})
	}
}

// checkEven wants every member within 5% of the expected count (about four
// standard deviations at 10^5 keys).
func checkEven(t *testing.T, what string, counts map[string]int, ms []Member, want int) {
	t.Helper()
	for _, m := range ms {
		if c := counts[m.ID]; c < want*95/100 || c > want*105/100 {
			t.Errorf("%s: %s owns %d keys, want %d ± 5%%", what, m.ID, c, want)
		}
	}
}

func TestPlaceRemoveMovesOnlyThatMembersKeys(t *testing.T) {
	const keys = 100_000
	ms := nodes(16)
	gone := ms[5]
	rest := slices.Delete(slices.Clone(ms), 5, 6)
	moved := 0
	for i := range keys {
		key := hashedKey(i)
		before := Rank(key, ms)
		after3 := ids(Place(key, rest, 3))
		if before[0].ID != after3[0] {
			moved++
			if before[0].ID != gone.ID {
				t.Fatalf("key %d moved from %s, which is still there", i, before[0].ID)
			}
		}
		want := ids(before[:3])
		if slices.Contains(want, gone.ID) {
			want = slices.DeleteFunc(ids(before[:4]), func(id string) bool { return id == gone.ID })
		}
		if !slices.Equal(after3, want) {
			t.Fatalf("key %d: top 3 %v after removing %s, want %v", i, after3, gone.ID, want)
		}
	}
	checkFraction(t, "removing 1 of 16", moved, keys, 1.0/16)
}

func TestPlaceAddMovesAboutOneInNPlusOne(t *testing.T) {
	const keys = 100_000
	ms := nodes(16)
	more := append(slices.Clone(ms), mem("node-new", 1))
	moved := 0
	for i := range keys {
		key := hashedKey(i)
		before := ids(Place(key, ms, 3))
		after := ids(Place(key, more, 3))
		if before[0] != after[0] {
			moved++
			if after[0] != "node-new" {
				t.Fatalf("key %d moved to %s, not to the new member", i, after[0])
			}
		}
		if !slices.Equal(before, after) {
			want := append([]string{"node-new"}, before[:2]...)
			if !slices.Contains(after, "node-new") || !sameSet(after, want) {
				t.Fatalf("key %d: top 3 went from %v to %v", i, before, after)
			}
		}
	}
	checkFraction(t, "adding a 17th member", moved, keys, 1.0/17)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func checkFraction(t *testing.T, what string, moved, keys int, want float64) {
	t.Helper()
	got := float64(moved) / float64(keys)
	if got < want*0.95 || got > want*1.05 {
		t.Errorf("%s moved %.4f of keys, want %.4f ± 5%%", what, got, want)
	}
	t.Logf("%s moved %d of %d keys (%.4f, ideal %.4f)", what, moved, keys, got, want)
}
