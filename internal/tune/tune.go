// Package tune applies process-wide tuning that emerge's data path needs on
// machines where touching fresh pages is slow (see docs/benchmarks.md).
package tune

/*
#include <malloc.h>
static int emerge_mallopt(void) {
	// libzmq mallocs every message buffer. Above the default mmap threshold
	// (128 KiB, dynamic up to 32 MiB) each 1 MiB block gets fresh mmapped
	// pages, and page faults dominate. Keeping such buffers on the heap and
	// not trimming it lets them be reused warm.
	int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);
	ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30);
	return ok;
}
*/
import "C"

// Malloc raises glibc's mmap and trim thresholds once per process, the
// programmatic form of GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:
// glibc.malloc.trim_threshold=1073741824. It reports whether glibc accepted
// both settings. It is idempotent. Call it from main (and TestMain);
// libraries do not call it.
func Malloc() bool { return C.emerge_mallopt() == 1 }
