package registry

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for Config's zero fields.
const (
	DefaultSuspectAfter = 3 * time.Second
	DefaultDeadAfter    = 10 * time.Second
	DefaultRemoveAfter  = time.Hour
	DefaultEventBuffer  = 256
)

// Config configures a Registry. A zero field means its default.
type Config struct {
	// Self is this node's own record. ID is required; Groups are sorted and
	// de-duplicated; Incarnation is where self's counter starts (Restore and
	// refutation raise it). Left must be false.
	Self Member
	// SuspectAfter: a member not heard for this long turns Suspect.
	SuspectAfter time.Duration
	// DeadAfter: a member not heard for this long turns Dead. Must exceed
	// SuspectAfter.
	DeadAfter time.Duration
	// RemoveAfter: a Dead or Left member is pruned this long after it
	// entered that state; its tombstone lasts as long again.
	RemoveAfter time.Duration
	// EventBuffer is how many recent events Events can return.
	EventBuffer int
	// Notify, when set, receives every event. Sends never block: an event
	// that does not fit is counted by Dropped and stays in the ring.
	Notify chan<- Event
	// Logger receives state changes at debug level and anomalies at warn.
	// The zero value discards everything.
	Logger zerolog.Logger
	// Now is the clock for Merge, Heard and self updates. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns a Config with every default filled except Self.
func DefaultConfig() Config {
	return Config{
		SuspectAfter: DefaultSuspectAfter,
		DeadAfter:    DefaultDeadAfter,
		RemoveAfter:  DefaultRemoveAfter,
		EventBuffer:  DefaultEventBuffer,
		Logger:       zerolog.Nop(),
		Now:          time.Now,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SuspectAfter == 0 {
		c.SuspectAfter = d.SuspectAfter
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = d.DeadAfter
	}
	if c.RemoveAfter == 0 {
		c.RemoveAfter = d.RemoveAfter
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = d.EventBuffer
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.SuspectAfter < 0 || c.DeadAfter < 0 || c.RemoveAfter < 0:
		return fmt.Errorf("%w: negative duration", ErrBadConfig)
	case c.DeadAfter <= c.SuspectAfter:
		return fmt.Errorf("%w: DeadAfter %v must exceed SuspectAfter %v", ErrBadConfig, c.DeadAfter, c.SuspectAfter)
	case c.EventBuffer < 0:
		return fmt.Errorf("%w: negative EventBuffer", ErrBadConfig)
	case c.Self.Left:
		return fmt.Errorf("%w: Self.Left is set", ErrBadConfig)
	}
	if err := c.Self.Validate(); err != nil {
		return fmt.Errorf("%w: self: %w", ErrBadConfig, err)
	}
	return nil
}
