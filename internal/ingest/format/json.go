package format

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// jsonLines decodes ADX's `json` format: JSON Lines, one value per line
// ("\n" or "\r\n"), empty lines skipped. Like ADX's reader it also accepts
// comments and single-quoted strings and property names. ADX skips a
// malformed line silently; odx skips it too and reports it in Batch.Errors
// so that the user can see why a record is missing.
type jsonLines struct {
	lines   *lineReader
	opts    Options
	records int64
	done    bool
	shape   *JSONShape
	// lastCount is the previous batch's record count: the next batch's
	// Records are allocated that size at once rather than grown.
	lastCount int
	// slabRecords is how many records' Picked the next slab holds: it
	// starts small (a data-connection event is a one-line source) and
	// doubles up to the batch size.
	slabRecords int
	// lastTextBytes is the previous batch's line bytes, kept for Finish
	// with DeferPicking: the next batch's buffer starts that large.
	lastTextBytes int
}

func newJSONLines(r io.Reader, opts Options) *jsonLines {
	shape := opts.JSONShape
	if shape == nil {
		shape = NewJSONShape()
	}
	return &jsonLines{lines: newLineReader(r, opts.maxRecordBytes()), opts: opts, shape: shape, slabRecords: 64}
}

func (j *jsonLines) Next() (*Batch, error) {
	if j.done {
		return nil, io.EOF
	}
	// The records are allocated at once: the previous batch's count, or
	// the batch size the caller set (it knows how many lines there are).
	b := &Batch{Records: make([]Record, 0, max(j.lastCount, min(j.opts.BatchSize, 4096)))}
	defer func() {
		j.lastCount = len(b.Records)
		j.shape.arena.fill()
	}()
	var slab []Picked // Record.Picked of the batch's records, allocated together
	var deferred deferredLines
	if j.opts.Picks != nil && j.opts.DeferPicking {
		deferred.text = make([]byte, 0, j.lastTextBytes)
		defer func() {
			j.lastTextBytes = len(deferred.text)
			b.finish = deferred.finishFor(j.opts)
		}()
	}
	for len(b.Records) < j.opts.batchSize() {
		line, err := j.lines.next()
		if err == io.EOF {
			j.done = true
			break
		}
		if err != nil {
			j.done = true
			return b, readFailed(j.opts.Source, err)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		j.records++
		if j.lines.tooLong {
			b.Errors = append(b.Errors, RecordError{Source: j.opts.Source, Record: j.records, Line: j.lines.line, Code: CodeInputTooLarge, Dropped: true,
				Message: fmt.Sprintf("the line is longer than %d bytes", j.opts.maxRecordBytes())})
			continue
		}
		if j.opts.Picks != nil && j.opts.DeferPicking {
			// Keep the line for Finish (the line reader reuses its buffer).
			from := len(deferred.text)
			deferred.text = append(deferred.text, line...)
			deferred.lines = append(deferred.lines, [2]int{from, len(deferred.text)})
			b.Records = append(b.Records, Record{Number: j.records, Line: j.lines.line})
			continue
		}
		if ps := j.opts.Picks; ps != nil {
			if len(slab) < ps.Len() {
				n := min(j.opts.batchSize()-len(b.Records), j.slabRecords)
				slab = make([]Picked, ps.Len()*n)
				j.slabRecords = min(2*j.slabRecords, 4096)
			}
			out := slab[:ps.Len():ps.Len()]
			if err := j.pick(line, out); err != nil {
				b.Errors = append(b.Errors, j.malformed(err))
				continue
			}
			slab = slab[ps.Len():]
			b.Records = append(b.Records, Record{Number: j.records, Line: j.lines.line, Picked: out})
			continue
		}
		v, err := j.shape.decode(line)
		if err != nil {
			b.Errors = append(b.Errors, j.malformed(err))
			continue
		}
		b.Records = append(b.Records, Record{Number: j.records, Line: j.lines.line, Value: v})
	}
	if len(b.Records) == 0 && len(b.Errors) == 0 && j.done {
		return nil, io.EOF
	}
	return b, nil
}

// malformed reports a line that does not parse, with the full parser's
// account of why (err, from decode).
func (j *jsonLines) malformed(err error) RecordError {
	return malformedLine(j.opts.Source, j.records, j.lines.line, err)
}

func malformedLine(source string, record, line int64, err error) RecordError {
	return RecordError{Source: source, Record: record, Line: line, Code: CodeMalformedRecord, Dropped: true,
		Message: "malformed JSON: " + jsonProblem(err) + "; the json format expects one JSON value per line (use multijson for values spanning lines)"}
}

// pick extracts Options.Picks from a line into out.
func (j *jsonLines) pick(line []byte, out []Picked) error {
	p := jsonParser{data: line, arena: &j.shape.arena, lenient: true}
	return pickLine(&p, j.opts.Picks, out, j.shape)
}

// pickLine extracts ps from the line p holds into out (zero, see pick),
// the text going to p.arena (or staying in p.base). When the picking
// parser stops, the line is parsed in full (with shape's caches, if any),
// so that whether a line is malformed is always the full parser's
// decision: its error is returned, and out is zero again.
func pickLine(p *jsonParser, ps *Picks, out []Picked, shape *JSONShape) error {
	line, arena := p.data, p.arena
	buf, refs := arena.mark()
	p.lineRefs = refs
	if p.pick(ps, out) == nil {
		return nil
	}
	arena.undo(buf, refs)
	v, err := shape.decode(line)
	if err != nil {
		clear(out) // zero again for the next line that uses it
		return err
	}
	ps.lookup(v, out)
	return nil
}

// decode parses a JSON Lines record in full, with the shape's caches (a
// nil shape parses without them).
func (s *JSONShape) decode(line []byte) (any, error) {
	p := jsonParser{data: line, lenient: true}
	if s != nil {
		p.keys, p.values, p.top = s.keys, s.values, &s.topFields
	}
	return p.parse()
}

// finishArenas are the arenas of batches being finished; fill leaves an
// arena empty.
var finishArenas = sync.Pool{New: func() any { return new(pickArena) }}

// deferredLines are the lines of a batch left for Batch.Finish to pick
// (Options.DeferPicking): the batch's Records in order, each line's bytes
// at text[lines[i][0]:lines[i][1]].
type deferredLines struct {
	text  []byte
	lines [][2]int
}

// finishFor returns the Finish of the batch holding these lines: it picks
// every record's values, with its own arena (batches are finished
// concurrently), and moves a malformed record from Records to Errors.
func (d deferredLines) finishFor(opts Options) func(*Batch) {
	return func(b *Batch) {
		ps := opts.Picks
		n := ps.Len()
		slab := make([]Picked, n*len(b.Records))
		// Batches come and go at a high rate: their arenas are reused. An
		// arena holds only the values that are not substrings of the
		// lines (strings with escapes, objects and arrays as text), so it
		// grows as they come rather than to the whole batch's size.
		arena := finishArenas.Get().(*pickArena)
		defer finishArenas.Put(arena)
		// The lines' text is not changed once the batch is read: picked
		// values can be substrings of it, one string for the batch.
		all := unsafe.String(unsafe.SliceData(d.text), len(d.text))
		kept, read := b.Records[:0], len(b.Errors) // errors found reading: lines too long
		for i, rec := range b.Records {
			out := slab[i*n : (i+1)*n : (i+1)*n]
			from, to := d.lines[i][0], d.lines[i][1]
			p := jsonParser{data: d.text[from:to], arena: arena, lenient: true, base: all, baseOff: from}
			// A line the picking parser gives up on (rare) is parsed
			// in full without a shape's caches.
			if err := pickLine(&p, ps, out, nil); err != nil {
				b.Errors = append(b.Errors, malformedLine(opts.Source, rec.Number, rec.Line, err))
				continue
			}
			rec.Picked = out
			kept = append(kept, rec)
		}
		clear(b.Records[len(kept):])
		b.Records = kept
		if read > 0 && len(b.Errors) > read {
			// In record order, as when lines are picked while read.
			slices.SortStableFunc(b.Errors, func(x, y RecordError) int { return cmp.Compare(x.Record, y.Record) })
		}
		arena.fill()
	}
}

// jsonProblem turns encoding/json's messages into something about the data.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the value is incomplete"
	}
	return err.Error()
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// multiJSON decodes ADX's `multijson` format: JSON values separated by
// whitespace, each of which may span lines; a top-level array contributes
// its elements as records (so `[{...},{...}]` is two records). The input is
// read in chunks and each record is parsed once it is complete, so neither
// a long file nor a large top-level array is held in memory. Malformed input
// ends the source with BadRequest_InvalidBlob, as in ADX, after the records
// before it.
type multiJSON struct {
	r        io.Reader
	buf      []byte
	pos      int   // next unread byte in buf
	consumed int64 // bytes of the input before buf[0]
	eof      bool
	inArray  bool
	first    bool // no element of the current array read yet
	opts     Options
	records  int64
	keys     keyCache
	done     bool
}

func newMultiJSON(r io.Reader, opts Options) *multiJSON {
	return &multiJSON{r: r, opts: opts, keys: keyCache{}}
}

func (m *multiJSON) Next() (*Batch, error) {
	if m.done {
		return nil, io.EOF
	}
	b := &Batch{}
	for len(b.Records) < m.opts.batchSize() {
		v, ok, err := m.value()
		if err != nil {
			m.done = true
			if err == io.EOF {
				break
			}
			return b, err
		}
		if !ok {
			continue
		}
		m.records++
		b.Records = append(b.Records, Record{Number: m.records, Value: v})
	}
	if len(b.Records) == 0 && m.done {
		return nil, io.EOF
	}
	return b, nil
}

// more reads the next chunk, keeping the unread part of the buffer. It
// returns false at the end of the input.
func (m *multiJSON) more() (bool, error) {
	if m.eof {
		return false, nil
	}
	if m.pos > 0 {
		n := copy(m.buf, m.buf[m.pos:])
		m.consumed += int64(m.pos)
		m.buf, m.pos = m.buf[:n], 0
	}
	if len(m.buf) >= m.opts.maxRecordBytes() {
		return false, errorf(CodeInputTooLarge, "%s: record %d is longer than %d bytes", m.opts.Source, m.records+1, m.opts.maxRecordBytes())
	}
	if cap(m.buf)-len(m.buf) < readBufferSize/2 {
		grown := make([]byte, len(m.buf), max(2*cap(m.buf), readBufferSize))
		copy(grown, m.buf)
		m.buf = grown
	}
	n, err := m.r.Read(m.buf[len(m.buf):cap(m.buf)])
	m.buf = m.buf[:len(m.buf)+n]
	if err == io.EOF {
		m.eof = true
	} else if err != nil {
		return false, readFailed(m.opts.Source, err)
	}
	return true, nil
}

// skipSpace moves past JSON whitespace, reading more input as needed; it
// returns false at the end of the input.
func (m *multiJSON) skipSpace() (bool, error) {
	for {
		for m.pos < len(m.buf) {
			switch m.buf[m.pos] {
			case ' ', '\t', '\n', '\r':
				m.pos++
			default:
				return true, nil
			}
		}
		if ok, err := m.more(); !ok || err != nil {
			return false, err
		}
	}
}

func (m *multiJSON) invalid(msg string) error {
	return errorf(CodeInvalidBlob, "%s: record %d: malformed JSON at byte %d: %s", m.opts.Source, m.records+1, m.consumed+int64(m.pos)+1, msg)
}

// value returns the next record value; ok is false when only array
// punctuation was consumed.
func (m *multiJSON) value() (v any, ok bool, err error) {
	more, err := m.skipSpace()
	if err != nil {
		return nil, false, err
	}
	if !more {
		if m.inArray {
			return nil, false, m.invalid("the top-level array is not closed")
		}
		return nil, false, io.EOF
	}
	c := m.buf[m.pos]
	switch {
	case !m.inArray && c == '[':
		m.pos++
		m.inArray, m.first = true, true
		return nil, false, nil
	case m.inArray && c == ']':
		m.pos++
		m.inArray = false
		return nil, false, nil
	case m.inArray && !m.first:
		if c != ',' {
			return nil, false, m.invalid("expected ',' or ']' between array elements")
		}
		m.pos++
		if more, err := m.skipSpace(); err != nil || !more {
			if err == nil {
				err = m.invalid("the top-level array is not closed")
			}
			return nil, false, err
		}
	}
	for {
		p := jsonParser{data: m.buf[m.pos:], keys: m.keys}
		v, err := p.value(0)
		// A value that reaches the end of what was read may go on (a number,
		// or anything cut short): read more and parse the record again.
		if (err != nil && p.ranOut() || err == nil && p.pos == len(p.data)) && !m.eof {
			if _, rerr := m.more(); rerr != nil {
				return nil, false, rerr
			}
			continue
		}
		if err != nil {
			m.pos += min(p.pos, len(p.data))
			return nil, false, m.invalid(err.Error())
		}
		m.pos += p.pos
		m.first = false
		return v, true, nil
	}
}

// singleJSON decodes `singlejson`: the whole payload is one JSON value and
// one record (ADX lists the format for data connections; SDKs treat it as
// JSON).
type singleJSON struct {
	r    io.Reader
	opts Options
	done bool
}

func newSingleJSON(r io.Reader, opts Options) *singleJSON { return &singleJSON{r: r, opts: opts} }

func (s *singleJSON) Next() (*Batch, error) {
	if s.done {
		return nil, io.EOF
	}
	s.done = true
	data, err := io.ReadAll(io.LimitReader(s.r, int64(s.opts.maxRecordBytes())+1))
	if err != nil {
		return nil, readFailed(s.opts.Source, err)
	}
	if len(data) > s.opts.maxRecordBytes() {
		return nil, errorf(CodeInputTooLarge, "%s: a singlejson payload is limited to %d bytes", s.opts.Source, s.opts.maxRecordBytes())
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, io.EOF
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(CodeInvalidBlob, "%s: malformed JSON: %s", s.opts.Source, jsonProblem(err))
	}
	if rest := strings.TrimSpace(string(data[dec.InputOffset():])); rest != "" {
		return nil, errorf(CodeInvalidBlob, "%s: singlejson holds one JSON value, but more follows at byte %d; use multijson", s.opts.Source, dec.InputOffset())
	}
	return &Batch{Records: []Record{{Number: 1, Line: 1, Value: v}}}, nil
}
