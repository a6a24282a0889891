package membership

import (
	"context"

	"github.com/emerge-dev/emerge/rpc"
)

// Register serves the membership ops on mux: join, registry and members.
func (s *Service) Register(mux *rpc.Mux) {
	mux.Handle(rpc.OpJoin, s.serveJoin)
	mux.Handle(rpc.OpRegistry, s.registryTable)
	mux.Handle(rpc.OpMembers, s.members)
}

// serveJoin merges the sender's record (a newcomer, or a member leaving) and
// answers with the member table. A newcomer is re-announced at once, so
// every member pulls the table and subscribes to it within a heartbeat.
func (s *Service) serveJoin(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.JoinReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	rec := FromWire(req.Member)
	if err := rec.Validate(); err != nil {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "join: %v", err)
	}
	if s.reg.Merge(rec) && !rec.Left {
		s.Heartbeat()
	}
	return s.table()
}

func (s *Service) registryTable(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return s.table()
}

func (s *Service) table() (*rpc.Reply, error) {
	b, err := s.reg.Snapshot()
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.TableRep{Digest: s.reg.Digest()}, Data: [][]byte{b}}, nil
}

// members lists the member table as this node sees it, with recent events.
func (s *Service) members(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.MembersReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	reg := s.reg
	rep := &rpc.MembersRep{Self: s.reg.Self().ID, Digest: reg.Digest()}
	for _, st := range reg.Members() {
		ms := rpc.MemberStatus{MemberRecord: ToWire(st.Member), State: st.State.String()}
		if !st.LastHeard.IsZero() {
			ms.Heard = st.LastHeard.UnixNano()
		}
		if !st.Since.IsZero() {
			ms.Since = st.Since.UnixNano()
		}
		rep.Members = append(rep.Members, ms)
	}
	for _, e := range reg.Events(req.Since) {
		rep.Events = append(rep.Events, rpc.MemberEvent{Seq: e.Seq, Kind: e.Kind.String(), ID: e.Member.ID,
			From: e.From.String(), To: e.To.String(), At: e.At.UnixNano()})
	}
	return &rpc.Reply{Body: rep}, nil
}
