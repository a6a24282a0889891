package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/endpoint"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/registry"
	"gopkg.in/yaml.v3"
)

// ErrConfig marks a configuration error.
var ErrConfig = errors.New("config")

// Key describes one configuration key.
type Key struct {
	Name string // yaml key
	Env  string // environment variable
	Flag string // command-line flag
	Doc  string
}

// Keys lists every configuration key in declaration order.
func Keys() []Key {
	var keys []Key
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		keys = append(keys, Key{Name: name, Env: "EMERGE_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_")),
			Flag: strings.NewReplacer("_", "-", ".", "-").Replace(name), Doc: t.Field(i).Tag.Get("doc")})
	}
	return keys
}

func yamlName(f reflect.StructField) string {
	n, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if n == "-" {
		return ""
	}
	return n
}

// LoadFile reads a YAML file over c. Unknown keys are errors, so a typo is
// not silently ignored.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return nil
}

// ApplyEnv sets every key whose EMERGE_<KEY> variable lookup finds.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, k := range Keys() {
		if v, ok := lookup(k.Env); ok {
			if err := c.Set(k.Name, v); err != nil {
				return fmt.Errorf("%s: %w", k.Env, err)
			}
		}
	}
	return nil
}

// Set parses value into the key named name.
func (c *Config) Set(name, value string) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == name {
			if err := setField(v.Field(i), value); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrConfig, name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: unknown key %q", ErrConfig, name)
}

func setField(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		f.SetInt(int64(d))
		return err
	case units.ByteSize:
		b, err := units.Parse(s)
		f.SetInt(int64(b))
		return err
	case []string:
		f.Set(reflect.ValueOf(splitList(s)))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate fills zero values with defaults and checks ranges.
func (c *Config) validate() error {
	d := DefaultConfig()
	fillZero(reflect.ValueOf(c).Elem(), reflect.ValueOf(d))
	switch {
	case c.BlockSize < blocks.MinBlockSize || c.BlockSize > blocks.MaxBlockSize:
		return fmt.Errorf("%w: block_size %s outside 64KiB..64MiB", ErrConfig, c.BlockSize)
	case c.Replicas < 1 || c.Replicas > blocks.MaxReplicas:
		return fmt.Errorf("%w: replicas %d outside 1..%d", ErrConfig, c.Replicas, blocks.MaxReplicas)
	case c.MinReplicas < 1 || c.MinReplicas > c.Replicas:
		return fmt.Errorf("%w: min_replicas %d outside 1..replicas (%d)", ErrConfig, c.MinReplicas, c.Replicas)
	case c.RepairStreams < 1 || c.RepairMaxDeadPct < 1 || c.RepairMaxDeadPct > 100 || c.RepairDelay < 0:
		return fmt.Errorf("%w: want repair_streams >= 1, repair_max_dead_percent in 1..100, repair_delay >= 0", ErrConfig)
	case c.MaxInflight < 1:
		return fmt.Errorf("%w: max_inflight must be positive", ErrConfig)
	case c.Heartbeat <= 0 || c.SuspectAfter <= c.Heartbeat || c.DeadAfter <= c.SuspectAfter:
		return fmt.Errorf("%w: want 0 < heartbeat (%s) < suspect_after (%s) < dead_after (%s)", ErrConfig, c.Heartbeat, c.SuspectAfter, c.DeadAfter)
	case c.ShmBytes < 0:
		return fmt.Errorf("%w: shm_bytes %d is negative (use shm_off to turn shared memory off)", ErrConfig, c.ShmBytes)
	case c.CacheMaxBytes < 0 || c.CacheMinFree < 0:
		return fmt.Errorf("%w: cache_max_bytes and cache_min_free must not be negative", ErrConfig)
	case c.NamesKeepVersions < 0 || c.NamesKeepFor < 0:
		return fmt.Errorf("%w: names_keep_versions %d or names_keep_for %s is negative (0: no limit)", ErrConfig, c.NamesKeepVersions, c.NamesKeepFor)
	case c.FetchWindow < 1 || c.FetchWindow > 256:
		return fmt.Errorf("%w: fetch_window %d outside 1..256", ErrConfig, c.FetchWindow)
	}
	for _, g := range c.Groups {
		if err := registry.ValidateGroup(g); err != nil {
			return fmt.Errorf("%w: group %q: %w", ErrConfig, g, err)
		}
	}
	if err := c.normaliseEndpoints(); err != nil {
		return err
	}
	return c.validateSecurity() // security.go
}

// normaliseEndpoints turns host:port into tcp://host:port in listen,
// pub_listen and peers, and derives pub_listen and http_listen from listen
// when they are not set.
func (c *Config) normaliseEndpoints() error {
	var err error
	if c.Listen, err = endpoint.Listen(c.Listen); err != nil {
		return fmt.Errorf("%w: listen: %w", ErrConfig, err)
	}
	if !strings.HasPrefix(c.Listen, "tcp://") && !strings.HasPrefix(c.Listen, "ipc://") {
		return fmt.Errorf("%w: listen %q: want tcp://host:port, host:port or ipc://path", ErrConfig, c.Listen)
	}
	if c.PubListen == "" {
		c.PubListen, err = endpoint.NextPort(c.Listen)
	} else {
		c.PubListen, err = endpoint.Listen(c.PubListen)
	}
	if err != nil {
		return fmt.Errorf("%w: pub_listen: %w (set pub_listen)", ErrConfig, err)
	}
	if err := c.checkS3(); err != nil {
		return err
	}
	if !c.HTTPOff {
		if c.HTTPListen, err = httpListen(c.HTTPListen, c.Listen); err != nil {
			return fmt.Errorf("%w: http_listen: %w (set http_listen, or http_off)", ErrConfig, err)
		}
	}
	peers := make([]string, len(c.Peers)) // not in place: the caller's config shares the array
	for i, p := range c.Peers {
		if peers[i], err = endpoint.Dial(p); err != nil {
			return fmt.Errorf("%w: peers: %w", ErrConfig, err)
		}
	}
	c.Peers = peers
	return nil
}

// fillZero copies defaults into zero-valued fields (not Logger, not bools).
func fillZero(v, d reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Bool || f.Kind() == reflect.Func || f.Kind() == reflect.Slice ||
			v.Type().Field(i).Name == "Logger" || !f.IsZero() {
			continue
		}
		f.Set(d.Field(i))
	}
}
