package pubsub_test

import (
	"context"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
)

// Two nodes on an in-memory hub: n2 asks who has a block, n1 hears it.
func ExampleHub() {
	hub, err := pubsub.NewHub(pubsub.HubOptions{})
	if err != nil {
		panic(err)
	}
	n1, _ := hub.NewBus("n1")
	n2, _ := hub.NewBus("n2")
	defer n1.Close()
	defer n2.Close()
	if err := pubsub.Mesh(n1, n2); err != nil {
		panic(err)
	}
	ask := pubsub.Message{
		Type:    pubsub.TypeWhoHas,
		ReqID:   1,
		IDs:     []blocks.ID{blocks.Sum([]byte("some block"))},
		ReplyTo: "tcp://127.0.0.1:7700",
	}
	if err := n2.Publish(context.Background(), ask); err != nil {
		panic(err)
	}
	m := <-n1.Messages()
	fmt.Println(m.Type, "from", m.From, "ids", len(m.IDs), "reply to", m.ReplyTo)
	// Output: whohas from n2 ids 1 reply to tcp://127.0.0.1:7700
}
