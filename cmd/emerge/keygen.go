package main

import (
	"fmt"

	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/spf13/cobra"
)

type keygenOptions struct {
	out       string
	secret    bool
	serverKey string
}

func newKeygenCmd(g *globals) *cobra.Command {
	o := &keygenOptions{}
	c := &cobra.Command{
		Use:   "keygen -o FILE",
		Short: "make a CURVE keypair for a node or client, or a new cluster secret",
		Long: "Write a new keypair to FILE (mode 0600, never overwritten) and print its public key, for\n" +
			"security.allow. With --cluster-secret-file (or --server-key) the file also names the cluster's\n" +
			"server key, so a client can use it without the secret: emerge --key FILE ...\n" +
			"With --secret, write a new random cluster secret instead (security.cluster_secret_file).",
		Example: `  emerge keygen --secret -o cluster.secret                       # once, for the whole cluster
  emerge keygen -o node.key                                      # a node's key (security.key_file)
  emerge --cluster-secret-file cluster.secret keygen -o alice.key  # a client's key; it needs no secret then
  emerge --key alice.key info`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g) },
	}
	f := c.Flags()
	f.StringVarP(&o.out, "out", "o", "", "file to write (required)")
	f.BoolVar(&o.secret, "secret", false, "write a new cluster secret instead of a keypair")
	f.StringVar(&o.serverKey, "server-key", "", "the cluster's server public key to put in the key file (default: derived from --cluster-secret-file)")
	return c
}

func (o *keygenOptions) run(cmd *cobra.Command, g *globals) error {
	if o.out == "" {
		return usagef("keygen: -o FILE is required")
	}
	if o.secret {
		if err := curve.WriteKeyFile(o.out, curve.NewSecret()); err != nil {
			return usageError{err}
		}
		return nil
	}
	server, err := o.server(g)
	if err != nil {
		return err
	}
	k, err := curve.Generate()
	if err != nil {
		return err
	}
	if err := curve.WriteKeyFile(o.out, curve.KeyFile{Keys: k, ServerKey: server}.Marshal()); err != nil {
		return usageError{err}
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]string{"public": k.Public, "file": o.out})
	}
	fmt.Fprintln(cmd.OutOrStdout(), k.Public)
	return nil
}

// server is the server key the key file names: given, derived from the
// secret, or none.
func (o *keygenOptions) server(g *globals) (string, error) {
	if o.serverKey != "" {
		if _, err := curve.ParseKey(o.serverKey); err != nil {
			return "", usageError{fmt.Errorf("--server-key: %w", err)}
		}
		return o.serverKey, nil
	}
	if g.secretFile == "" {
		return "", nil
	}
	c, err := curve.ClientFromFiles(g.secretFile, "")
	if err != nil {
		return "", usageError{err}
	}
	return c.ServerKey, nil
}
