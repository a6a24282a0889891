package shm

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// DefaultUploadTTL is how long an upload may stay unsealed before Sweep
// removes it.
const DefaultUploadTTL = 10 * time.Minute

// Config configures a Tier. A zero field means its default.
type Config struct {
	// Dir is the directory holding the tier's files. Required; the node
	// passes DefaultDir(its id). Open creates it (0700) and removes any file
	// in it whose name the tier could have made.
	Dir string
	// Capacity bounds, in bytes, the hot copies, open Writers, uploads and
	// recycled files together. Default DefaultCapacity(Dir).
	Capacity int64
	// UploadTTL: an upload not sealed this long after CreateUpload is
	// removed by Sweep. Default DefaultUploadTTL.
	UploadTTL time.Duration
	// RecycleBytes bounds the evicted, removed or dropped files kept for
	// reuse (they count against Capacity). Default Capacity/4; negative
	// turns recycling off. See doc.go for why recycling exists.
	RecycleBytes int64
	// Logger receives evictions at debug level and filesystem trouble at
	// warn. The zero value discards everything.
	Logger zerolog.Logger
	// Now is the clock for upload expiry. Default time.Now.
	Now func() time.Time
}

// DefaultDir is the directory a node with this id uses: /dev/shm/emerge-<id>,
// or under os.TempDir when the machine has no /dev/shm.
func DefaultDir(node string) string {
	base := "/dev/shm"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = os.TempDir()
	}
	return filepath.Join(base, "emerge-"+node)
}

// DefaultCapacity is a quarter of the smaller of the machine's memory
// (MemTotal) and the size of the filesystem holding dir, so that several
// nodes on one machine do not starve it. dir need not exist yet: the
// nearest existing parent is measured. 0 when neither can be read.
func DefaultCapacity(dir string) int64 {
	mem := memTotal()
	fs := fsSize(dir)
	switch {
	case mem == 0:
		return fs / 4
	case fs == 0:
		return mem / 4
	}
	return min(mem, fs) / 4
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func fsSize(dir string) int64 {
	var st unix.Statfs_t
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if unix.Statfs(d, &st) == nil {
			return int64(st.Blocks) * st.Bsize
		}
		if d == filepath.Dir(d) {
			return 0
		}
	}
}

// DefaultConfig returns the Config a node with a tier in dir starts from.
func DefaultConfig(dir string) Config {
	capacity := DefaultCapacity(dir)
	return Config{
		Dir:          dir,
		Capacity:     capacity,
		UploadTTL:    DefaultUploadTTL,
		RecycleBytes: capacity / 4,
		Logger:       zerolog.Nop(),
		Now:          time.Now,
	}
}

func (c Config) withDefaults() Config {
	if c.Capacity == 0 && c.Dir != "" {
		c.Capacity = DefaultCapacity(c.Dir)
	}
	if c.UploadTTL == 0 {
		c.UploadTTL = DefaultUploadTTL
	}
	if c.RecycleBytes == 0 {
		c.RecycleBytes = c.Capacity / 4
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: Dir is required", ErrBadConfig)
	case c.Capacity <= 0:
		return fmt.Errorf("%w: Capacity %d must be positive", ErrBadConfig, c.Capacity)
	case c.UploadTTL < 0:
		return fmt.Errorf("%w: negative UploadTTL", ErrBadConfig)
	}
	return nil
}
