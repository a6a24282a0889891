package shm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv selects what TestHelperProcess does when the test binary runs
// itself as a client process.
const helperEnv = "EMERGE_SHM_HELPER"

// TestHelperProcess is not a test: it is the client side of the
// cross-process tests, run in a child process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	path := os.Getenv("SHM_PATH")
	size, _ := strconv.ParseInt(os.Getenv("SHM_SIZE"), 10, 64)
	if err := helper(mode, path, size); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helper(mode, path string, size int64) error {
	switch mode {
	case "view", "hold":
		v, err := OpenView(path, size)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(v.Bytes())
		fmt.Println(hex.EncodeToString(sum[:]))
		if mode == "hold" { // keep the view until the parent kills us
			io.Copy(io.Discard, os.Stdin)
		}
		return v.Close()
	case "time":
		return timeView(path, size)
	case "write":
		_, err := WriteUpload(path, bytes.NewReader(content(testRef(int(size)), size)))
		return err
	case "map":
		m, err := MapUpload(path, size)
		if err != nil {
			return err
		}
		copy(m.Bytes(), content(testRef(int(size)), size))
		return m.Close()
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// timeView prints how long this process takes to open, read and close a
// view, for BenchmarkViewRead.
func timeView(path string, size int64) error {
	start := time.Now()
	v, err := OpenView(path, size)
	if err != nil {
		return err
	}
	readAll(v.Bytes())
	v.Close()
	fmt.Println(time.Since(start).Nanoseconds())
	return nil
}

// child starts the test binary as a client process in mode.
func child(t *testing.T, mode, path string, size int64) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "SHM_PATH="+path,
		"SHM_SIZE="+strconv.FormatInt(size, 10))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewReader(stdout), stdin
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCrossProcessView(t *testing.T) {
	tier := newTier(t, Config{})
	data := content(testRef(1), 5*mib+3)
	makeHot(t, tier, testRef(1), data)
	path, size, _ := tier.Acquire(testRef(1))
	cmd, out, _ := child(t, "view", path, size)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != sha(data) {
		t.Fatal("child read different bytes")
	}
}

func TestCrossProcessUpload(t *testing.T) {
	tier := newTier(t, Config{})
	for i, mode := range []string{"write", "map"} {
		size := int64(3*mib + i)
		up, err := tier.CreateUpload(size)
		if err != nil {
			t.Fatal(err)
		}
		cmd, _, _ := child(t, mode, up.Path, size)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s child: %v", mode, err)
		}
		f, _, err := tier.SealUpload(up.Name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(got, content(testRef(int(size)), size)) {
			t.Fatalf("%s: upload holds other bytes", mode)
		}
		if err := tier.CommitUpload(up.Name, testRef(int(size))); err != nil {
			t.Fatal(err)
		}
	}
}

// A client that dies holding a view leaks nothing: while it lives its file
// cannot be recycled (eviction unlinks it); once it is killed the kernel
// drops its lock and the same file can be recycled.
func TestDeadClientReleasesLock(t *testing.T) {
	tier := newTier(t, Config{})
	data := content(testRef(1), 2*mib)
	makeHot(t, tier, testRef(1), data)
	path, size, _ := tier.Acquire(testRef(1))
	cmd, out, _ := child(t, "hold", path, size)
	if line, _ := out.ReadString('\n'); strings.TrimSpace(line) != sha(data) {
		t.Fatal("child read different bytes")
	}
	if err := tier.Remove(testRef(1)); err != nil || tier.Stats().PoolFiles != 0 {
		t.Fatal("a file mapped by a live client went to the pool", err)
	}
	makeHot(t, tier, testRef(1), data)
	path, size, _ = tier.Acquire(testRef(1))
	cmd2, out2, _ := child(t, "hold", path, size)
	out2.ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	cmd2.Process.Kill()
	cmd2.Wait()
	// Wait returns after the child has exited, and exit closes its files.
	if err := tier.Remove(testRef(1)); err != nil {
		t.Fatal(err)
	}
	if tier.Stats().PoolFiles != 1 {
		t.Fatal("the dead client's lock was never released")
	}
}
