package files

import (
	"fmt"
	"time"
)

// RepairConfig configures self-healing. Zero values mean defaults.
type RepairConfig struct {
	// Delay is how long a member must be gone (dead, or left) before the
	// copies it held are made again elsewhere (default 5 min): a member
	// that comes back sooner costs no repair bytes, so a restart or a flap
	// causes no storm. Copies missing for other reasons (a put that
	// returned under target, a copy the scrub dropped) are made at once.
	Delay time.Duration
	// Interval is the period of the repair pass when nothing triggers one
	// sooner (default 10 min, jittered).
	Interval time.Duration
	// Streams caps the copies one node pushes at once (default 4).
	Streams int
	// Rate caps the bytes per second one node pushes for repair (default
	// 64 MiB/s; negative: no cap).
	Rate int64
	// MaxDeadShare: when more than this share of the members is gone at
	// once, repair waits (default 0.5): that is a partition, not a loss.
	MaxDeadShare float64
	// Off disables repair passes (the holds and hint ops are still served).
	Off bool

	// ScrubInterval is how long a full scrub pass over the stored blocks
	// takes at most (default 7 days); the pace follows from the bytes
	// stored. Negative disables the scrub.
	ScrubInterval time.Duration
	// ScrubRate caps the bytes per second the scrub re-hashes (default
	// 32 MiB/s).
	ScrubRate int64
}

func (c *RepairConfig) fill() error {
	if c.Delay == 0 {
		c.Delay = 5 * time.Minute
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Streams == 0 {
		c.Streams = 4
	}
	if c.Rate == 0 {
		c.Rate = 64 << 20
	}
	if c.MaxDeadShare == 0 {
		c.MaxDeadShare = 0.5
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = 7 * 24 * time.Hour
	}
	if c.ScrubRate == 0 {
		c.ScrubRate = 32 << 20
	}
	switch {
	case c.Delay < 0 || c.Interval < 0:
		return fmt.Errorf("files: negative repair delay or interval")
	case c.Streams < 1:
		return fmt.Errorf("files: repair streams %d, want at least 1", c.Streams)
	case c.MaxDeadShare <= 0 || c.MaxDeadShare > 1:
		return fmt.Errorf("files: repair max dead share %v outside (0, 1]", c.MaxDeadShare)
	}
	return nil
}
