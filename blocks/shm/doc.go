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
// copies and uploads are ever named to clients, which run as the node's
// user (Dir is 0700). The tier flocks Dir itself, so two tiers never share
// a Dir.
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
// fills at 0.6-5 GB/s, depending on what the machine freed lately, under
// 1 GB/s when it freed nothing (see Measurements). So an evicted, removed, dropped or aborted file
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
// On the 2-vCPU development VM (a PVM guest: shadow page tables, free page
// reporting), objects of 256 MiB, GB/s, ranges over several runs of
//
//	go test ./blocks/shm -run '^$' -bench . -benchtime 4x
//
// (EMERGE_LONG=1 for 1 GiB; EMERGE_SHM_TEST_DIR=<dir> to measure another
// mount). The machine was shared, so the spread is wide; ratios come from
// the same run.
//
//	get (BenchmarkViewRead)                    /dev/shm   tmpfs huge=within_size
//	memcpy into touched memory                 12-15      19
//	OpenView + read every byte + Close         1.7-2.1    24
//	  the same without MAP_POPULATE            1.7        22
//	  the same in a fresh client process       1.8-2.1    16
//	ReadHot (pread into a touched buffer)      4.9-6.6    9.5
//	view time / memcpy time                    6.5-7.9    0.79
//	ReadHot time / memcpy time                 2.1-2.8    2.0
//
//	put (BenchmarkUploadFill, FillMethods)     /dev/shm   tmpfs huge=within_size
//	memcpy into touched memory                 11-15      17
//	fresh file, pwrite                         0.6-5.2    0.68
//	  fallocate first (raw calls)              0.9-1.5
//	fresh file, mmap (MAP_POPULATE)            0.2 (0.3-1.1)  0.5
//	fresh file on pages just freed, pwrite     3.7-6.8
//	recycled file, pwrite                      6-8.3      16
//	recycled file, mmap (MAP_POPULATE)         0.3 (1.3-1.7)  14
//	fresh/recycled time, pwrite, 256 MiB       1.1-5.5    24
//	fresh/recycled time, pwrite, 1 GiB         13
//
// What decided the design:
//
//   - Recycling: the first touch of a page the host no longer backs costs
//     about 10 µs, and freed pages go back to the host two seconds after
//     they are freed. How fresh a new file is depends on what the whole
//     machine freed lately (hence 0.6-5 GB/s); a recycled file always
//     fills at memory speed. Worth its hundred lines.
//   - pwrite over mmap for filling: a new mapping pays a fault per page
//     (5-10 µs here), on recycled pages too; WriteUpload is the fast way
//     to put, MapUpload is for producers that need the memory itself.
//   - Views cost page-table work, not copies: on this VM about seven
//     memcpys' worth for a view read once, more than ReadHot's one copy.
//     A client that keeps its view and reads it again reads at memory
//     speed, and on a tmpfs with huge pages a view is cheaper than one
//     copy. Operators who can should mount Dir's filesystem with
//     huge=within_size (Open logs a hint when it is not).
//   - MAP_POPULATE is used for views and upload mappings: faster in every
//     case measured.
package shm
