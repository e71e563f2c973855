// Package version names the build, for `devpulse version` and the User-Agent.
package version

// Version is set at build time with -ldflags "-X github.com/devpulse/devpulse/internal/version.Version=v1.2.3".
var Version = "0.1.0-dev"

// UserAgent is sent with every API request so server admins can tell devpulse apart.
func UserAgent() string { return "devpulse/" + Version + " (+https://github.com/devpulse/devpulse)" }
