package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/spf13/cobra"
)

// globals are the flags every client command shares.
type globals struct {
	node    string
	json    bool
	timeout time.Duration
	noShm   bool
	stdin   io.Reader
	// CURVE: the cluster secret and/or this client's key file (keygen.go)
	secretFile, keyFile string
}

func defaultEndpoint() string {
	if v := os.Getenv("EMERGE_NODE"); v != "" {
		return v
	}
	return "tcp://127.0.0.1:7700"
}

// run builds the command tree and executes it; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if _, done := err.(reported); err != nil && !done {
		report(stderr, err)
	}
	return exitCode(err)
}

func newRoot(stdin io.Reader) *cobra.Command {
	g := &globals{stdin: stdin}
	root := &cobra.Command{
		Use:           "emerge",
		Short:         "emerge: a peer-to-peer block network",
		Long:          "emerge stores objects as content-addressed blocks on a network of nodes.\nRun one `emerge node` per machine; put and get through any of them.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Example:       rootExample,
	}
	asParent(root)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.node, "node", defaultEndpoint(), "rpc endpoint of the node to talk to (env EMERGE_NODE)")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	pf.DurationVar(&g.timeout, "timeout", 5*time.Second, "how long to wait for the node to answer at first")
	pf.BoolVar(&g.noShm, "no-shm", false, "stream even when the node is on this machine (no shared memory)")
	pf.StringVar(&g.secretFile, "cluster-secret-file", os.Getenv("EMERGE_SECURITY_CLUSTER_SECRET_FILE"), "the cluster secret, for nodes that run CURVE (env EMERGE_SECURITY_CLUSTER_SECRET_FILE)")
	pf.StringVar(&g.keyFile, "key", os.Getenv("EMERGE_KEY_FILE"), "this client's key file, made by emerge keygen (env EMERGE_KEY_FILE)")
	root.AddCommand(newNodeCmd(), newPutCmd(g), newGetCmd(g), newRmCmd(g), newStatCmd(g), newLsCmd(g), newPeersCmd(g), newGroupCmd(g), newPrefetchCmd(g), newInfoCmd(g), newHealthCmd(g), newConfigCmd(), newVersionCmd(g))
	root.AddCommand(newVersionsCmd(g), newMvCmd(g)) // names.go
	root.AddCommand(newKeygenCmd(g))
	addCompletions(root, g)
	return root
}

// dial connects to the node named by --node.
func (g *globals) dial(ctx context.Context) (*client.Client, error) {
	return client.Dial(ctx, g.node, &client.Options{DialTimeout: g.timeout, NoShm: g.noShm,
		ClusterSecretFile: g.secretFile, KeyFile: g.keyFile})
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %s", verb(cmd), what)
		}
		return nil
	}
}

func parseRef(s string) (blocks.Ref, error) {
	r, err := blocks.ParseRef(s)
	if err != nil {
		return r, usageError{err}
	}
	return r, nil
}
