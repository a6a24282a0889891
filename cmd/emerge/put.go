package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

type putOptions struct {
	blockSize   units.ByteSize
	replicas    int
	minReplicas int
	contentType string
	meta        []string
	prefetch    prefetchFlags
	names       nameFlags // names.go
}

func newPutCmd(g *globals) *cobra.Command {
	o := &putOptions{}
	c := &cobra.Command{
		Use:   "put FILE|- [NAME]",
		Short: "store a file (or stdin with -) and print its ref; with a NAME (/a/b) bind it too",
		Long: "Store a file (or stdin with -) and print its ref. The put returns once min_replicas copies exist\n" +
			"(the node's, default 1); with fewer live members than the target (--replicas, default the node's\n" +
			"replicas) it says so on stderr and the network makes the other copies as members join.\n" +
			"With NAME or --name (an absolute path such as /models/policy.bin) the object also gets that name,\n" +
			"as a new version, and the output is \"REF NAME@VERSION\". -r DIR /PREFIX/ puts a whole tree.\n" +
			"A file's base name is kept in the object's metadata (meta name=...).",
		Example: putExample,
		Args:    putArgs(&o.names),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.names.recursive {
				return o.putTree(cmd, g, args[0], args[1])
			}
			name, err := o.names.target(args)
			if err != nil {
				return err
			}
			return o.run(cmd, g, args[0], name)
		},
	}
	f := c.Flags()
	f.Var(&o.blockSize, "block-size", "block size, 64KiB..64MiB (default: the node's)")
	f.IntVar(&o.replicas, "replicas", 0, "target number of durable copies of each block (default: the node's)")
	f.IntVar(&o.minReplicas, "min-replicas", 0, "copies that must exist before the put returns (default: the node's)")
	f.StringVar(&o.contentType, "content-type", "", "content type recorded in the manifest")
	f.StringArrayVar(&o.meta, "meta", nil, "metadata KEY=VALUE (repeatable)")
	o.prefetch.add(f)
	o.names.add(c)
	return c
}

func (o *putOptions) run(cmd *cobra.Command, g *globals, name, bind string) error {
	opts, err := o.clientOptions()
	if err != nil {
		return err
	}
	fileNameMeta(&opts, name)
	if _, err := o.names.options(); err != nil {
		return err
	}
	in, size, err := openInput(name, g)
	if err != nil {
		return err
	}
	defer in.Close()
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := o.prefetch.check(cmd.Context(), c); err != nil {
		return err
	}
	bar := newProgress(cmd.ErrOrStderr(), "put", size)
	if o.viaShm(c, size) {
		bar.sealWait()
	}
	opts.Progress = bar.set
	res, err := c.PutObject(cmd.Context(), in, opts)
	bar.finish(err == nil)
	if errors.Is(err, client.ErrStoredBeforeCancel) {
		// Interrupted too late: the ref of what was stored, then the error
		// (which names it too) and the interrupted exit code.
		fmt.Fprintln(cmd.OutOrStdout(), res.Ref)
	}
	if err != nil {
		return err
	}
	if res.UnderTarget() {
		fmt.Fprintf(cmd.ErrOrStderr(), "emerge: stored %d of %d copies; the network makes the rest as members join\n",
			res.Copies, res.Replicas)
	}
	if err := o.prefetch.wait(cmd, c, res.Ref); err != nil {
		return err
	}
	if bind != "" {
		return bindAfterPut(cmd, g, c, res, bind, &o.names)
	}
	if o.names.ttl > 0 { // a plain ref with a time to live: a name under /.ttl/ holds it
		if _, err := c.Expire(cmd.Context(), res.Ref, o.names.ttl); err != nil {
			fmt.Fprintln(cmd.OutOrStdout(), res.Ref) // stored all the same: say what
			return fmt.Errorf("stored %s, but its ttl was not set: %w", res.Ref, err)
		}
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), putOutput{Ref: res.Ref.String(), Size: res.Size, Blocks: res.Blocks,
			Copies: res.Copies, Replicas: res.Replicas})
	}
	fmt.Fprintln(cmd.OutOrStdout(), res.Ref)
	return nil
}

// putOutput is what put --json prints.
type putOutput struct {
	Ref      string `json:"ref"`
	Size     int64  `json:"size"`
	Blocks   int    `json:"blocks"`
	Copies   int    `json:"copies"`            // durable copies when the put returned
	Replicas int    `json:"replicas"`          // the target; the network makes the rest
	Name     string `json:"name,omitempty"`    // the name bound, if any
	Version  int    `json:"version,omitempty"` // the name's new version
}

// viaShm tells whether the client will put through the node's shared
// memory: a file larger than a block, to a node on this machine.
func (o *putOptions) viaShm(c *client.Client, size int64) bool {
	bs := int64(o.blockSize)
	if bs == 0 {
		bs = int64(c.Node().BlockSize)
	}
	return size > bs && c.Local()
}

func (o *putOptions) clientOptions() (client.PutOptions, error) {
	opts := client.PutOptions{BlockSize: int(o.blockSize), Replicas: o.replicas, MinReplicas: o.minReplicas, ContentType: o.contentType,
		PrefetchGroups: o.prefetch.groups, PrefetchNodes: o.prefetch.nodes}
	if o.prefetch.waitFlag && len(o.prefetch.groups)+len(o.prefetch.nodes) == 0 {
		return opts, usagef("--wait needs --prefetch-group or --prefetch-node")
	}
	if len(o.meta) > 0 {
		opts.Meta = make(map[string]string, len(o.meta))
	}
	for _, kv := range o.meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return opts, usagef("--meta %q: want KEY=VALUE", kv)
		}
		opts.Meta[k] = v
	}
	return opts, nil
}

// openInput opens FILE or stdin and returns its size (-1 when unknown).
func openInput(name string, g *globals) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(g.stdin), -1, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, usagef("cannot read %s: %w", name, unwrapPath(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, usagef("cannot read %s: %w", name, unwrapPath(err))
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, usagef("cannot read %s: is a directory", name)
	}
	return f, st.Size(), nil
}

// unwrapPath drops the path from *os.PathError, which the message names already.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
