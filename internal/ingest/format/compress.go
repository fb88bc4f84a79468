package format

import (
	"archive/zip"
	"errors"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Compression is the stream compression of a payload, outside the format
// (Avro, Parquet and ORC compress internally on their own).
type Compression string

const (
	None Compression = ""
	Gzip Compression = "gzip"
	Zip  Compression = "zip"
)

// ParseCompression reads a compression name as data connections and
// LightIngest give it: none, gzip (gz), zip; case-insensitive.
func ParseCompression(name string) (Compression, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "none":
		return None, nil
	case "gzip", "gz":
		return Gzip, nil
	case "zip":
		return Zip, nil
	}
	return None, errorf(CodeMalformedProperty, "unknown compression %q; use none, gzip or zip", name)
}

// Unpack decompresses r and calls fn once per contained stream: once for
// uncompressed and gzip data (name is ""), and once per file of a zip
// archive whose name matches zipPattern (every file when it is empty), with
// the file's name in the archive. zipPattern is a regular expression as in
// ADX's `zipPattern` property; a pattern that is not a valid regular
// expression is read as a shell glob (`*.csv`).
//
// A zip archive needs random access: r is used directly when it is an
// *os.File, otherwise it is copied to a temporary file first.
func Unpack(r io.Reader, c Compression, zipPattern string, fn func(name string, body io.Reader) error) error {
	switch c {
	case None:
		return fn("", r)
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return errorf(CodeInvalidArchive, "the data is not gzip-compressed (%v); check the compression property or the .gz extension", err)
		}
		defer zr.Close()
		if err := fn("", &gzipErrors{zr}); err != nil {
			return err
		}
		return nil
	case Zip:
		return unzip(r, zipPattern, fn)
	}
	return errorf(CodeMalformedProperty, "unknown compression %q", string(c))
}

// gzipErrors labels read errors of a corrupt gzip stream, which otherwise
// surface in a decoder as a bare "flate: corrupt input".
type gzipErrors struct{ r io.Reader }

func (g *gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = errorf(CodeInvalidArchive, "the gzip data is corrupt: %v", err)
	}
	return n, err
}

func unzip(r io.Reader, zipPattern string, fn func(string, io.Reader) error) error {
	match, err := zipMatcher(zipPattern)
	if err != nil {
		return err
	}
	sp, err := spool(r)
	if err != nil {
		return errorf(CodeInvalidArchive, "buffering the zip archive failed: %v", err)
	}
	defer sp.Close()
	size, err := sp.size()
	if err != nil {
		return errorf(CodeInvalidArchive, "buffering the zip archive failed: %v", err)
	}
	zr, err := zip.NewReader(sp.f, size)
	if err != nil {
		return errorf(CodeInvalidArchive, "the data is not a valid zip archive: %v", err)
	}
	found := 0
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !match(f.Name) {
			continue
		}
		found++
		body, err := f.Open()
		if err != nil {
			if errors.Is(err, zip.ErrAlgorithm) {
				return errorf(CodeInvalidArchive, "zip entry %s uses a compression method odx cannot read (Deflate64 is not supported, as in ADX); recompress it with Deflate", f.Name)
			}
			return errorf(CodeInvalidArchive, "zip entry %s cannot be opened: %v", f.Name, err)
		}
		err = fn(f.Name, body)
		body.Close()
		if err != nil {
			return err
		}
	}
	if found == 0 {
		if zipPattern != "" {
			return errorf(CodeEmptyArchive, "the zip archive has no file matching zipPattern %q", zipPattern)
		}
		return errorf(CodeEmptyArchive, "the zip archive holds no files")
	}
	return nil
}

func zipMatcher(pattern string) (func(string) bool, error) {
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if re, err := regexp.Compile(pattern); err == nil {
		return re.MatchString, nil
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, errorf(CodeMalformedProperty, "zipPattern %q is neither a regular expression nor a glob pattern", pattern)
	}
	return func(name string) bool {
		ok, _ := path.Match(pattern, path.Base(name))
		return ok
	}, nil
}
