package pubsub

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// The checks below run on wire structs, in both directions.

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func tooLarge(field string, n, limit int) error {
	return fmt.Errorf("%w: %w: %s: %d, limit %d", ErrBadMessage, ErrTooLarge, field, n, limit)
}

func missing(field string) error {
	return fmt.Errorf("%w: %s: missing", ErrBadMessage, field)
}

func checkStr(field, s string, required bool) error {
	switch {
	case len(s) > MaxString:
		return tooLarge(field+" bytes", len(s), MaxString)
	case required && s == "":
		return missing(field)
	}
	return nil
}

func checkFrom(s string) error { return checkStr("from", s, true) }

// checkIDs wants 1..MaxIDs ids.
func checkIDs(ids idList) error {
	switch {
	case len(ids) > MaxIDs:
		return tooLarge("ids", len(ids), MaxIDs)
	case len(ids) == 0:
		return missing("ids")
	}
	return nil
}

// checkRef wants a whole, non-zero ref.
func checkRef(b []byte) error {
	if len(b) != blocks.IDSize {
		return fmt.Errorf("%w: ref: %d bytes, want %d", ErrBadMessage, len(b), blocks.IDSize)
	}
	if blocks.Ref(b).IsZero() {
		return missing("ref")
	}
	return nil
}

// checkList caps a list of names; every name is required.
func checkList(field string, list []string, limit int) error {
	if len(list) > limit {
		return tooLarge(field, len(list), limit)
	}
	for _, s := range list {
		if err := checkStr(field+" entry", s, true); err != nil {
			return err
		}
	}
	return nil
}

func checkTargets(n int) error {
	if n == 0 {
		return missing("groups and nodes")
	}
	return nil
}
