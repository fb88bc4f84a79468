package bulkingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"odx/internal/ingest/format"
)

// source is one input the user named: a local file or a URL.
type source struct {
	name   string // as shown to the user
	path   string // absolute local path, "" for URLs
	url    string
	size   int64 // bytes on disk, 0 when unknown
	format format.Format
	comp   format.Compression
}

// expand turns PATHS|GLOBS|URLs into sources. A directory stands for the
// files directly in it. The format comes from --format, else from the file
// name (x.csv.gz is gzip-compressed CSV).
func expand(args []string, forced format.Format) ([]source, error) {
	var out []source
	seen := map[string]bool{}
	add := func(s source) {
		key := s.path + s.url
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	for _, arg := range args {
		if strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "http://") {
			f, c, ok := format.Guess(arg)
			if forced != "" {
				f, ok = forced, true
			}
			if !ok {
				return nil, fmt.Errorf("%s: cannot tell the format from the name; pass --format", redactURL(arg))
			}
			add(source{name: redactURL(arg), url: arg, format: f, comp: c})
			continue
		}
		matches := []string{arg}
		if strings.ContainsAny(arg, "*?[") {
			m, err := filepath.Glob(arg)
			if err != nil {
				return nil, fmt.Errorf("%s: bad pattern: %w", arg, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s matches no file", arg)
			}
			matches = m
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			files := []string{m}
			if st.IsDir() {
				entries, err := os.ReadDir(m)
				if err != nil {
					return nil, err
				}
				files = nil
				for _, e := range entries {
					if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
						files = append(files, filepath.Join(m, e.Name()))
					}
				}
				sort.Strings(files)
			}
			for _, f := range files {
				abs, err := filepath.Abs(f)
				if err != nil {
					return nil, err
				}
				fi, err := os.Stat(abs)
				if err != nil {
					return nil, err
				}
				fm, c, ok := format.Guess(abs)
				if forced != "" {
					fm, ok = forced, true
				}
				if !ok {
					return nil, fmt.Errorf("%s: cannot tell the format from the extension; pass --format (csv, json, parquet, ...)", f)
				}
				add(source{name: f, path: abs, size: fi.Size(), format: fm, comp: c})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no input: name files, globs, directories or URLs")
	}
	return out, nil
}

func redactURL(u string) string {
	if i := strings.IndexAny(u, "?;"); i >= 0 {
		return u[:i]
	}
	return u
}

// splittable says whether a source can be cut into pieces at record
// boundaries on the client: line-oriented text, uncompressed or gzip.
func (s source) splittable() bool {
	if s.path == "" || s.comp == format.Zip {
		return false
	}
	return s.format.Delimited() || s.format == format.TXT || s.format == format.JSON
}

// chunker cuts a text source into pieces of about size bytes that end on
// a record boundary. For the CSV family a line break inside a quoted field
// is not a boundary: a piece ends only where the count of '"' is even
// (a doubled quote keeps the count even).
type chunker struct {
	r       *bufio.Reader
	size    int
	quotes  bool // track quotes (CSV family)
	inQuote bool
	done    bool
}

func newChunker(r io.Reader, size int, f format.Format) *chunker {
	return &chunker{r: bufio.NewReaderSize(r, 1<<20), size: size, quotes: f.Tabular() && f != format.TXT && f != format.TSVE}
}

// next returns the next piece and the number of lines in it, or io.EOF.
func (c *chunker) next() ([]byte, int, error) {
	if c.done {
		return nil, 0, io.EOF
	}
	buf := make([]byte, 0, c.size+64<<10)
	lines := 0
	for {
		line, err := c.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			buf = append(buf, line...)
			if c.quotes {
				c.inQuote = c.inQuote != (bytes.Count(line, []byte{'"'})%2 == 1)
			}
			continue
		}
		buf = append(buf, line...)
		if len(line) > 0 {
			lines++
			if c.quotes {
				c.inQuote = c.inQuote != (bytes.Count(line, []byte{'"'})%2 == 1)
			}
		}
		if err == io.EOF {
			c.done = true
			if len(buf) == 0 {
				return nil, 0, io.EOF
			}
			return buf, lines, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if len(buf) >= c.size && !c.inQuote {
			return buf, lines, nil
		}
	}
}
