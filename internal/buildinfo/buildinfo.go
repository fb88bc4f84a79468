// Package buildinfo holds odx's version, set at build time with
// -ldflags "-X odx/internal/buildinfo.Version=...".
package buildinfo

// Version is odx's version string.
var Version = "0.1.0-dev"
