package node

import (
	"context"
	"sort"
	"time"

	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/rpc"
)

// registerNames serves the names ops.
func (n *Node) registerNames(m *rpc.Mux) {
	m.Handle(rpc.OpNameBind, n.nameBind)
	m.Handle(rpc.OpNameResolve, n.nameResolve)
	m.Handle(rpc.OpNameList, n.nameList)
	m.Handle(rpc.OpNameVersions, n.nameVersions)
	m.Handle(rpc.OpNameMove, n.nameMove)
	m.Handle(rpc.OpNameRemove, n.nameRemove)
	m.Handle(rpc.OpNameFollow, n.nameFollow)
	n.names.Register(m) // name_digests, name_bucket
}

// nameBind binds a path to an object that exists: its size and content
// type come from its manifest.
func (n *Node) nameBind(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameBindReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	if err := names.ValidatePath(req.Path); err != nil {
		return nil, err
	}
	if req.IfVersion != nil && !req.Forwarded {
		if owner := n.nameOwner(req.Path); owner.ID != n.id {
			return n.forwardBind(ctx, owner, req)
		}
	}
	info, err := n.files.Stat(ctx, ref)
	if err != nil {
		return nil, err
	}
	ct := req.ContentType
	if ct == "" {
		ct = info.Manifest.ContentType
	}
	opts := names.BindOptions{ContentType: ct, Size: info.Manifest.Size, Mode: req.Mode, TTL: time.Duration(req.TTL),
		Keep: req.Keep, KeepFor: time.Duration(req.KeepFor)}
	e, orphans, err := n.names.Freeing(req.Path, func() (names.Entry, error) {
		if req.IfVersion != nil {
			return n.names.BindIf(ctx, req.Path, ref, opts, *req.IfVersion)
		}
		return n.names.Bind(ctx, req.Path, ref, opts)
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.freeUnnamed(ctx, orphans); err != nil {
		n.log.Warn().Err(err).Str("path", req.Path).Msg("names: delete the objects of erased versions")
	}
	return &rpc.Reply{Body: &rpc.NameEntryRep{Entry: wireName(e)}}, nil
}

func (n *Node) nameResolve(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	e, err := n.names.Resolve(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.NameEntryRep{Entry: wireName(e)}}, nil
}

func (n *Node) nameList(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameListReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	items, err := n.names.List(ctx, req.Prefix, req.Recursive)
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit <= 0 || limit > rpc.MaxNameList {
		limit = rpc.MaxNameList
	}
	i := sort.Search(len(items), func(i int) bool { return items[i].Path > req.After })
	items = items[i:]
	rep := &rpc.NameListRep{}
	if len(items) > limit {
		items = items[:limit]
		rep.Next = items[limit-1].Path
	}
	rep.Items = make(rpc.NameItems, len(items))
	for i, it := range items {
		rep.Items[i] = rpc.NameItem{Path: it.Path, Dir: it.Dir, Versions: it.Versions}
		if !it.Dir {
			rep.Items[i].Latest = wireName(it.Latest)
		}
	}
	return &rpc.Reply{Body: rep}, nil
}

func (n *Node) nameVersions(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	vs, err := n.names.Versions(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	if len(vs) > rpc.MaxNameList {
		vs = vs[len(vs)-rpc.MaxNameList:]
	}
	rep := &rpc.NameVersionsRep{Entries: make(rpc.NameEntries, len(vs))}
	for i, e := range vs {
		rep.Entries[i] = wireName(e)
	}
	return &rpc.Reply{Body: rep}, nil
}

func (n *Node) nameMove(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameMoveReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	e, err := n.names.Move(ctx, req.From, req.To)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.NameEntryRep{Entry: wireName(e)}}, nil
}

// nameRemove writes the tombstone and, with all versions, deletes the
// objects no version of any name still names.
func (n *Node) nameRemove(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameRemoveReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	e, orphans, err := n.names.Remove(ctx, req.Path, req.All)
	if err != nil {
		return nil, err
	}
	rep := &rpc.NameRemoveRep{Entry: wireName(e)}
	if rep.Freed, err = n.freeUnnamed(ctx, orphans); err != nil {
		return nil, err
	}
	if len(orphans) > 0 && n.free.grace > 0 {
		rep.Grace = int64(n.free.grace)
	}
	for _, ref := range orphans {
		if len(rep.Deleted) < rpc.MaxNameRefs {
			rep.Deleted = append(rep.Deleted, ref[:])
		}
	}
	return &rpc.Reply{Body: rep}, nil
}

// wireName is an entry as clients see it.
func wireName(e names.Entry) rpc.NameEntry {
	w := rpc.NameEntry{Path: e.Path, Version: e.Version, Tombstone: e.Tombstone, AllVersions: e.AllVersions,
		Erased: e.Erased, Writer: e.Writer, HLCWall: e.HLC.Wall, HLCLogical: e.HLC.Logical,
		ContentType: e.ContentType, Size: e.Size, Owner: e.Owner, Mode: e.Mode, TTL: int64(e.TTL), Keep: e.Keep, KeepFor: int64(e.KeepFor)}
	if !e.Ref.IsZero() {
		ref := e.Ref
		w.Ref = ref[:]
	}
	if !e.Created.IsZero() {
		w.Created = e.Created.UnixNano()
	}
	return w
}
