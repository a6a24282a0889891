package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/node"
	"github.com/emerge-dev/emerge/pubsub"
	zmq "github.com/pebbe/zmq4"
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
// after the file and the environment so that flags win. typ is what help
// shows (bool, int, duration, size, string, list); a bool flag works bare.
type keyFlag struct {
	def, val, typ string
	set           bool
}

func (k *keyFlag) String() string { return k.def }
func (k *keyFlag) Set(s string) error {
	k.val, k.set = s, true
	return nil
}
func (k *keyFlag) Type() string     { return k.typ }
func (k *keyFlag) IsBoolFlag() bool { return k.typ == "bool" }

func newNodeCmd() *cobra.Command {
	o := &nodeOptions{keys: map[string]*keyFlag{}}
	c := &cobra.Command{
		Use:   "node",
		Short: "run a node in the foreground until interrupted",
		Long: "Run a node. Settings come from the defaults, then --config FILE (or EMERGE_CONFIG),\n" +
			"then EMERGE_<KEY> environment variables, then flags. conf/emerge.yaml documents every key.",
		Example: nodeExample,
		Args:    exactArgs(0, "no arguments"),
		RunE:    func(cmd *cobra.Command, args []string) error { return o.run(cmd) },
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
		kf := &keyFlag{def: fieldString(defaults, k.Name), typ: fieldType(defaults, k.Name)}
		o.keys[k.Name] = kf
		f.Var(kf, k.Flag, k.Doc)
		if kf.typ == "bool" {
			f.Lookup(k.Flag).NoOptDefVal = "true" // --shm-off alone means true
		}
	}
}

// fieldType names the type of a config key as help shows it.
func fieldType(v reflect.Value, key string) string {
	f, ok := field(v, key)
	if !ok {
		return "string"
	}
	switch f.Interface().(type) {
	case time.Duration:
		return "duration"
	case units.ByteSize:
		return "size"
	case []string:
		return "list"
	}
	switch f.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64:
		return "int"
	}
	return "string"
}

func field(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func fieldString(v reflect.Value, key string) string {
	f, ok := field(v, key)
	if !ok {
		return ""
	}
	if s, ok := f.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if list, ok := f.Interface().([]string); ok {
		return strings.Join(list, ",")
	}
	return fmt.Sprint(f.Interface())
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
		return explainBind(err, n.Config())
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
	b, _ := json.Marshal(map[string]string{"node": n.ID(), "rpc": n.Endpoint(), "pub": n.PubEndpoint(), "host": n.HostID()})
	tmp := o.readyFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return os.Rename(tmp, o.readyFile)
}

// explainBind turns "address already in use" into a line that names the
// key to change.
func explainBind(err error, cfg node.Config) error {
	if !errors.Is(err, zmq.EADDRINUSE) {
		return err
	}
	if errors.Is(err, pubsub.ErrBadEndpoint) {
		return usagef("pub_listen %s is in use (by another node? without pub_listen a node takes listen's port + 1): "+
			"set pub_listen (--pub-listen) to a free port", cfg.PubListen)
	}
	return usagef("listen %s is in use (by another node?): set listen (--listen) to a free port", cfg.Listen)
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
