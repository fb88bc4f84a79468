package format

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

const readBufferSize = 256 << 10

// bufferFor wraps r in a read buffer sized to the input: a payload whose
// length is known (an event body in a bytes.Reader) gets a buffer of its own
// size, so a 300-byte event does not allocate 256 KiB; files and streams get
// readBufferSize. A *bufio.Reader is used as it is.
func bufferFor(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	size := readBufferSize
	if l, ok := r.(interface{ Len() int }); ok && l.Len() < size {
		size = max(l.Len()+1, 16) // bufio's minimum; +1 lets ReadSlice see EOF without growing
	}
	return bufio.NewReaderSize(r, size)
}

// lineReader reads '\n'-terminated lines of any length from a buffered
// reader, counting them, without allocating for lines that fit the buffer.
type lineReader struct {
	r       *bufio.Reader
	long    []byte // accumulates a line longer than the buffer
	line    int64  // lines read so far
	max     int
	tooLong bool // the last line exceeded max and was cut
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufferFor(r), max: max}
}

// next returns the next line without its '\n' (a trailing '\r' is kept), or
// io.EOF. The slice is valid until the following call.
func (l *lineReader) next() ([]byte, error) {
	l.tooLong = false
	s, err := l.r.ReadSlice('\n')
	if err == nil {
		l.line++
		return s[:len(s)-1], nil
	}
	if err == io.EOF {
		if len(s) == 0 {
			return nil, io.EOF
		}
		l.line++
		return s, nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	l.long = append(l.long[:0], s...)
	for {
		s, err = l.r.ReadSlice('\n')
		if len(l.long) < l.max {
			l.long = append(l.long, s...)
		} else {
			l.tooLong = true
		}
		switch {
		case err == nil:
			l.line++
			return bytes.TrimSuffix(l.long, []byte{'\n'}), nil
		case err == io.EOF:
			l.line++
			return l.long, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// delimited decodes the CSV family: csv (','), tsv and tsve ('\t'), psv
// ('|'), scsv (';') and sohsv (U+0001).
//
// Parsing follows RFC 4180 as ADX applies it: records end at "\n" or "\r\n"
// outside quotes; a field that starts with '"' is quoted, may contain
// separators and line breaks, and writes a quote as '""'. A quote inside an
// unquoted field is an ordinary character, as is text after a closing quote.
// tsve additionally reads backslash escapes outside quotes (\t \n \r \\).
// Empty lines between records are skipped.
type delimited struct {
	lines      *lineReader
	sep        byte
	backslash  bool
	opts       Options
	records    int64
	firstCount int
	skipFirst  bool
	done       bool

	buf  []byte
	ends []int

	// The fields of a batch's records share one string and one []string
	// (two allocations per batch instead of two per record): text holds
	// the records' unescaped bytes, bounds the end of every field in it,
	// and spans each record's first byte and range of bounds.
	text   []byte
	bounds []int
	spans  []fieldSpan
	// lastCount is the previous batch's record count: the next batch's
	// Records are allocated that size at once rather than grown.
	lastCount int
}

type fieldSpan struct{ start, from, to int }

func separator(f Format) byte {
	switch f {
	case TSV, TSVE:
		return '\t'
	case PSV:
		return '|'
	case SCSV:
		return ';'
	case SOHSV:
		return 0x01
	}
	return ','
}

func newDelimited(f Format, r io.Reader, opts Options) *delimited {
	return &delimited{
		lines:      newLineReader(r, opts.maxRecordBytes()),
		sep:        separator(f),
		backslash:  f == TSVE,
		opts:       opts,
		firstCount: -1,
		skipFirst:  opts.IgnoreFirstRecord,
	}
}

func (d *delimited) Next() (*Batch, error) {
	if d.done {
		return nil, io.EOF
	}
	b := &Batch{Records: make([]Record, 0, d.lastCount)}
	size := d.opts.batchSize()
	defer func() { d.lastCount = len(b.Records) }()
	defer d.fill(b)
	for len(b.Records) < size {
		rec, ok, err := d.record(b)
		if err != nil {
			d.done = true
			if err == io.EOF {
				if len(b.Records) == 0 && len(b.Errors) == 0 {
					return nil, io.EOF
				}
				return b, nil
			}
			return b, err
		}
		if ok {
			b.Records = append(b.Records, rec)
		}
	}
	return b, nil
}

// fill gives the batch's records their Fields, from the text collected by record.
func (d *delimited) fill(b *Batch) {
	if len(d.spans) == 0 {
		return
	}
	all := string(d.text)
	fields := make([]string, len(d.bounds))
	for i, sp := range d.spans {
		start := sp.start
		for k := sp.from; k < sp.to; k++ {
			fields[k] = all[start:d.bounds[k]]
			start = d.bounds[k]
		}
		b.Records[i].Fields = fields[sp.from:sp.to:sp.to]
	}
	d.text, d.bounds, d.spans = d.text[:0], d.bounds[:0], d.spans[:0]
}

// record parses one record. ok is false for a record that is skipped (the
// ignored header, or one reported in b.Errors).
func (d *delimited) record(b *Batch) (rec Record, ok bool, err error) {
	d.buf, d.ends = d.buf[:0], d.ends[:0]
	inQuote, atStart := false, true
	var startLine int64
	for {
		line, err := d.lines.next()
		if err == io.EOF {
			if inQuote {
				d.records++
				b.Errors = append(b.Errors, RecordError{Source: d.opts.Source, Record: d.records, Line: startLine,
					Code: CodeClosingQuoteMissing, Dropped: true,
					Message: "a quoted field is not closed before the end of the data; add the closing '\"' (write a quote inside a quoted field as \"\")"})
			}
			return rec, false, io.EOF
		}
		if err != nil {
			return rec, false, readFailed(d.opts.Source, err)
		}
		if d.lines.tooLong {
			return rec, false, errorf(CodeInputTooLarge, "%s: line %d: a record is longer than %d bytes (is a closing quote missing?)", d.opts.Source, d.lines.line, d.opts.maxRecordBytes())
		}
		if !inQuote {
			startLine = d.lines.line
			if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
				continue // empty line between records
			}
		}
		crlf := len(line) > 0 && line[len(line)-1] == '\r'
		if crlf {
			line = line[:len(line)-1]
		}
		inQuote, atStart = d.scan(line, inQuote, atStart)
		if inQuote {
			if crlf {
				d.buf = append(d.buf, '\r')
			}
			d.buf = append(d.buf, '\n')
			if len(d.buf) > d.opts.maxRecordBytes() {
				return rec, false, errorf(CodeClosingQuoteMissing, "%s: record starting at line %d: a quoted field runs over %d bytes; a closing quote is probably missing", d.opts.Source, startLine, d.opts.maxRecordBytes())
			}
			continue
		}
		break
	}
	d.ends = append(d.ends, len(d.buf))
	d.records++
	if d.skipFirst {
		d.skipFirst = false
		if d.firstCount < 0 {
			d.firstCount = len(d.ends)
		}
		return rec, false, nil
	}
	// The record's Fields are set by fill, at the end of the batch.
	sp := fieldSpan{start: len(d.text), from: len(d.bounds)}
	d.text = append(d.text, d.buf...)
	for _, end := range d.ends {
		d.bounds = append(d.bounds, sp.start+end)
	}
	sp.to = len(d.bounds)
	d.spans = append(d.spans, sp)
	n := len(d.ends)
	if d.firstCount < 0 {
		d.firstCount = n
	} else if d.opts.CheckFieldCount && n != d.firstCount {
		b.Errors = append(b.Errors, RecordError{Source: d.opts.Source, Record: d.records, Line: startLine,
			Code:    CodeWrongNumberOfFields,
			Message: "the record has " + itoa(n) + " fields but the first record has " + itoa(d.firstCount)})
	}
	return Record{Number: d.records, Line: startLine}, true, nil
}

// scan appends the unescaped bytes of line to d.buf and field boundaries to
// d.ends, continuing from the given quote state.
func (d *delimited) scan(line []byte, inQuote, atStart bool) (bool, bool) {
	// Fast path: a line with no quotes or escapes is split on the separator.
	if !inQuote && bytes.IndexByte(line, '"') < 0 && (!d.backslash || bytes.IndexByte(line, '\\') < 0) {
		for {
			j := bytes.IndexByte(line, d.sep)
			if j < 0 {
				d.buf = append(d.buf, line...)
				return false, len(line) == 0
			}
			d.buf = append(d.buf, line[:j]...)
			d.ends = append(d.ends, len(d.buf))
			line = line[j+1:]
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inQuote {
			if c == '"' {
				if i+1 < len(line) && line[i+1] == '"' {
					d.buf = append(d.buf, '"')
					i++
				} else {
					inQuote = false
				}
				continue
			}
			d.buf = append(d.buf, c)
			continue
		}
		switch {
		case c == d.sep:
			d.ends = append(d.ends, len(d.buf))
			atStart = true
			continue
		case c == '"' && atStart:
			inQuote = true
		case c == '\\' && d.backslash && i+1 < len(line):
			i++
			d.buf = append(d.buf, unescape(line[i])...)
		default:
			d.buf = append(d.buf, c)
		}
		atStart = false
	}
	return inQuote, atStart
}

func unescape(c byte) []byte {
	switch c {
	case 't':
		return []byte{'\t'}
	case 'n':
		return []byte{'\n'}
	case 'r':
		return []byte{'\r'}
	case '\\':
		return []byte{'\\'}
	case '0':
		return []byte{0}
	}
	return []byte{'\\', c}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// lines decodes txt: every non-empty line is a record with one field.
type lines struct {
	lines   *lineReader
	opts    Options
	records int64
	done    bool
}

func newLines(r io.Reader, opts Options) *lines {
	return &lines{lines: newLineReader(r, opts.maxRecordBytes()), opts: opts}
}

func (t *lines) Next() (*Batch, error) {
	if t.done {
		return nil, io.EOF
	}
	b := &Batch{}
	for len(b.Records) < t.opts.batchSize() {
		line, err := t.lines.next()
		if err == io.EOF {
			t.done = true
			break
		}
		if err != nil {
			t.done = true
			return b, readFailed(t.opts.Source, err)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		t.records++
		if t.records == 1 && t.opts.IgnoreFirstRecord {
			continue
		}
		b.Records = append(b.Records, Record{Number: t.records, Line: t.lines.line, Fields: []string{string(line)}})
	}
	if len(b.Records) == 0 && t.done {
		return nil, io.EOF
	}
	return b, nil
}

// raw decodes raw: the whole payload is one record with one field.
type raw struct {
	r    io.Reader
	opts Options
	done bool
}

func newRaw(r io.Reader, opts Options) *raw { return &raw{r: r, opts: opts} }

func (d *raw) Next() (*Batch, error) {
	if d.done {
		return nil, io.EOF
	}
	d.done = true
	var sb strings.Builder
	max := int64(d.opts.maxRecordBytes())
	n, err := io.Copy(&sb, io.LimitReader(d.r, max))
	if err != nil {
		return nil, readFailed(d.opts.Source, err)
	}
	b := &Batch{}
	if n == max {
		// The value is truncated on binding anyway (1 MB); drain the rest so
		// that a caller counting bytes sees the whole payload consumed.
		if extra, _ := io.Copy(io.Discard, d.r); extra > 0 {
			b.Errors = append(b.Errors, RecordError{Source: d.opts.Source, Record: 1, Code: CodeValueTruncated,
				Message: "the raw payload is longer than " + itoa(int(max)) + " bytes; only the beginning is kept"})
		}
	}
	if n == 0 {
		return nil, io.EOF
	}
	b.Records = []Record{{Number: 1, Line: 1, Fields: []string{sb.String()}}}
	return b, nil
}
