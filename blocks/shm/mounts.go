package shm

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// mountOptions returns the type and options of the mount holding dir, from
// /proc/self/mounts (the longest mount point that contains dir).
func mountOptions(dir string) (fstype, options string) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	best := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !within(dir, fields[1]) || len(fields[1]) < len(best) {
			continue
		}
		best, fstype, options = fields[1], fields[2], fields[3]
	}
	return fstype, options
}

func within(dir, mount string) bool {
	return mount == "/" || dir == mount || strings.HasPrefix(dir, mount+"/")
}

// checkMount logs what the filesystem under Dir means for speed: not tmpfs
// means hot copies are ordinary files; tmpfs without huge pages means a
// view's page tables cost more than a copy on some VMs (see doc.go).
func (t *Tier) checkMount() {
	fstype, options := mountOptions(t.cfg.Dir)
	switch {
	case !isTmpfs(t.cfg.Dir):
		t.log.Warn().Str("dir", t.cfg.Dir).Msg("not on tmpfs: hot copies are ordinary files")
	case !strings.Contains(options, "huge=") || strings.Contains(options, "huge=never"):
		t.log.Info().Str("dir", t.cfg.Dir).Str("fs", fstype).
			Msg("tmpfs without huge pages: views are faster on a tmpfs mounted huge=within_size")
	}
}
