package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/spf13/cobra"
)

type getOptions struct {
	output    string
	noClobber bool
}

func newGetCmd(g *globals) *cobra.Command {
	o := &getOptions{}
	c := &cobra.Command{
		Use:   "get REF|PATH[@N]",
		Short: "write an object to stdout, or to a file with -o",
		Long: "Write an object to stdout, or to a file with -o. With -o the bytes go to a temporary file next to\n" +
			"FILE, renamed over FILE once complete: a failed get leaves FILE as it was. An existing FILE is\n" +
			"replaced and keeps its mode; a new one is created with the umask (0644 with umask 022).\n" +
			"--no-clobber refuses to replace an existing FILE. A device or pipe (-o /dev/null) is written into.\n" +
			"A ref no node holds is not_found (exit 3) after the node has looked for it for locate_timeout (10 s).\n" +
			"A name (an absolute path, /models/policy.bin) reads its latest version, PATH@N version N.",
		Example: getExample,
		Args:    exactArgs(1, "one REF or PATH"),
		RunE:    func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	c.Flags().StringVarP(&o.output, "output", "o", "", "write to FILE (atomically: a failed get leaves no file)")
	c.Flags().BoolVar(&o.noClobber, "no-clobber", false, "with -o: fail (exit 2) if FILE exists instead of replacing it")
	return c
}

func (o *getOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	var ref blocks.Ref
	var err error
	if !client.IsName(arg) {
		if ref, err = parseRef(arg); err != nil {
			return err
		}
	}
	if err := o.checkClobber(); err != nil {
		return err
	}
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	if client.IsName(arg) {
		if ref, err = resolveName(cmd.Context(), c, arg); err != nil { // names.go
			return err
		}
	}
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

func (o *getOptions) toFile() bool { return o.output != "" && o.output != "-" }

// checkClobber fails early, before anything is fetched, when --no-clobber
// and FILE exists; commit checks again atomically.
func (o *getOptions) checkClobber() error {
	if !o.noClobber || !o.toFile() {
		return nil
	}
	if _, err := os.Lstat(o.output); err == nil {
		return usagef("%s exists (--no-clobber)", o.output)
	}
	return nil
}

// open returns the destination and a commit function that makes a file
// output visible only when the whole object was written.
func (o *getOptions) open(stdout io.Writer) (io.Writer, func(error) error, error) {
	if !o.toFile() {
		return stdout, func(err error) error { return err }, nil
	}
	path := o.output
	var mode fs.FileMode // of the file replaced; 0: a new file, created with the umask
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return nil, nil, usagef("cannot write %s: is a directory", o.output)
		case !fi.Mode().IsRegular():
			return o.openDevice(path)
		}
		mode = fi.Mode().Perm()
		// A symlink to a file: replace the file, keep the link.
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	tmp, err := createTemp(path)
	if err == nil && mode != 0 {
		err = tmp.Chmod(mode)
	}
	if err != nil {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		return nil, nil, usagef("cannot write %s: %w", o.output, unwrapPath(err))
	}
	return tmp, func(err error) error { return o.commit(tmp, path, err) }, nil
}

// openDevice writes into a device or a pipe (-o /dev/null): renaming a file
// over it would replace the device.
func (o *getOptions) openDevice(path string) (io.Writer, func(error) error, error) {
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

// commit closes the temporary file and, when the get succeeded, puts it in
// place: renamed over path, or with --no-clobber linked (which fails if
// path appeared meanwhile). On any failure the temporary file goes.
func (o *getOptions) commit(tmp *os.File, path string, err error) error {
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if o.noClobber {
			err = os.Link(tmp.Name(), path)
			if errors.Is(err, fs.ErrExist) {
				err = usagef("%s exists (--no-clobber)", o.output)
			}
		} else {
			err = os.Rename(tmp.Name(), path)
		}
	}
	if o.noClobber || err != nil {
		os.Remove(tmp.Name())
	}
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("cannot write %s: %w", o.output, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("cannot write %s: %w", o.output, le.Err)
	}
	return err
}

// createTemp makes a new file next to path, with mode 0666 less the umask
// (os.CreateTemp makes 0600 files, which a rename would hand to path).
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for try := 0; ; try++ {
		name := filepath.Join(dir, "."+base+".emerge-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return f, err
		}
	}
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
