package store

import (
	"fmt"
	"strings"

	"github.com/rs/zerolog"
)

// badgerLogger routes Badger's warnings and errors to zerolog and drops its
// info and debug lines (Badger logs every compaction at info).
type badgerLogger struct{ log zerolog.Logger }

func (l badgerLogger) Errorf(f string, v ...any) {
	l.log.Error().Msg(strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (l badgerLogger) Warningf(f string, v ...any) {
	l.log.Warn().Msg(strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
