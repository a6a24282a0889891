package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/proctest"
)

// tourBlock is one ```sh block of the README's tour and what its marker
// says to do with it.
type tourBlock struct {
	nodes int      // > 0: each line starts a node in the background, then wait for this many members alive
	lines []string // verbatim
}

var tourMarker = regexp.MustCompile(`^<!-- tour: (?:run|start nodes, then wait until (\d+) members? (?:is|are) alive) -->$`)

// readTour extracts the sh blocks of the README's "A short tour" section.
// Every block there must carry a marker: a block nobody runs could drift.
func readTour(path string) ([]tourBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks  []tourBlock
		in      bool // inside the tour section
		cur     *tourBlock
		pending *tourBlock // marker seen, block not yet open
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## A short tour"
		case !in:
		case cur != nil && line == "```":
			blocks, cur = append(blocks, *cur), nil
		case cur != nil:
			if strings.TrimSpace(line) != "" {
				cur.lines = append(cur.lines, line)
			}
		case line == "```sh":
			if pending == nil {
				return nil, fmt.Errorf("README.md:%d: a tour block without a <!-- tour: ... --> marker", n)
			}
			cur, pending = pending, nil
		case strings.HasPrefix(line, "<!-- tour"):
			m := tourMarker.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("README.md:%d: unknown tour marker %q", n, line)
			}
			pending = &tourBlock{}
			if m[1] != "" {
				pending.nodes, _ = strconv.Atoi(m[1])
			}
		}
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("no tour blocks in %s", path)
	}
	return blocks, sc.Err()
}

// tourPrelude: stop the nodes on exit; tour_wait polls the first node's
// member table until n members are alive.
const tourPrelude = `set -eu -o pipefail
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait || true; }
trap cleanup EXIT
tour_wait() {
	for _ in $(seq 1200); do
		n=$(bin/emerge --timeout 1s peers --json 2>/dev/null | grep -c '"state": "alive"' || true)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.05
	done
	echo "tour: $1 members not alive within 60s"; exit 1
}
set -x
`

// tourScript turns the blocks into one bash script: run blocks verbatim,
// node lines each in the background with its own log, then a wait.
func tourScript(blocks []tourBlock) string {
	var b strings.Builder
	b.WriteString(tourPrelude)
	node := 0
	for _, blk := range blocks {
		for _, line := range blk.lines {
			if blk.nodes == 0 {
				b.WriteString(line + "\n")
				continue
			}
			node++
			// On its own line inside braces, so that a trailing comment
			// cannot swallow the redirection; a trailing & is the README
			// reader's, the braces' & is ours.
			cmd := strings.TrimSuffix(strings.TrimSpace(line), "&")
			fmt.Fprintf(&b, "{\n%s\n} > tour-node-%d.log 2>&1 &\n", cmd, node)
		}
		if blk.nodes > 0 {
			fmt.Fprintf(&b, "tour_wait %d\n", blk.nodes)
		}
	}
	return b.String()
}

// The README's tour, run as written: one node on the default ports, then
// two more joining it. It binds 7700-7721, which other tests on this
// machine may use, so it runs in a private network namespace (unshare
// --net, loopback brought up; /dev/shm stays shared, so shared memory
// works as on a real machine).
func TestREADMETour(t *testing.T) {
	blocks, err := readTour("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unshare", "--net", "sh", "-c", "ip link set lo up").CombinedOutput(); err != nil {
		t.Skipf("skipping the README tour: it needs a private network namespace for its fixed ports "+
			"(`unshare --net` and `ip`, as root): %v %s", err, out)
	}
	bin := proctest.Binary(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "bin", "emerge")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tour.sh"), []byte(tourScript(blocks)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTour(t, dir)
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "tour-node-*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), tail(string(b), 4000))
		}
		t.Fatalf("the README tour failed: %v\n%s", err, tail(out, 12000))
	}
	t.Logf("the tour's output:\n%s", tail(out, 12000))
	for _, want := range []string{
		"emerge: stored 1 of 2 copies; the network makes the rest as members join", // a lone node takes the put
		"exit code 3", // a get after rm
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the tour's output lacks %q:\n%s", want, tail(out, 12000))
		}
	}
}

// runTour runs tour.sh in dir inside a new network namespace, in its own
// process group, killed whole at the end.
func runTour(t *testing.T, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "bash", "-c", "ip link set lo up && exec bash tour.sh")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = tourEnv()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	err := cmd.Wait()
	return out.String(), err
}

// tourEnv is the environment without EMERGE_* variables: the tour is a
// newcomer's, with the defaults.
func tourEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EMERGE_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

func TestReadTourNeedsMarkers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "README.md")
	os.WriteFile(p, []byte("## A short tour\n\n```sh\nbin/emerge ls\n```\n"), 0o644)
	if _, err := readTour(p); err == nil || !strings.Contains(err.Error(), "without a") {
		t.Fatalf("an unmarked block: %v", err)
	}
	os.WriteFile(p, []byte("## A short tour\n<!-- tour: start nodes, then wait until 2 members are alive -->\n```sh\n"+
		"bin/emerge node --listen 127.0.0.1:7710 &   \n```\n<!-- tour: run -->\n```sh\nbin/emerge ls  # list\n```\n## Next\n```sh\nnot run\n```\n"), 0o644)
	blocks, err := readTour(p)
	if err != nil || len(blocks) != 2 || blocks[0].nodes != 2 || blocks[1].nodes != 0 {
		t.Fatalf("%+v %v", blocks, err)
	}
	script := tourScript(blocks)
	for _, want := range []string{"{\nbin/emerge node --listen 127.0.0.1:7710 \n} > tour-node-1.log 2>&1 &\ntour_wait 2\n", "bin/emerge ls  # list\n"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "not run") {
		t.Error("a block outside the tour section got in")
	}
}
