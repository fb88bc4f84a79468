package blobstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LocalFile is one file of an embedded account's folder.
type LocalFile struct {
	Container string
	Path      string // blob name, '/'-separated
	Size      int64
	Modified  time.Time
	ETag      string
}

// URL is the blob URL odx announces for an embedded file: the one Azure
// Storage would give it.
func (f LocalFile) URL(account string) string {
	return "https://" + strings.ToLower(account) + ".blob.core.windows.net/" + escapePath(f.Container) + "/" + escapePath(f.Path)
}

// ListLocal lists the files of an embedded account: every regular file
// under <root>/<account>/<container>/. Hidden files and folders (leading
// '.') are skipped: editors and odx itself keep their state there. A
// missing account folder lists nothing.
func (s *Store) ListLocal(account string) ([]LocalFile, error) {
	if s.root == "" {
		return nil, nil
	}
	base := filepath.Join(s.root, strings.ToLower(account))
	var out []LocalFile
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if p != base && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return nil
		}
		container, name, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if !ok {
			return nil // a file directly in the account folder is in no container
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while listing
		}
		out = append(out, LocalFile{Container: container, Path: name, Size: fi.Size(), Modified: fi.ModTime().UTC(), ETag: LocalETag(fi)})
		return nil
	})
	return out, err
}

// EnsureAccountFolder creates an embedded account's folder, so that users
// see where to drop files.
func (s *Store) EnsureAccountFolder(account string) (string, error) {
	if s.root == "" {
		return "", nil
	}
	dir := filepath.Join(s.root, strings.ToLower(account))
	return dir, os.MkdirAll(dir, 0o755)
}
