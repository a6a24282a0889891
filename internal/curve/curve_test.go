package curve

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	zmq "github.com/pebbe/zmq4"
)

func TestZ85MatchesLibzmq(t *testing.T) {
	for i := 0; i < 100; i++ {
		b := make([]byte, KeyLen)
		rand.Read(b)
		got := KeyText(b)
		if want := zmq.Z85encode(string(b)); got != want {
			t.Fatalf("Z85 %x: %q, libzmq %q", b, got, want)
		}
		back, err := ParseKey(got)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("Z85 round trip of %x: %x, %v", b, back, err)
		}
	}
}

func TestParseKeyRefusesJunk(t *testing.T) {
	for _, s := range []string{"", "short", string(bytes.Repeat([]byte{'~'}, 40)), "#####################################$$$"} {
		if _, err := ParseKey(s); !errors.Is(err, ErrKey) {
			t.Errorf("ParseKey(%q): %v, want ErrKey", s, err)
		}
	}
}

func TestKeypairsMatchLibsodium(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := zmq.AuthCurvePublic(k.Secret); err != nil || pub != k.Public {
		t.Fatalf("public key %s, libzmq derives %s (%v)", k.Public, pub, err)
	}
	if err := k.Check(); err != nil {
		t.Fatal(err)
	}
	other, _ := Generate()
	if err := (Keypair{Public: other.Public, Secret: k.Secret}).Check(); !errors.Is(err, ErrKey) {
		t.Fatalf("mismatched keypair: %v, want ErrKey", err)
	}
}

func TestDeriveIsStableAndDistinct(t *testing.T) {
	a, err := Derive([]byte("0123456789abcdef-secret"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Derive([]byte("0123456789abcdef-secret"))
	c, _ := Derive([]byte("0123456789abcdef-other"))
	if a != b {
		t.Fatal("the same secret gave different keys")
	}
	if a.Server == c.Server || a.Member == c.Member || a.Server.Public == a.Member.Public {
		t.Fatal("different secrets or roles gave the same key")
	}
	for _, k := range []Keypair{a.Server, a.Member} {
		if pub, _ := zmq.AuthCurvePublic(k.Secret); pub != k.Public {
			t.Fatalf("derived public key %s, libzmq %s", k.Public, pub)
		}
	}
	if _, err := Derive([]byte("too short")); !errors.Is(err, ErrKey) {
		t.Fatalf("short secret: %v", err)
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret")
	os.WriteFile(p, NewSecret(), 0o600)
	s, loose, err := LoadSecret(p)
	if err != nil || len(s) != 64 || loose {
		t.Fatalf("secret %q loose %v: %v", s, loose, err)
	}
	os.Chmod(p, 0o644)
	if _, loose, _ := LoadSecret(p); !loose {
		t.Fatal("a world-readable secret is not reported loose")
	}
	os.WriteFile(p, []byte("  short \n"), 0o600)
	if _, _, err := LoadSecret(p); !errors.Is(err, ErrKey) {
		t.Fatalf("short secret file: %v", err)
	}
	if _, _, err := LoadSecret(filepath.Join(dir, "none")); !errors.Is(err, ErrKey) {
		t.Fatalf("missing secret file: %v", err)
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, _ := Generate()
	server, _ := Generate()
	p := filepath.Join(dir, "k")
	if err := WriteKeyFile(p, KeyFile{Keys: k, ServerKey: server.Public}.Marshal()); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if err := WriteKeyFile(p, []byte("x")); !errors.Is(err, ErrKey) {
		t.Fatalf("overwrite: %v", err)
	}
	f, err := LoadKeyFile(p)
	if err != nil || f.Keys != k || f.ServerKey != server.Public {
		t.Fatalf("loaded %+v: %v", f, err)
	}
	bad := map[string]string{
		"garbage":       "hello\n",
		"unknown field": "color = blue\n",
		"mismatch":      "public-key = " + server.Public + "\nsecret-key = " + k.Secret + "\n",
		"no secret":     "public-key = " + k.Public + "\n",
	}
	for name, content := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := LoadKeyFile(p); !errors.Is(err, ErrKey) {
			t.Errorf("%s: %v, want ErrKey", name, err)
		}
	}
}

func TestAllowFile(t *testing.T) {
	a, _ := Generate()
	b, _ := Generate()
	p := filepath.Join(t.TempDir(), "allow")
	os.WriteFile(p, []byte("# members\n"+a.Public+" node-1\n\n"+b.Public+"\n"), 0o644)
	keys, err := LoadAllowFile(p)
	if err != nil || len(keys) != 2 || keys[0] != a.Public || keys[1] != b.Public {
		t.Fatalf("keys %v: %v", keys, err)
	}
	os.WriteFile(p, []byte(a.Public+"\nnot-a-key\n"), 0o644)
	if _, err := LoadAllowFile(p); !errors.Is(err, ErrKey) {
		t.Fatalf("bad line: %v", err)
	}
	l := NewAllowlist(a.Public)
	if !l.Allowed(a.Public) || l.Allowed(b.Public) {
		t.Fatal("allowlist membership wrong")
	}
	if l.Set([]string{a.Public}) {
		t.Fatal("setting the same keys reported a change")
	}
	if !l.Set([]string{b.Public}) || l.Allowed(a.Public) {
		t.Fatal("replacing the keys did not take")
	}
}

func TestClientFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, NewSecret(), 0o600)
	s, _, _ := LoadSecret(secret)
	cl, _ := Derive(s)
	c, err := ClientFromFiles(secret, "")
	if err != nil || c.ServerKey != cl.Server.Public || c.Keys != cl.Member {
		t.Fatalf("from the secret: %+v, %v", c, err)
	}
	k, _ := Generate()
	key := filepath.Join(dir, "key")
	WriteKeyFile(key, KeyFile{Keys: k}.Marshal())
	if _, err := ClientFromFiles("", key); !errors.Is(err, ErrKey) {
		t.Fatalf("key file without a server key and no secret: %v", err)
	}
	c, err = ClientFromFiles(secret, key)
	if err != nil || c.Keys != k || c.ServerKey != cl.Server.Public {
		t.Fatalf("key file and secret: %+v, %v", c, err)
	}
	if c, err := ClientFromFiles("", ""); c != nil || err != nil {
		t.Fatalf("nothing given: %+v, %v", c, err)
	}
}
