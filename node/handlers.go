package node

import (
	"context"
	"errors"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/rpc"
)

// Version is the build version reported by Ping; the CLI sets it at link time.
var Version = "dev"

// maxInline caps PutObject: bigger objects use the streamed upload.
const maxInline = 16 << 20

// register serves every op on m: the client-facing ones here, the peer ops
// of membership and of the object service theirs.
func (n *Node) register(m *rpc.Mux) {
	n.members.Register(m)
	n.files.Register(m)
	m.Handle(rpc.OpPing, n.ping)
	m.Handle(rpc.OpPutObject, n.putObject)
	m.Handle(rpc.OpPutStart, n.putStart)
	m.Handle(rpc.OpPutData, n.putData)
	m.Handle(rpc.OpPutCommit, n.putCommit)
	m.Handle(rpc.OpPutAbort, n.putAbort)
	m.Handle(rpc.OpGetObject, n.getObject)
	m.Handle(rpc.OpStat, n.stat)
	m.Handle(rpc.OpDelete, n.delete)
	m.Handle(rpc.OpList, n.list)
	m.Handle(rpc.OpInfo, n.info)
	n.handleShm(m)
	m.Handle(rpc.OpGroup, n.group)
	m.Handle(rpc.OpPrefetch, n.prefetch)
	m.Handle(rpc.OpPrefetchStatus, n.prefetchStatus)
	n.registerNames(m) // names_handlers.go
}

func (n *Node) ping(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return &rpc.Reply{Body: &rpc.PingRep{Node: n.id, Host: n.host, Version: Version,
		BlockSize: int(n.cfg.BlockSize), MaxInline: maxInline}}, nil
}

func (n *Node) info(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	st, err := n.store.Stats()
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.InfoRep{Node: n.id, Host: n.host, Version: Version, Endpoint: n.server.Endpoint(),
		Objects: st.Objects, Blocks: st.Blocks, BlockBytes: st.BlockBytes, DiskBytes: st.LSMBytes + st.VlogBytes,
		Uploads: n.files.Uploads(), Served: n.files.Served(), Shm: n.shmInfo()}}, nil
}

func (n *Node) stat(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	ref, err := decodeRef(m)
	if err != nil {
		return nil, err
	}
	info, err := n.files.Stat(ctx, ref)
	if err != nil {
		return nil, err
	}
	wi := objectInfo(ref, info.Manifest)
	wi.Local = info.Local
	return &rpc.Reply{Body: &rpc.StatRep{Info: wi}}, nil
}

func (n *Node) delete(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	ref, err := decodeRef(m)
	if err != nil {
		return nil, err
	}
	freed, err := n.files.Delete(ctx, ref)
	if err != nil {
		return nil, err
	}
	n.dropHot(ref)
	return &rpc.Reply{Body: &rpc.DeleteRep{Freed: freed}}, nil
}

func (n *Node) list(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.ListReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	var after blocks.Ref
	if len(req.After) > 0 {
		var err error
		if after, err = rpc.ParseRef(req.After); err != nil {
			return nil, err
		}
	}
	limit := req.Limit
	if limit <= 0 || limit > rpc.MaxListLimit {
		limit = rpc.MaxListLimit
	}
	objs, err := n.files.List(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	rep := &rpc.ListRep{Items: make(rpc.ObjectInfos, len(objs))}
	for i, o := range objs {
		rep.Items[i] = rpc.ObjectInfo{Ref: o.Ref[:], Size: o.Size, BlockSize: o.BlockSize, Blocks: o.Blocks,
			Replicas: o.Replicas, Created: o.Created.UnixNano(), ContentType: o.ContentType, Meta: o.Meta}
		if rep.Items[i].Local, err = n.localBlocks(ctx, o.Ref); err != nil {
			return nil, err
		}
	}
	if len(objs) == limit {
		last := objs[len(objs)-1].Ref
		rep.Next = last[:]
	}
	return &rpc.Reply{Body: rep}, nil
}

// localBlocks counts the blocks of a listed object this node holds, as stat
// does. An object deleted since it was listed counts none.
func (n *Node) localBlocks(ctx context.Context, ref blocks.Ref) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m, _, err := n.store.Manifest(ref)
	if errors.Is(err, blocks.ErrNotFound) || errors.Is(err, blocks.ErrDeleted) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	has, err := n.store.HasBlocks(m.Blocks)
	held := 0
	for _, h := range has {
		if h {
			held++
		}
	}
	return held, err
}

func decodeRef(m *rpc.Message) (blocks.Ref, error) {
	var req rpc.RefReq
	if err := m.Decode(&req); err != nil {
		return blocks.Ref{}, err
	}
	return rpc.ParseRef(req.Ref)
}

func objectInfo(ref blocks.Ref, man *blocks.Manifest) rpc.ObjectInfo {
	return rpc.ObjectInfo{Ref: ref[:], Size: man.Size, BlockSize: man.BlockSize, Blocks: len(man.Blocks),
		Replicas: man.Replicas, Created: man.Created.UnixNano(), ContentType: man.ContentType, Meta: man.Meta}
}

func putOptions(p rpc.PutParams) files.PutOptions {
	return files.PutOptions{BlockSize: p.BlockSize, Replicas: p.Replicas, MinReplicas: p.MinReplicas,
		ContentType: p.ContentType, Meta: p.Meta, PrefetchGroups: p.PrefetchGroups, PrefetchNodes: p.PrefetchNodes}
}
