package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names under the data directory.
const (
	CredentialsFileName  = "credentials.json"
	PrincipalsFileName   = "principals.json"
	SigningKeyFileName   = "token-signing-key.pem"
	principalsLockSuffix = ".lock"
)

// newSecret returns a client secret with 256 bits of entropy.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "odx~" + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret is how principals.json stores a secret. A fast hash is enough
// because odx generates every secret with 256 random bits, far beyond any
// brute force; a slow KDF would only slow down token requests.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func secretMatches(secret, hash string) bool {
	if hash == "" || !strings.HasPrefix(hash, "sha256:") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) == 1
}

// writeFileAtomic writes through a temporary file and a rename, so readers
// (another odx process reloading principals.json) never see half a file and
// a crash never leaves one behind.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	for _, step := range []func() error{
		func() error { return tmp.Chmod(mode) },
		func() error { _, err := tmp.Write(data); return err },
		tmp.Sync,
	} {
		if err := step(); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
