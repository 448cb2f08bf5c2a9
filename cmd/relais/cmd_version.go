package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time by the Makefile (-ldflags "-X main.version=…"), so that
// a bug report names the exact build; a plain `go build` falls back to what
// the Go toolchain recorded in the binary.
var (
	version   = ""
	commit    = ""
	buildDate = ""
)

// buildInfo is what `relais version` prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	BuildDate string `json:"build_date"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), BuildDate: buildDate}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.BuildDate == "":
				b.BuildDate = s.Value
			}
		}
	}
	for _, f := range []*string{&b.Version, &b.Commit, &b.BuildDate} {
		if *f == "" {
			*f = "unknown"
		}
	}
	if b.Version == "unknown" {
		b.Version = "dev"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("relais %s (commit %s, %s, built %s)", b.Version, b.Commit, b.GoVersion, b.BuildDate)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and build date (--json)",
		Args:  cobra.NoArgs,
		// No configuration is needed to say which build this is.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := currentBuild()
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(b)
			}
			_, err := fmt.Fprintln(a.stdout, b.String())
			return err
		},
	}
}
