package client_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/emerge-dev/emerge/client"
)

// Read an object in place from a node on this machine: the view is the
// node's shared-memory copy, mapped read-only, with no copy made.
func ExampleClient_GetView() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	data := bytes.Repeat([]byte("weights "), 1<<18) // 2 MiB: more than one block
	ref, err := c.PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.GetView(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	fmt.Println(c.Local(), v.Mapped(), bytes.Equal(v.Bytes(), data))
	// Output: true true true
}

// Produce an object straight into the node's shared memory, then seal it.
func ExampleClient_CreateUpload() {
	endpoint, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, endpoint, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	u, err := c.CreateUpload(ctx, 3<<20)
	if err != nil {
		log.Fatal(err) // ErrNotLocal on another machine, ErrShmFull when full
	}
	buf := u.Bytes()
	for i := range buf {
		buf[i] = byte(i)
	}
	ref, err := u.Seal(ctx, client.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		log.Fatal(err)
	}
	info, err := c.Stat(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Size, info.Blocks)
	// Output: 3145728 3
}
