package main

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	// Set by the Makefile: the linker's values win.
	v := versionInfo("v1.2.3", "fedcba", "2026-02-03T00:00:00Z", bi)
	if v != (buildInfo{"v1.2.3", "fedcba", "2026-02-03T00:00:00Z", "go1.26"}) {
		t.Errorf("ldflags: %+v", v)
	}
	// go build from a checkout: the build info's.
	v = versionInfo("dev", "", "", bi)
	if v != (buildInfo{"dev-0123456789ab", "0123456789abcdef0123456789abcdef01234567-dirty", "2026-01-02T03:04:05Z", "go1.26"}) {
		t.Errorf("build info: %+v", v)
	}
	// go install of a tagged module.
	v = versionInfo("dev", "", "", &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v0.4.0"}})
	if v.Version != "v0.4.0" || v.Commit != "unknown" || v.Date != "unknown" {
		t.Errorf("module version: %+v", v)
	}
	if v := versionInfo("dev", "", "", nil); v.Version != "dev" || v.Go != "unknown" {
		t.Errorf("no build info: %+v", v)
	}
}

func TestCLIVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "emerge ") || !strings.Contains(r.stdout, "commit ") {
		t.Fatalf("version: %+v", r)
	}
	var v map[string]string
	r = runCLI(t, nil, "version", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["commit"] == "" || v["date"] == "" || v["go"] == "" {
		t.Fatalf("version --json: %v %+v", err, r)
	}
}
