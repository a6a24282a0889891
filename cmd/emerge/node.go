package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/emerge-dev/emerge/node"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

type nodeOptions struct {
	config    string
	readyFile string
	groups    []string
	keys      map[string]*keyFlag
}

// keyFlag records a config key given on the command line; it is applied
// after the file and the environment so that flags win.
type keyFlag struct {
	def, val string
	set      bool
}

func (k *keyFlag) String() string { return k.def }
func (k *keyFlag) Set(s string) error {
	k.val, k.set = s, true
	return nil
}
func (k *keyFlag) Type() string { return "value" }

func newNodeCmd() *cobra.Command {
	o := &nodeOptions{keys: map[string]*keyFlag{}}
	c := &cobra.Command{
		Use:   "node",
		Short: "run a node in the foreground until interrupted",
		Long: "Run a node. Settings come from the defaults, then --config FILE (or EMERGE_CONFIG),\n" +
			"then EMERGE_<KEY> environment variables, then flags. conf/emerge.yaml documents every key.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.StringVar(&o.config, "config", os.Getenv("EMERGE_CONFIG"), "YAML config file (env EMERGE_CONFIG)")
	f.StringVar(&o.readyFile, "ready-file", "", "once serving, write the node's id and endpoints as JSON to this file")
	f.StringArrayVar(&o.groups, "group", nil, "join group NAME (repeatable; added to the groups key)")
	o.addKeyFlags(f)
	return c
}

func (o *nodeOptions) addKeyFlags(f *pflag.FlagSet) {
	defaults := reflect.ValueOf(node.DefaultConfig())
	for _, k := range node.Keys() {
		kf := &keyFlag{def: fieldString(defaults, k.Name)}
		o.keys[k.Name] = kf
		f.Var(kf, k.Flag, k.Doc)
	}
}

func fieldString(v reflect.Value, key string) string {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			if s, ok := v.Field(i).Interface().(fmt.Stringer); ok {
				return s.String()
			}
			if list, ok := v.Field(i).Interface().([]string); ok {
				return strings.Join(list, ",")
			}
			return fmt.Sprint(v.Field(i).Interface())
		}
	}
	return ""
}

func (o *nodeOptions) load() (node.Config, error) {
	cfg := node.DefaultConfig()
	if o.config != "" {
		if err := cfg.LoadFile(o.config); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, err
	}
	for name, kf := range o.keys {
		if kf.set {
			if err := cfg.Set(name, kf.val); err != nil {
				return cfg, err
			}
		}
	}
	cfg.Groups = append(cfg.Groups, o.groups...)
	return cfg, nil
}

func (o *nodeOptions) run(cmd *cobra.Command) error {
	cfg, err := o.load()
	if err != nil {
		return err
	}
	if cfg.Logger, err = newLogger(cfg.LogLevel, cfg.LogFormat, cmd.ErrOrStderr()); err != nil {
		return err
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if err := n.Start(cmd.Context()); err != nil {
		return err
	}
	defer n.Close()
	if err := o.writeReady(n); err != nil {
		return err
	}
	<-cmd.Context().Done()
	return nil
}

func (o *nodeOptions) writeReady(n *node.Node) error {
	if o.readyFile == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"id": n.ID(), "rpc": n.Endpoint(), "pub": n.PubEndpoint(), "host": n.HostID()})
	tmp := o.readyFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return os.Rename(tmp, o.readyFile)
}

func newLogger(level, format string, w interface{ Write([]byte) (int, error) }) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), usagef("log_level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w}
	case "auto", "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			w = zerolog.ConsoleWriter{Out: w}
		}
	default:
		return zerolog.Nop(), usagef("log_format %q: want auto, console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
