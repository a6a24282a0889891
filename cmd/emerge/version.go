package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/emerge-dev/emerge/node"
	"github.com/spf13/cobra"
)

// Set at link time by the Makefile (-X main.commit=... -X main.date=...);
// otherwise read from the build info Go stamps into binaries built from a
// git checkout.
var (
	commit string
	date   string
)

// buildInfo is what emerge version prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"` // of the commit, UTC, RFC 3339
	Go      string `json:"go"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the version, commit and build date",
		Example: versionExample,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			v := versionInfo(node.Version, commit, date, bi)
			if g.json {
				return printJSON(cmd.OutOrStdout(), v)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "emerge %s (commit %s, %s, %s)\n", v.Version, v.Commit, v.Date, v.Go)
			return nil
		},
	}
}

// versionInfo fills what the linker did not set from the build info:
// vcs.revision, vcs.time, vcs.modified and the module version.
func versionInfo(version, commit, date string, bi *debug.BuildInfo) buildInfo {
	v := buildInfo{Version: version, Commit: commit, Date: date}
	if bi != nil {
		v.Go = bi.GoVersion
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if v.Commit == "" {
			v.Commit = settings["vcs.revision"]
			if v.Commit != "" && settings["vcs.modified"] == "true" {
				v.Commit += "-dirty"
			}
		}
		if v.Date == "" {
			v.Date = settings["vcs.time"]
		}
		if (v.Version == "" || v.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Version == "dev" && len(v.Commit) >= 12 {
		v.Version = "dev-" + v.Commit[:12]
	}
	for _, s := range []*string{&v.Commit, &v.Date, &v.Go} {
		if *s == "" {
			*s = "unknown"
		}
	}
	return v
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
