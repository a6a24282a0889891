// Package shm is a node's shared-memory hot tier: whole objects kept as
// files in a tmpfs directory (Config.Dir, by default DefaultDir(node id) =
// /dev/shm/emerge-<id>), so that a client on the same machine reads an
// object without it crossing a socket, and puts one by filling a file the
// node then keeps. It imports only blocks (for Ref).
//
// # Files
//
// Dir holds, by name: a sealed hot copy per ref (the ref in hex, mode
// 0400), a Writer's private file while it fills (tmp-N), uploads (up- and
// 24 random hex digits) and retired files kept for reuse (pool-N). Only hot
// copies and uploads are ever named to clients. The tier flocks Dir itself,
// so two tiers never share a Dir.
//
// # Make hot (node)
//
// Create(ref, size) reserves size bytes, evicting least recently used hot
// copies if needed, and returns a Writer on a private file (WriteAt from
// many goroutines, or Write / ReadFrom in order). Seal renames the file to
// the ref's name atomically (RENAME_NOREPLACE): a half-written copy is
// never visible. Abort, a failed write or Seal of a short file releases
// the reservation and the file.
//
// # Local get
//
// The node answers with Acquire(ref): the path and size, and a bump in the
// LRU order. Acquire does not pin and there is nothing to release: the
// client takes its own shared flock on the file (OpenView, ReadHot), and
// eviction only unlinks a file a client holds, so a mapping stays valid,
// with the same bytes, until the client closes it. A client that dies
// leaks nothing: the kernel drops its mappings and its lock, and the file
// was either still a hot copy (accounted) or already unlinked.
//
// OpenView maps the file read-only (zero copies). ReadHot preads it into a
// buffer the caller has: one copy, but no page-table work, which is
// cheaper on machines where page faults are slow (see Measurements). Both
// return ErrStale when the file is no longer the copy the node named;
// the client asks again or streams the object instead.
//
// # Local put
//
// CreateUpload(size) makes an upload file with its pages allocated (a full
// filesystem fails here, never as SIGBUS in a client writing through a
// mapping). The client fills it (WriteUpload with pwrite, or MapUpload),
// holding a shared flock while it writes, and tells the node, which calls
// SealUpload: refused (ErrBusy) while a client still holds the file, it
// makes the file read-only and hands it to the node to hash and persist.
// CommitUpload(name, ref) then renames it to the ref's hot name: the
// upload becomes the hot copy without a copy. DropUpload discards it.
// Uploads count against Capacity while they exist and are never evicted;
// Sweep removes those left unsealed for UploadTTL (default 10 min). A
// sealed upload waits for CommitUpload or DropUpload. The locks are
// advisory: a client that writes an upload without the helpers, or after
// asking for the seal, is a buggy client; the node's hash check at persist
// time is what guarantees an object's content.
//
// # Capacity
//
// Hot copies + open Writers' reservations + uploads + pool files never
// exceed Capacity. A Create or CreateUpload larger than Capacity fails
// with ErrTooLarge (which wraps ErrNoSpace), the node's cue to stream.
// When the bytes held by Writers and uploads leave too little room it
// fails with ErrNoSpace and evicts nothing; otherwise pool files go first,
// then hot copies, least recently used first (Acquire counts as a use,
// Has does not). Memory that clients keep mapped after an eviction is
// outside the accounting until they close their views.
//
// The node's default for shm_bytes is DefaultCapacity(dir): a quarter of
// the smaller of the machine's memory (MemTotal) and the size of the
// filesystem holding Dir (statfs), so that several nodes on one machine do
// not starve it. A zero Config.Capacity means that default.
//
// # Recycling
//
// On the VMs measured below, the first write to a page the host has not
// backed costs about 10 µs, and the guest returns freed pages to the host
// two seconds after they are freed (free page reporting). A file that
// reuses the pages of an evicted one fills at memory speed; a fresh one
// fills at under 1 GB/s. So an evicted, removed, dropped or aborted file
// is not unlinked but kept in a pool (counted in Capacity, at most
// RecycleBytes, default Capacity/4), and the next Create or CreateUpload
// takes the best-fitting pool file and resizes it. When making room, pool
// files are dropped before any hot copy is evicted.
//
// A file is recycled only when no client holds it: the node takes
// flock(LOCK_EX|LOCK_NB), which fails while any client holds its shared
// lock (a dead client's lock is released by the kernel), and keeps the
// exclusive lock until it has renamed the file away from its public name.
// A client that opened the old name just before takes its shared lock
// only after that, and OpenView then finds that the file at the path is
// another one (or none) and returns ErrStale. So a view never sees its
// bytes change. Files a client holds are unlinked instead.
//
// # Lifecycle
//
// Open creates Dir (0700) and removes every file in it whose name the tier
// could have made: a restarted node has no record of them. Other files
// are left alone (and logged), so a misconfigured Dir loses nothing.
// Close removes all the tier's files, since hot copies are a cache the
// next Open would remove anyway, and Dir if that leaves it empty; views
// clients hold stay valid. The tier starts no goroutines; the node calls
// Sweep now and then (every minute, say). Evictions, unlinks and renames
// run under the tier's lock: they are system calls of a few microseconds,
// except unlinking a large file, which frees its pages.
//
// # Measurements
//
// MEASUREMENTS
package shm
