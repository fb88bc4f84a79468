package format

import (
	"bytes"
	"io"
	"strings"
)

// w3c decodes W3C extended log files (IIS and other web servers):
// directive lines start with '#'; `#Fields:` names the space-separated
// fields of the data lines that follow (a later `#Fields:` replaces it).
// Each data line is a record whose Value maps field names to strings; "-",
// the W3C marker for "no value", becomes null.
type w3c struct {
	lines   *lineReader
	opts    Options
	fields  []string
	records int64
	done    bool
}

func newW3C(r io.Reader, opts Options) *w3c {
	return &w3c{lines: newLineReader(r, opts.maxRecordBytes()), opts: opts}
}

func (w *w3c) Next() (*Batch, error) {
	if w.done {
		return nil, io.EOF
	}
	b := &Batch{}
	for len(b.Records) < w.opts.batchSize() {
		line, err := w.lines.next()
		if err == io.EOF {
			w.done = true
			break
		}
		if err != nil {
			w.done = true
			return b, readFailed(w.opts.Source, err)
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if line[0] == '#' {
			if rest, ok := bytes.CutPrefix(line, []byte("#Fields:")); ok {
				w.fields = strings.Fields(string(rest))
			}
			continue
		}
		w.records++
		values := strings.Fields(string(line))
		if w.fields == nil {
			b.Errors = append(b.Errors, RecordError{Source: w.opts.Source, Record: w.records, Line: w.lines.line, Code: CodeInvalidBlob, Dropped: true,
				Message: "a data line comes before any #Fields: directive, so its fields have no names"})
			continue
		}
		if len(values) != len(w.fields) {
			b.Errors = append(b.Errors, RecordError{Source: w.opts.Source, Record: w.records, Line: w.lines.line, Code: CodeWrongNumberOfFields,
				Message: "the line has " + itoa(len(values)) + " fields but #Fields: names " + itoa(len(w.fields))})
		}
		obj := make(map[string]any, len(w.fields))
		for i, name := range w.fields {
			if i < len(values) && values[i] != "-" {
				obj[name] = values[i]
			} else {
				obj[name] = nil
			}
		}
		b.Records = append(b.Records, Record{Number: w.records, Line: w.lines.line, Value: obj})
	}
	if len(b.Records) == 0 && len(b.Errors) == 0 && w.done {
		return nil, io.EOF
	}
	return b, nil
}
