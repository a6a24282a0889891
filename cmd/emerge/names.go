package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/names"
	"github.com/spf13/cobra"
)

// nameFlags are put's naming options.
type nameFlags struct {
	name      string
	mode      string
	ttl       time.Duration
	recursive bool
	ifVersion int           // -1: unconditional
	keep      int           // 0: the node's names_keep_versions; -1: all
	keepFor   time.Duration // 0: the node's names_keep_for; negative: no limit
}

func (f *nameFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.name, "name", "", "bind this name (an absolute path, /models/policy.bin) to the object: a new version")
	fl.StringVar(&f.mode, "mode", "", "mode of the name, octal (default 0666; advisory, see docs/names.md)")
	fl.DurationVar(&f.ttl, "ttl", 0, "the name expires after this long (e.g. 24h; default never); without a name, the object itself (held by the name /.ttl/REF)")
	fl.BoolVarP(&f.recursive, "recursive", "r", false, "put every file under DIR, named PREFIX + its path below DIR")
	fl.IntVar(&f.keep, "keep", 0, "keep the N newest versions of the name (this one included); older ones are erased and their objects deleted unless another name uses them (default: the node's names_keep_versions; -1 keeps all)")
	fl.DurationVar(&f.keepFor, "keep-for", 0, "erase the name's versions created longer than this before the new one (e.g. 72h), objects as with --keep (default: the node's names_keep_for; -1s: no limit)")
	fl.IntVar(&f.ifVersion, "if-version", -1, "bind only if the name's latest version is N (0: the name has none yet), else exit 8")
}

// target returns the name to bind (from NAME or --name), if any.
func (f *nameFlags) target(args []string) (string, error) {
	name := f.name
	if len(args) == 2 {
		if name != "" && name != args[1] {
			return "", usagef("put: NAME %s and --name %s disagree", args[1], name)
		}
		name = args[1]
	}
	if name == "" {
		return "", nil
	}
	if err := names.ValidatePath(name); err != nil { // before anything is stored
		return "", usageError{err}
	}
	return name, nil
}

func (f *nameFlags) options() (client.BindOptions, error) {
	o := client.BindOptions{TTL: f.ttl, Keep: f.keep, KeepFor: f.keepFor}
	if f.keep < -1 {
		return o, usagef("--keep %d: want N >= 1, 0 for the node's default or -1 for all", f.keep)
	}
	if f.ttl < 0 {
		return o, usagef("--ttl %s is negative", f.ttl)
	}
	if f.ifVersion >= 0 {
		v := f.ifVersion
		o.IfVersion = &v
	}
	if f.mode != "" {
		m, err := strconv.ParseUint(f.mode, 8, 32)
		if err != nil || m > 0o777 || m == 0 {
			return o, usagef("--mode %q: want octal permission bits such as 0644", f.mode)
		}
		o.Mode = uint32(m)
	}
	return o, nil
}

// putArgs accepts FILE|- [NAME], or with -r DIR PREFIX.
func putArgs(f *nameFlags) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case f.recursive && len(args) != 2:
			return usagef("put -r: want DIR and a /PREFIX/")
		case len(args) < 1 || len(args) > 2:
			return usagef("put: want one FILE (or - for stdin) and optionally a NAME")
		}
		return nil
	}
}

// fileNameMeta records the file's base name in the object's metadata
// (meta "name"), unless the caller set one.
func fileNameMeta(opts *client.PutOptions, file string) {
	if file == "-" {
		return
	}
	if _, ok := opts.Meta["name"]; ok {
		return
	}
	if opts.Meta == nil {
		opts.Meta = map[string]string{}
	}
	opts.Meta["name"] = filepath.Base(file)
}

// bindAfterPut binds name to a stored object and prints "REF NAME@V".
func bindAfterPut(cmd *cobra.Command, g *globals, c *client.Client, res client.PutResult, name string, f *nameFlags) error {
	bo, err := f.options()
	if err != nil {
		return err
	}
	e, err := c.Bind(cmd.Context(), name, res.Ref, bo)
	if err != nil {
		// The object is stored: its ref on stdout, why the name is not on
		// stderr (a conflict, a mode refusal), and that error's exit code.
		fmt.Fprintln(cmd.OutOrStdout(), res.Ref)
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), putOutput{Ref: res.Ref.String(), Size: res.Size, Blocks: res.Blocks,
			Copies: res.Copies, Replicas: res.Replicas, Name: e.Path, Version: e.Version})
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s@%d\n", res.Ref, e.Path, e.Version)
	return err
}

// putTree puts every regular file under dir, named prefix + its path
// relative to dir. One line per file; the first failure's exit code.
func (o *putOptions) putTree(cmd *cobra.Command, g *globals, dir, prefix string) error {
	if err := names.ValidatePrefix(prefix); err != nil {
		return usageError{err}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("put -r: %s is not a directory", dir)
	}
	bo, err := o.names.options()
	if err != nil {
		return err
	}
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	var out reported
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := path.Join(strings.TrimSuffix(prefix, "/"), filepath.ToSlash(rel))
		if err := o.putOne(cmd, g, c, p, name, bo); err != nil {
			if out.first == nil {
				out.first = err
			}
			out.failed++
			report(cmd.ErrOrStderr(), fmt.Errorf("%s: %w", p, err))
		}
		return cmd.Context().Err()
	})
	if err != nil {
		return err
	}
	if out.first != nil {
		return out
	}
	return nil
}

func (o *putOptions) putOne(cmd *cobra.Command, g *globals, c *client.Client, file, name string, bo client.BindOptions) error {
	opts, err := o.clientOptions()
	if err != nil {
		return err
	}
	fileNameMeta(&opts, file)
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := c.PutObject(cmd.Context(), f, opts)
	if err != nil {
		return err
	}
	e, err := c.Bind(cmd.Context(), name, res.Ref, bo)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), putOutput{Ref: res.Ref.String(), Size: res.Size, Blocks: res.Blocks,
			Copies: res.Copies, Replicas: res.Replicas, Name: e.Path, Version: e.Version})
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s@%d\n", res.Ref, e.Path, e.Version)
	return err
}

// resolveName asks the node which object a name (path or path@N) names.
func resolveName(ctx context.Context, c *client.Client, arg string) (blocks.Ref, error) {
	e, err := c.Resolve(ctx, arg)
	return e.Ref, err
}

// lsNames lists the names under prefix.
func lsNames(cmd *cobra.Command, g *globals, prefix string, recursive bool) error {
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	items, err := c.ListNames(cmd.Context(), prefix, recursive)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), items)
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSIZE\tVERSIONS\tOWNER\tMODE\tMODIFIED (UTC)\tREF")
	for _, it := range items {
		if it.Dir {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\n", it.Path)
			continue
		}
		e := it.Latest
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%04o\t%s\t%s\n", it.Path, units.Human(e.Size), it.Versions, e.Owner, e.Mode,
			e.Created.Format(time.DateTime), e.Ref.Short())
	}
	return w.Flush()
}

func newVersionsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "versions PATH",
		Short: "list every version of a name",
		Long: "List every version of a name, oldest first: its number (get PATH@N reads it), ref, size, writer\n" +
			"and time. A removal is a version too; versions erased by rm --all-versions are marked.",
		Example: "  emerge versions /models/policy.bin\n  emerge get /models/policy.bin@3 -o policy.bin",
		Args:    exactArgs(1, "one PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			vs, err := c.Versions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), vs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tREF\tSIZE\tWRITER\tCREATED (UTC)\tSTATE")
			for _, e := range vs {
				ref, size, state := e.Ref.String(), units.Human(e.Size), "live"
				switch {
				case e.Removed && e.AllVersions:
					ref, size, state = "-", "-", "removed (all versions)"
				case e.Removed:
					ref, size, state = "-", "-", "removed"
				case e.Erased:
					state = "erased"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Version, ref, size, e.Writer, e.Created.Format(time.DateTime), state)
			}
			return w.Flush()
		},
	}
}

func newMvCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mv FROM TO",
		Short: "rename: bind TO to FROM's object, then remove FROM",
		Long: "Bind TO to the object of FROM's latest version (a new version of TO), then remove FROM (its\n" +
			"earlier versions stay readable as FROM@N). The object is not copied.",
		Example: "  emerge mv /models/policy.bin /models/archive/policy-7.bin",
		Args:    exactArgs(2, "FROM and TO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			e, err := c.Move(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), e)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s@%d %s\n", e.Path, e.Version, e.Ref)
			return err
		},
	}
}

// rmName removes a name; with all, every version, deleting the objects no
// other name or version uses.
func rmName(cmd *cobra.Command, g *globals, c *client.Client, p string, all bool) error {
	res, err := c.RemoveName(cmd.Context(), p, all)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), rmNameOutput{Name: p, Version: res.Entry.Version, AllVersions: all,
			Deleted: refStrings(res), Freed: res.Freed, GraceMS: res.Grace.Milliseconds(), Node: c.Node().ID})
	}
	what := "removed " + p
	if all {
		what += " (all versions)"
	}
	if res.Grace > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s; %d object(s) no name uses, deleted in %s\n", what, len(res.Deleted), res.Grace)
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s; %d object(s) deleted (freed %s on %s)\n", what, len(res.Deleted),
		units.Human(res.Freed), c.Node().ID)
	return nil
}

func refStrings(res client.RemoveResult) []string {
	out := make([]string, len(res.Deleted))
	for i, r := range res.Deleted {
		out[i] = r.String()
	}
	return out
}

// rmNameOutput is what rm --json prints for each name.
type rmNameOutput struct {
	Name        string   `json:"name"`
	Version     int      `json:"version"` // of the removal
	AllVersions bool     `json:"all_versions,omitempty"`
	Deleted     []string `json:"deleted"` // objects no name used any more
	Freed       int64    `json:"freed"`
	GraceMS     int64    `json:"grace_ms,omitempty"` // the objects are deleted this long after (0: already)
	Node        string   `json:"node"`
}

// namesOnly tells whether rm's arguments are names (all of them) or refs
// (none); a mix is a usage error.
func namesOnly(args []string) (bool, error) {
	n := 0
	for _, a := range args {
		if client.IsName(a) {
			n++
		}
	}
	if n > 0 && n < len(args) {
		return false, usagef("rm: give REFs or PATHs, not both")
	}
	return n > 0, nil
}

// eachName removes each name, reporting failures as eachRef does.
func eachName(cmd *cobra.Command, g *globals, args []string, all bool, err error) error {
	if err != nil {
		return err
	}
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	return eachArg(cmd, args, func(p string) error { return rmName(cmd, g, c, p, all) })
}

func newPrefetchFollowCmd(g *globals) *cobra.Command {
	var groups []string
	var remove bool
	c := &cobra.Command{
		Use:   "follow [PREFIX]",
		Short: "spread every new version of the names under PREFIX to groups as it is written",
		Long: "Make the node prefetch each new latest version of a name under PREFIX (/policy/) to every member\n" +
			"of the groups, starting with the names there now; members that join a group later catch up.\n" +
			"The rule belongs to the node asked (kept in its data dir) and works while it runs. --remove drops\n" +
			"it; without PREFIX, list the node's rules.",
		Example: "  emerge prefetch follow /policy/ --group actor\n  emerge prefetch follow\n  emerge prefetch follow /policy/ --remove",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && (remove || len(groups) > 0) {
				return usagef("prefetch follow: --group and --remove need a PREFIX")
			}
			if len(args) == 1 && !remove && len(groups) == 0 {
				return usagef("prefetch follow %s: want --group G (repeatable) or --remove", args[0])
			}
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			var rules []client.Follow
			switch {
			case len(args) == 0:
				rules, err = c.Follows(cmd.Context())
			case remove:
				rules, err = c.Unfollow(cmd.Context(), args[0])
			default:
				rules, err = c.Follow(cmd.Context(), args[0], groups)
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), rules)
			}
			for _, r := range rules {
				fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", r.Prefix, strings.Join(r.Groups, ","))
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&groups, "group", nil, "group to spread new versions to (repeatable)")
	c.Flags().BoolVar(&remove, "remove", false, "drop the rule for PREFIX")
	return c
}
