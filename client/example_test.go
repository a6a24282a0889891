package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/node"
)

// startNode runs a node in this process for the examples; in real use the
// node is `emerge node` on each machine.
func startNode() (endpoint string, stop func()) {
	dir, err := os.MkdirTemp("", "emerge-example-")
	if err != nil {
		log.Fatal(err)
	}
	cfg := node.DefaultConfig()
	cfg.Listen, cfg.PubListen, cfg.DataDir = "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", dir
	cfg.Replicas = 1 // a single node
	n, err := node.New(cfg)
	if err == nil {
		err = n.Start(context.Background())
	}
	if err != nil {
		log.Fatal(err)
	}
	return n.Endpoint(), func() { n.Close(); os.RemoveAll(dir) }
}

// Put bytes into a node and get them back by ref. The ref depends only on
// the content and the put's options, so the same bytes always give it.
func Example() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()

	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ref, err := c.PutBytes(ctx, []byte("hello, emerge"), client.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ref)

	b, err := c.GetBytes(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// 9fd964ab2354842eb7f54d6f01952ea327a790fb43c47e56e87c5e2b235b72e7
	// hello, emerge
}

// Put streams from any io.Reader (a file, a pipe) with a few blocks in
// flight; metadata travels in the manifest.
func ExampleClient_Put() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	weights := strings.NewReader(strings.Repeat("w", 3<<20)) // stands in for an os.File
	ref, err := c.Put(ctx, weights, client.PutOptions{
		ContentType: "application/x-safetensors",
		Meta:        map[string]string{"step": "1200"},
	})
	if err != nil {
		log.Fatal(err)
	}
	info, err := c.Stat(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Size, info.Blocks, info.ContentType, info.Meta["step"])
	// Output: 3145728 3 application/x-safetensors 1200
}

// Get returns a Reader that streams the object block by block, each block
// verified against its id.
func ExampleClient_Get() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ref, _ := c.PutBytes(ctx, bytes.Repeat([]byte("0123456789"), 300_000), client.PutOptions{})

	r, err := c.Get(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r) // or a file: io.Copy(f, r)
	fmt.Println(n, err)
	// Output: 3000000 <nil>
}

// Errors are tested with errors.Is against the client's sentinels, whether
// they came from the node or the network.
func ExampleClient_Delete() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ref, _ := c.PutBytes(ctx, []byte("short-lived"), client.PutOptions{})

	if _, err := c.Delete(ctx, ref); err != nil {
		log.Fatal(err)
	}
	_, err = c.GetBytes(ctx, ref)
	fmt.Println(errors.Is(err, client.ErrDeleted))

	_, err = client.Dial(ctx, "tcp://127.0.0.1:1", &client.Options{DialTimeout: 200 * time.Millisecond})
	fmt.Println(errors.Is(err, client.ErrUnreachable))
	// Output:
	// true
	// true
}
