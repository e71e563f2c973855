// Package version names the build, for `devpulse version` and the User-Agent.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time:
//
//	go build -ldflags "-X github.com/devpulse/devpulse/internal/version.Version=v1.2.3 \
//	  -X github.com/devpulse/devpulse/internal/version.Commit=$(git rev-parse HEAD) \
//	  -X github.com/devpulse/devpulse/internal/version.Date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// A plain `go build` in a git checkout still gets Commit and Date from the
// VCS stamp Go embeds.
var (
	Version = "0.1.0-dev"
	Commit  = ""
	Date    = ""
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if Commit == "" {
				Commit = s.Value
			}
		case "vcs.time":
			if Date == "" {
				Date = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && Commit != "" && len(Commit) == 40 {
		Commit += "-dirty"
	}
}

// String is the one line `devpulse version` and `--version` print.
func String() string {
	commit, date := Commit, Date
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("devpulse %s (commit %s, built %s, %s %s/%s)", Version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// UserAgent is sent with every API request so server admins can tell devpulse apart.
func UserAgent() string { return "devpulse/" + Version + " (+https://github.com/devpulse/devpulse)" }
