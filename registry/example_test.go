package registry_test

import (
	"fmt"

	"github.com/emerge-dev/emerge/registry"
)

func ExamplePlace() {
	members := []registry.Member{{ID: "alpha"}, {ID: "bravo"}, {ID: "charlie"}, {ID: "delta"}, {ID: "echo"}}
	var key [32]byte // a block id
	key[0] = 42
	for _, m := range registry.Place(key, members, 3) {
		fmt.Println(m.ID)
	}
	// Output:
	// charlie
	// alpha
	// bravo
}

func ExampleRegistry_Heard() {
	r, _ := registry.New(registry.Config{Self: registry.Member{ID: "me", Groups: []string{"learner"}}})
	r.Merge(registry.Member{ID: "peer", Groups: []string{"actor"}, Incarnation: 4})
	fmt.Println(r.Heard("peer", 4), r.Heard("peer", 5), r.Heard("stranger", 1))
	fmt.Println(len(r.Live()), r.Groups()["actor"])
	// Output:
	// false true true
	// 2 [peer]
}
