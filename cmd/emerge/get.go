package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

type getOptions struct {
	output string
}

func newGetCmd(g *globals) *cobra.Command {
	o := &getOptions{}
	c := &cobra.Command{
		Use:   "get REF",
		Short: "write an object to stdout, or to a file with -o",
		Args:  exactArgs(1, "one REF"),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	c.Flags().StringVarP(&o.output, "output", "o", "", "write to FILE (atomically: a failed get leaves no file)")
	return c
}

func (o *getOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	ref, err := parseRef(arg)
	if err != nil {
		return err
	}
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Get(cmd.Context(), ref)
	if err != nil {
		return err
	}
	defer r.Close()
	bar := newProgress(cmd.ErrOrStderr(), "get", r.Size())
	out, commit, err := o.open(cmd.OutOrStdout())
	if err != nil {
		return err
	}
	_, err = r.WriteTo(&countingWriter{w: out, add: bar.add})
	bar.finish(err == nil)
	return commit(err)
}

// open returns the destination and a commit function that makes a file
// output visible only when the whole object was written.
func (o *getOptions) open(stdout io.Writer) (io.Writer, func(error) error, error) {
	if o.output == "" || o.output == "-" {
		return stdout, func(err error) error { return err }, nil
	}
	path := o.output
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return nil, nil, usagef("cannot write %s: is a directory", o.output)
		case !fi.Mode().IsRegular():
			// A device or a pipe (-o /dev/null): write to it; renaming a
			// file over it would replace the device.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, nil, usagef("cannot write %s: %w", o.output, unwrapPath(err))
			}
			return f, func(err error) error {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				return err
			}, nil
		}
		// A symlink to a file: replace the file, keep the link.
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".emerge-*")
	if err != nil {
		return nil, nil, usagef("cannot write %s: %w", o.output, unwrapPath(err))
	}
	commit := func(err error) error {
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
			var pe *os.PathError
			if errors.As(err, &pe) {
				return fmt.Errorf("cannot write %s: %w", o.output, pe.Err)
			}
		}
		return err
	}
	return tmp, commit, nil
}

type countingWriter struct {
	w   io.Writer
	add func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.add(int64(n))
	return n, err
}
