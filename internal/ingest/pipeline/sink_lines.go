package pipeline

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"odx/internal/connect"
	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
)

// Data-connection events are small (a few hundred bytes) and most carry one
// JSON object or one CSV record. Decoding each one on its own pays a
// decoder, a reader, a batch and a binding per event; decoding a run of
// them as one JSON Lines (or one CSV) source pays those once per run. The
// result must be exactly what per-event decoding gives, so only runs whose
// outcome is known to match take this path, and a run with any problem is
// decoded again event by event:
//
//   - the json format or a CSV-family one, uncompressed, UTF-8, with a
//     mapping that does not name the source (SourceLocation,
//     SourceLineNumber: per event they are the event's id and record 1);
//   - each body on one line (no CR or LF), not blank, without a byte order
//     mark: then line k of the run is event k, and event k yields exactly
//     one record or one error (a quote left open in one event would
//     swallow the next line, which the record count catches);
//   - no decoding or binding error in the run (errors name their event and
//     count against a per-event limit, which per-event decoding gets right).

// linesRun bounds the events decoded as one source: a run with a problem is
// decoded again event by event, so a bad event costs at most this many
// events decoded twice.
const linesRun = 1024

// lineDecoder decodes runs of events on one goroutine; it keeps its buffer
// and its verdicts on targets between runs.
type lineDecoder struct {
	buf      []byte
	eligible map[*target]bool
	// The run is read through one reader and buffer kept between runs
	// (a decoder given a bytes.Reader would buffer a copy of each run).
	rd bytes.Reader
	br *bufio.Reader
}

// lineBufferSize is the read buffer of a run: longer events still decode
// (the line reader collects them), shorter ones are read in place.
const lineBufferSize = 64 << 10

// targetFits reports whether t's events may be decoded as lines.
func (l *lineDecoder) targetFits(t *target) bool {
	ok, seen := l.eligible[t]
	if !seen {
		ok = (t.format == format.JSON || t.format.Delimited()) && t.compression == format.None && t.binder != nil && !namesSource(t.mapping)
		if l.eligible == nil {
			l.eligible = map[*target]bool{}
		}
		l.eligible[t] = ok
	}
	return ok
}

// namesSource reports whether a mapping uses the per-source transformations.
func namesSource(m *mapping.Mapping) bool {
	if m == nil {
		return false
	}
	for _, e := range m.Elements {
		if e.Transform == mapping.SourceLocation || e.Transform == mapping.SourceLineNumber {
			return true
		}
	}
	return false
}

// eventFits reports whether an event is one non-blank line of UTF-8
// encoding (its Encoding property), not starting with a byte of a byte
// order mark. It errs on the safe side: a body of only Unicode spaces, or
// one starting with any character encoded from 0xEF, decodes alone.
func eventFits(it *connect.Item) bool {
	if enc := it.Route.Encoding; enc != "" && strings.ToUpper(strings.ReplaceAll(enc, "-", "")) != "UTF8" {
		return false
	}
	b := it.Event.Body
	if len(b) == 0 || b[0] == 0xEF || b[0] == 0xFE || b[0] == 0xFF {
		return false
	}
	if bytes.IndexByte(b, '\n') >= 0 || bytes.IndexByte(b, '\r') >= 0 {
		return false
	}
	return len(bytes.TrimSpace(b)) > 0
}

// decode decodes items (all of target t, each eventFits) as one JSON Lines
// or CSV source into out, and reports whether it could; when it could not,
// out is untouched and the caller decodes the events one by one.
func (l *lineDecoder) decode(t *target, shape *format.JSONShape, items []connect.Item, out []decodedItem) bool {
	buf := l.buf[:0]
	for i := range items {
		buf = append(buf, items[i].Event.Body...)
		buf = append(buf, '\n')
	}
	l.buf = buf
	// No field count check: per event it compares an event's records with
	// its first, and each of these events has one record.
	opts := format.Options{BatchSize: len(items)}
	if t.format == format.JSON {
		opts.JSONShape, opts.Picks = shape, t.binder.Picks()
	}
	for i := range items {
		if len(items[i].SystemProperties) > 0 {
			opts.Picks = nil // system properties are placed in whole records
			break
		}
	}
	l.rd.Reset(buf)
	if l.br == nil {
		l.br = bufio.NewReaderSize(&l.rd, lineBufferSize)
	} else {
		l.br.Reset(&l.rd)
	}
	dec, err := format.NewDecoder(t.format, l.br, opts)
	if err != nil {
		return false
	}
	defer format.Close(dec)
	var recs []format.Record
	for {
		b, err := dec.Next()
		if b != nil {
			if len(b.Errors) > 0 {
				return false
			}
			if recs == nil {
				recs = b.Records
			} else {
				recs = append(recs, b.Records...)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
	}
	if len(recs) != len(items) {
		return false
	}
	for i := range recs {
		if recs[i].Line != int64(i+1) {
			return false
		}
		// Per event, the record is the event's first (and only) one.
		recs[i].Number, recs[i].Line = 1, 1
		addSystemProperties(&recs[i], items[i].SystemProperties)
	}
	// A view of its own: its error count starts at zero, so a value error
	// cannot be suppressed by errors of earlier runs and go unseen here.
	blk, errs := t.binder.ForSource("").Block(&format.Batch{Records: recs})
	if len(errs) > 0 || blk.Len != len(items) {
		return false
	}
	for i := range out {
		out[i].shared, out[i].row = blk, i
	}
	return true
}
