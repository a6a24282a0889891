package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// The S3 interface against the tools people use: rclone, s3cmd, awscli and
// boto3, Debian's packages (make s3-deps installs them; a tool apt could not
// install is skipped, saying so). Each uploads a tree of a 0-byte file,
// small files (one with spaces and non-ASCII in its key) and a 100 MiB file
// (in parts), lists it, syncs a change, downloads it, reads a range of the
// large file and deletes everything; every byte is compared, and the node
// holds no object at the end.
func TestS3Clients(t *testing.T) {
	if raceEnabled {
		t.Skip("S3 client tests check compatibility with real tools, not concurrency: skipped under -race")
	}
	const access, secret = "AKEMERGETEST", "emerge/test+secret"
	n := nodetest.Start(t, func(c *node.Config) {
		c.S3AccessKey, c.S3SecretKey = access, secret
		c.NamesFreeGrace = -1 // objects a key no longer names go at once: the test waits for them
	})
	big := filepath.Join(t.TempDir(), "big.bin")
	writeFile(t, big, testdata.New(42, 100<<20))
	env := &s3Env{url: n.HTTPEndpoint(), access: access, secret: secret, big: big}
	for _, c := range []struct {
		tool string
		bin  string
		run  func(*testing.T, *s3Env, string)
	}{
		{"awscli", "/usr/bin/aws", runAWS},
		{"rclone", "/usr/bin/rclone", runRclone},
		{"s3cmd", "/usr/bin/s3cmd", runS3cmd},
		{"boto3", "/usr/bin/python3", runBoto3},
	} {
		t.Run(c.tool, func(t *testing.T) {
			if !installed(c.tool, c.bin) {
				t.Skipf("%s is not installed (make s3-deps installs it with apt-get; apt could not here): skipped", c.tool)
			}
			c.run(t, env, c.tool+"-test")
			nodetest.WaitFor(t, 10*time.Second, "every object to be deleted", func() bool {
				st, err := n.Store().Stats()
				return err == nil && st.Objects == 0
			})
		})
	}
}

func installed(tool, bin string) bool {
	if _, err := os.Stat(bin); err != nil {
		return false
	}
	if tool == "boto3" {
		return exec.Command(bin, "-c", "import boto3").Run() == nil
	}
	return true
}

// s3Env is what every tool needs: the endpoint, the keys, the large file.
type s3Env struct {
	url, access, secret, big string
}

// tree makes a fresh copy of the test tree (big.bin hard-linked) and
// returns its path.
func (e *s3Env) tree(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "tree")
	for rel, data := range map[string]string{
		"empty":                    "",
		"small.txt":                "hello, s3\n",
		"dir with space/ä+b=c.txt": "a key that needs encoding\n",
		"sub/b.bin":                strings.Repeat("0123456789", 10<<10),
	} {
		writeFile(t, filepath.Join(dir, rel), strings.NewReader(data))
	}
	writeFile(t, filepath.Join(dir, "sub/deep/c.bin"), testdata.New(7, 1<<20+3))
	if err := os.Link(e.big, filepath.Join(dir, "big.bin")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// change rewrites small.txt (another size) and adds new.txt: what the
// second sync must carry.
func change(t *testing.T, tree string) {
	writeFile(t, filepath.Join(tree, "small.txt"), strings.NewReader("changed, and longer than before\n"))
	writeFile(t, filepath.Join(tree, "new.txt"), strings.NewReader("new\n"))
}

func writeFile(t *testing.T, path string, r io.Reader) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sums maps every file under dir to its size and SHA-256.
func sums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fmt.Sprintf("%d %x", n, h.Sum(nil))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree fails unless got holds exactly the files of want, byte for byte.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := sums(t, want), sums(t, got)
	for rel, s := range w {
		if g[rel] != s {
			t.Errorf("%s: got %q, want %q", rel, g[rel], s)
		}
	}
	for rel := range g {
		if _, ok := w[rel]; !ok {
			t.Errorf("%s: downloaded, but not in the tree", rel)
		}
	}
}

// sizes maps every file under dir to its size.
func sizes(t *testing.T, dir string) map[string]int64 {
	out := map[string]int64{}
	for rel, s := range sums(t, dir) {
		n, _ := strconv.ParseInt(strings.Fields(s)[0], 10, 64)
		out[rel] = n
	}
	return out
}

func sameSizes(t *testing.T, what string, want, got map[string]int64) {
	t.Helper()
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("%s: listed %v, want %v", what, got, want)
	}
}

// run runs a tool and returns its stdout; a failure ends the test with its
// output.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t.Logf("%.1fs %s %s", time.Since(start).Seconds(), filepath.Base(name), strings.Join(args, " "))
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, tail(out.String()), tail(errb.String()))
	}
	return out.String()
}

// cleanEnv is this process's environment without the AWS_ and RCLONE_
// variables the machine may set (a CA bundle, a profile): each tool gets
// exactly the settings of its test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "RCLONE_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

func md5File(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := md5.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// checkRange compares a range of the large file read by a tool.
func checkRange(t *testing.T, big string, got []byte, off, n int64) {
	t.Helper()
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := make([]byte, n)
	if _, err := f.ReadAt(want, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("range %d+%d: %d bytes differ from the file", off, n, len(got))
	}
}

func runAWS(t *testing.T, e *s3Env, bucket string) {
	home := t.TempDir()
	env := []string{"AWS_ACCESS_KEY_ID=" + e.access, "AWS_SECRET_ACCESS_KEY=" + e.secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "HOME=" + home}
	aws := func(args ...string) string {
		if args[0] == "s3" && (args[1] == "sync" || args[1] == "cp") {
			args = append(args, "--no-progress", "--only-show-errors")
		}
		return run(t, env, "/usr/bin/aws", append([]string{"--endpoint-url", e.url}, args...)...)
	}
	tree, down := e.tree(t), filepath.Join(t.TempDir(), "down")
	remote := "s3://" + bucket + "/tree"
	aws("s3", "mb", "s3://"+bucket)
	aws("s3", "sync", tree, remote)
	sameSizes(t, "aws s3 ls", sizes(t, tree), awsListed(aws("s3", "ls", "--recursive", remote+"/")))
	if head := aws("s3api", "head-object", "--bucket", bucket, "--key", "tree/big.bin"); !strings.Contains(head, `-13\"`) {
		t.Fatalf("big.bin was not put in 13 parts of 8 MiB: %s", head)
	}
	change(t, tree)
	aws("s3", "sync", tree, remote)
	aws("s3", "sync", remote, down)
	sameTree(t, tree, down)
	out := filepath.Join(t.TempDir(), "range")
	aws("s3api", "get-object", "--bucket", bucket, "--key", "tree/big.bin", "--range", "bytes=1000-2000999", out)
	got, _ := os.ReadFile(out)
	checkRange(t, e.big, got, 1000, 2000000)
	aws("s3", "rm", remote+"/small.txt")
	if strings.Contains(aws("s3", "ls", "--recursive", remote+"/"), "small.txt") {
		t.Fatal("small.txt listed after aws s3 rm")
	}
	aws("s3", "rm", "--recursive", "s3://"+bucket)
	aws("s3", "rb", "s3://"+bucket)
}

// awsListed reads `aws s3 ls --recursive`: date time size key.
func awsListed(out string) map[string]int64 {
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 {
			continue
		}
		rest := strings.TrimLeft(strings.Join(f[2:], " "), " ")
		size, key, _ := strings.Cut(rest, " ")
		n, _ := strconv.ParseInt(size, 10, 64)
		got[strings.TrimPrefix(key, "tree/")] = n
	}
	return got
}

func runRclone(t *testing.T, e *s3Env, bucket string) {
	home := t.TempDir()
	conf := filepath.Join(home, "rclone.conf")
	writeFile(t, conf, strings.NewReader(""))
	env := []string{"RCLONE_CONFIG=" + conf, "HOME=" + home, "XDG_CACHE_HOME=" + home,
		"RCLONE_CONFIG_EM_TYPE=s3", "RCLONE_CONFIG_EM_PROVIDER=Other", "RCLONE_CONFIG_EM_ENDPOINT=" + e.url,
		"RCLONE_CONFIG_EM_ACCESS_KEY_ID=" + e.access, "RCLONE_CONFIG_EM_SECRET_ACCESS_KEY=" + e.secret,
		"RCLONE_CONFIG_EM_REGION=us-east-1"}
	// Parts of 8 MiB from 16 MiB on, so big.bin goes in parts (the default
	// cutoff is 200 MiB).
	rclone := func(args ...string) string {
		return run(t, env, "/usr/bin/rclone", append([]string{"--s3-upload-cutoff", "16M", "--s3-chunk-size", "8M",
			"--retries", "1", "--low-level-retries", "1"}, args...)...)
	}
	tree, down := e.tree(t), filepath.Join(t.TempDir(), "down")
	remote := "em:" + bucket + "/tree"
	rclone("mkdir", "em:"+bucket)
	rclone("copy", tree, remote)
	sameSizes(t, "rclone lsjson", sizes(t, tree), rcloneListed(t, rclone("lsjson", "-R", "--files-only", remote)))
	change(t, tree)
	rclone("sync", tree, remote)
	rclone("check", tree, remote) // sizes and MD5s (ETags, or the MD5 rclone keeps with parts)
	rclone("copy", remote, down)
	sameTree(t, tree, down)
	got := []byte(rclone("cat", "--offset", "1000", "--count", "2000000", remote+"/big.bin"))
	checkRange(t, e.big, got, 1000, 2000000)
	rclone("deletefile", remote+"/small.txt")
	if _, ok := rcloneListed(t, rclone("lsjson", "-R", "--files-only", remote))["small.txt"]; ok {
		t.Fatal("small.txt listed after rclone deletefile")
	}
	rclone("purge", "em:"+bucket)
}

func rcloneListed(t *testing.T, out string) map[string]int64 {
	var items []struct {
		Path string
		Size int64
	}
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("rclone lsjson: %v: %s", err, tail(out))
	}
	got := map[string]int64{}
	for _, it := range items {
		got[it.Path] = it.Size
	}
	return got
}

func runS3cmd(t *testing.T, e *s3Env, bucket string) {
	home := t.TempDir()
	host := strings.TrimPrefix(e.url, "http://")
	conf := filepath.Join(home, "s3cfg")
	writeFile(t, conf, strings.NewReader(fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\n"+
		"host_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"+
		"multipart_chunk_size_mb = 15\nprogress_meter = False\n", e.access, e.secret, host, host)))
	s3cmd := func(args ...string) string {
		return run(t, []string{"HOME=" + home}, "/usr/bin/s3cmd", append([]string{"-c", conf}, args...)...)
	}
	tree, down := e.tree(t), filepath.Join(t.TempDir(), "down")
	remote := "s3://" + bucket + "/tree/"
	s3cmd("mb", "s3://"+bucket)
	s3cmd("sync", tree+"/", remote)
	sameSizes(t, "s3cmd ls", sizes(t, tree), s3cmdListed(s3cmd("ls", "--recursive", remote), remote))
	// s3cmd puts big.bin in 7 parts of 15 MiB; the listing's ETag then ends
	// in -7 and s3cmd shows the MD5 it kept in the object's metadata.
	if ls := s3cmd("ls", "--list-md5", remote+"big.bin"); !strings.Contains(ls, md5File(t, e.big)) {
		t.Fatalf("s3cmd ls --list-md5 does not show big.bin's MD5 %s: %s", md5File(t, e.big), ls)
	}
	change(t, tree)
	s3cmd("sync", tree+"/", remote)
	os.MkdirAll(down, 0o755)
	s3cmd("sync", remote, down+"/")
	sameTree(t, tree, down)
	// A ranged get: --continue asks for the bytes after those already here.
	part := filepath.Join(t.TempDir(), "big.part")
	f, _ := os.Open(e.big)
	writeFile(t, part, io.LimitReader(f, 1000))
	f.Close()
	s3cmd("get", "--continue", remote+"big.bin", part)
	if sums(t, filepath.Dir(part))["big.part"] != sums(t, filepath.Dir(e.big))["big.bin"] {
		t.Fatal("s3cmd get --continue: the file differs")
	}
	s3cmd("del", remote+"small.txt")
	if strings.Contains(s3cmd("ls", "--recursive", remote), "small.txt") {
		t.Fatal("small.txt listed after s3cmd del")
	}
	s3cmd("del", "--recursive", "--force", "s3://"+bucket)
	s3cmd("rb", "s3://"+bucket)
}

// s3cmdListed reads `s3cmd ls --recursive`: date time size s3://bucket/key.
func s3cmdListed(out, remote string) map[string]int64 {
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.Index(line, remote)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[:i])
		n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		got[line[i+len(remote):]] = n
	}
	return got
}

func runBoto3(t *testing.T, e *s3Env, bucket string) {
	tree, down := e.tree(t), filepath.Join(t.TempDir(), "down")
	home := t.TempDir()
	env := []string{"AWS_ACCESS_KEY_ID=" + e.access, "AWS_SECRET_ACCESS_KEY=" + e.secret, "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true"}
	if out := run(t, env, "/usr/bin/python3", "testdata/boto3_client.py", e.url, bucket, tree, down); strings.TrimSpace(out) != "ok" {
		t.Fatalf("boto3 script: %s", out)
	}
	sameTree(t, tree, down)
}
