//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package auth

// lockFile is a no-op where flock is unavailable: principals.json is still
// written atomically, but two concurrent `odx principals add` may lose one.
func lockFile(string) (func(), error) { return func() {}, nil }
