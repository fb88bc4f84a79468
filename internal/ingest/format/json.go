package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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
	keys    keyCache
}

func newJSONLines(r io.Reader, opts Options) *jsonLines {
	return &jsonLines{lines: newLineReader(r, opts.maxRecordBytes()), opts: opts}
}

func (j *jsonLines) Next() (*Batch, error) {
	if j.done {
		return nil, io.EOF
	}
	b := &Batch{}
	for len(b.Records) < j.opts.batchSize() {
		line, err := j.lines.next()
		if err == io.EOF {
			j.done = true
			break
		}
		if err != nil {
			j.done = true
			return b, errorf(CodeInvalidBlob, "%s: reading the data failed: %v", j.opts.Source, err)
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
		v, err := j.decode(line)
		if err != nil {
			b.Errors = append(b.Errors, RecordError{Source: j.opts.Source, Record: j.records, Line: j.lines.line, Code: CodeMalformedRecord, Dropped: true,
				Message: "malformed JSON: " + jsonProblem(err) + "; the json format expects one JSON value per line (use multijson for values spanning lines)"})
			continue
		}
		b.Records = append(b.Records, Record{Number: j.records, Line: j.lines.line, Value: v})
	}
	if len(b.Records) == 0 && len(b.Errors) == 0 && j.done {
		return nil, io.EOF
	}
	return b, nil
}

func (j *jsonLines) decode(line []byte) (any, error) {
	if j.keys == nil {
		j.keys = keyCache{}
	}
	p := jsonParser{data: line, keys: j.keys, lenient: true}
	return p.parse()
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
// its elements as records (so `[{...},{...}]` is two records). Arrays are
// streamed element by element. Malformed input ends the source with
// BadRequest_InvalidBlob, as in ADX, after the records before it.
type multiJSON struct {
	dec     *json.Decoder
	opts    Options
	records int64
	inArray bool
	done    bool
}

func newMultiJSON(r io.Reader, opts Options) *multiJSON {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &multiJSON{dec: dec, opts: opts}
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
			return b, errorf(CodeInvalidBlob, "%s: record %d: malformed JSON near byte %d: %s", m.opts.Source, m.records+1, m.dec.InputOffset(), jsonProblem(err))
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

// value returns the next record value; ok is false when a token was
// consumed that is not a record (the brackets of a top-level array).
func (m *multiJSON) value() (v any, ok bool, err error) {
	if m.inArray {
		if !m.dec.More() {
			if _, err := m.dec.Token(); err != nil { // the closing ']'
				return nil, false, err
			}
			m.inArray = false
			return nil, false, nil
		}
		return m.decodeValue()
	}
	tok, err := m.dec.Token()
	if err != nil {
		return nil, false, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			m.inArray = true
			return nil, false, nil
		case '{':
			obj, err := m.object()
			return obj, err == nil, err
		}
		return nil, false, fmt.Errorf("unexpected %q", string(t))
	default:
		return t, true, nil // a scalar record
	}
}

func (m *multiJSON) decodeValue() (any, bool, error) {
	var v any
	if err := m.dec.Decode(&v); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// object reads the members of an object whose '{' was consumed as a token.
func (m *multiJSON) object() (map[string]any, error) {
	obj := map[string]any{}
	for m.dec.More() {
		tok, err := m.dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("expected a property name, found %v", tok)
		}
		var v any
		if err := m.dec.Decode(&v); err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := m.dec.Token(); err != nil { // '}'
		return nil, err
	}
	return obj, nil
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
		return nil, errorf(CodeInvalidBlob, "%s: reading the data failed: %v", s.opts.Source, err)
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
