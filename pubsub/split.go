package pubsub

// SplitIDs splits m into messages of at most per ids each (MaxIDs when per
// is not in 1..MaxIDs), in order, every part a copy of m with its share of
// m.IDs. A message that fits is returned alone. The parts share m.IDs'
// backing array (capped, so an append to one part never writes into the
// next). A WhoHas keeps its ReqID in every part, so the answers to all the
// parts match the one question.
func SplitIDs(m Message, per int) []Message {
	if per < 1 || per > MaxIDs {
		per = MaxIDs
	}
	if len(m.IDs) <= per {
		return []Message{m}
	}
	parts := make([]Message, 0, (len(m.IDs)+per-1)/per)
	ids := m.IDs
	for len(ids) > 0 {
		n := min(per, len(ids))
		p := m
		p.IDs = ids[:n:n]
		parts = append(parts, p)
		ids = ids[n:]
	}
	return parts
}
