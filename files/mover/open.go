package mover

// An open mover (Config.Open) takes items while it runs: a prefetch of a
// put still in progress learns the blocks as the put lands them. Run does
// not end when every item so far has landed; it waits for Add or Seal.

// Add appends items to an open mover's order (after those it has). Safe
// from any goroutine; items added after Run returned are ignored.
func (m *Mover) Add(items []Item) {
	m.addMu.Lock()
	m.added = append(m.added, items...)
	m.addMu.Unlock()
	m.signalAdd()
}

// Seal tells an open mover that no more items come: Run returns once those
// it has are finished. Safe from any goroutine.
func (m *Mover) Seal() {
	m.addMu.Lock()
	m.sealed = true
	m.addMu.Unlock()
	m.signalAdd()
}

func (m *Mover) signalAdd() {
	select {
	case m.addC <- struct{}{}:
	default:
	}
}

// waiting reports whether Run must wait for more items.
func (m *Mover) waiting() bool {
	if !m.cfg.Open {
		return false
	}
	m.addMu.Lock()
	defer m.addMu.Unlock()
	return !m.sealed || len(m.added) > 0
}

// takeAdded moves the items Add queued into the order (Run's goroutine).
func (m *Mover) takeAdded() {
	m.addMu.Lock()
	items := m.added
	m.added = nil
	m.addMu.Unlock()
	for _, it := range items {
		if m.byID[it.ID] != nil {
			continue
		}
		it.Copies = max(it.Copies, 1)
		b := &block{item: it, taken: map[string]bool{}, tried: map[string]bool{}}
		m.byID[it.ID] = b
		m.order = append(m.order, b)
		m.pending++
	}
}
