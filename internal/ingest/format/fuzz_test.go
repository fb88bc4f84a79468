package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzCSV: any input, in any CSV-family format, decodes without panicking,
// every record is numbered in order, and no record is lost silently: a
// record either comes back or is reported.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\"x\"\"y\",\"multi\nline\"\r\n", "\"unclosed", "a\\tb\t\\", "\n\n,\n", "\x01\x01|;"} {
		f.Add(s, uint8(0), true)
	}
	formats := []Format{CSV, TSV, TSVE, PSV, SCSV, SOHSV, TXT, Raw}
	f.Fuzz(func(t *testing.T, in string, which uint8, header bool) {
		fm := formats[int(which)%len(formats)]
		recs, errs, err := ReadAll(fm, strings.NewReader(in), Options{BatchSize: 3, IgnoreFirstRecord: header, CheckFieldCount: true, MaxRecordBytes: 1 << 12})
		if err != nil && codeOf(err) == "" {
			t.Fatalf("error without a code: %v", err)
		}
		last := int64(0)
		for _, r := range recs {
			if r.Number <= last {
				t.Fatalf("record numbers not increasing: %d after %d", r.Number, last)
			}
			last = r.Number
			if len(r.Fields) == 0 {
				t.Fatalf("record %d has no fields", r.Number)
			}
		}
		for _, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("record error without code or message: %+v", e)
			}
		}
		decoded, _ := io.ReadAll(textInput(strings.NewReader(in)))
		text := string(decoded)
		if fm == CSV && !strings.ContainsAny(text, "\"\r") && err == nil && !header {
			// Without quotes, the records are exactly the non-empty lines.
			var want int
			for _, line := range strings.Split(text, "\n") {
				if line != "" {
					want++
				}
			}
			if len(recs) != want {
				t.Fatalf("%d records for %d non-empty lines", len(recs), want)
			}
		}
	})
}

// FuzzJSON: any input decodes as json, multijson and singlejson without
// panicking, and json (lines) accounts for every non-empty line.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}` + "\n" + `{"b":[1,2,{"c":null}]}`, `[{"a":1},{"a":2}]`, `{"a":`, `]]]`, "{}\n\n[]", `"x" 1 true null`, `[{"a":1} {"b":2}]`, `{"s":"\\u00e9\\ud83d\\ude00\\ud800x\\n\xff"}`, `-0.5e+3`, `01`, `{"a" 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		recs, errs, err := ReadAll(JSON, strings.NewReader(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12})
		if err != nil {
			t.Fatalf("json lines must not fail as a whole: %v", err)
		}
		// Decoders see the text after byte-order-mark handling.
		decoded, _ := io.ReadAll(textInput(strings.NewReader(in)))
		text := string(decoded)
		lines := 0
		for _, line := range strings.Split(text, "\n") {
			if len(bytes.TrimSpace([]byte(line))) > 0 {
				lines++
			}
		}
		if len(recs)+len(errs) != lines {
			t.Fatalf("%d records + %d errors for %d non-empty lines", len(recs), len(errs), lines)
		}
		// The JSON-lines parser agrees with encoding/json on every line.
		for _, line := range strings.Split(in, "\n") {
			got, err := parseJSON([]byte(line))
			want, werr := stdDecode(line)
			if (err == nil) != (werr == nil) {
				t.Fatalf("line %q: parseJSON error %v, encoding/json error %v", line, err, werr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("line %q: parseJSON %#v, encoding/json %#v", line, got, want)
			}
			// The lenient reader of the json format accepts a superset.
			lp := jsonParser{data: []byte(line), lenient: true, keys: keyCache{}}
			lv, lerr := lp.parse()
			if werr == nil && (lerr != nil || !reflect.DeepEqual(lv, want)) {
				t.Fatalf("line %q: lenient parse %#v (%v), encoding/json %#v", line, lv, lerr, want)
			}
		}
		// The streaming multijson decoder agrees with the reference built on
		// encoding/json: same records, and an error exactly when it fails.
		for _, size := range []int{1, 7, 1 << 16} {
			got, _, gerr := ReadAll(MultiJSON, &chunked{s: in, size: size}, Options{BatchSize: 2, MaxRecordBytes: 1 << 20})
			want, werr := readRef(text)
			if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(values(got), values(want)) {
				t.Fatalf("multijson %q (chunks of %d): got %v %v, reference %v %v", in, size, values(got), gerr, values(want), werr)
			}
		}
		for _, fm := range []Format{MultiJSON, SingleJSON} {
			_, _, err := ReadAll(fm, strings.NewReader(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12})
			if err != nil && codeOf(err) == "" {
				t.Fatalf("%s: error without a code: %v", fm, err)
			}
		}
	})
}

func stdDecode(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if strings.Trim(s[dec.InputOffset():], " \t\r\n") != "" {
		return nil, errTrailing
	}
	return v, nil
}

var errTrailing = &json.SyntaxError{}

// chunked reads s in pieces of at most size bytes, to cut values anywhere.
type chunked struct {
	s    string
	size int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.s)
	c.s = c.s[n:]
	return n, nil
}

func values(recs []Record) []any {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out
}

func readRef(in string) ([]Record, error) {
	d := newRefMultiJSON(strings.NewReader(in), Options{BatchSize: 2})
	var recs []Record
	for {
		b, err := d.Next()
		if b != nil {
			recs = append(recs, b.Records...)
		}
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
	}
}

// refMultiJSON is the first multijson decoder, built on encoding/json's
// token stream; it is kept as the reference the streaming decoder is fuzzed
// against. It decodes ADX's `multijson` format: JSON values separated by
// whitespace, each of which may span lines; a top-level array contributes
// its elements as records (so `[{...},{...}]` is two records). Arrays are
// streamed element by element. Malformed input ends the source with
// BadRequest_InvalidBlob, as in ADX, after the records before it.
type refMultiJSON struct {
	started bool
	dec     *json.Decoder
	opts    Options
	records int64
	inArray bool
	done    bool
}

func newRefMultiJSON(r io.Reader, opts Options) *refMultiJSON {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &refMultiJSON{dec: dec, opts: opts}
}

func (m *refMultiJSON) Next() (*Batch, error) {
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
func (m *refMultiJSON) value() (v any, ok bool, err error) {
	v, ok, err = m.value1()
	if err == io.EOF && (m.inArray || ok || m.started) {
		err = io.ErrUnexpectedEOF // the input ended inside a value
	}
	return v, ok, err
}

func (m *refMultiJSON) value1() (v any, ok bool, err error) {
	m.started = false
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
		m.started = true
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

func (m *refMultiJSON) decodeValue() (any, bool, error) {
	var v any
	if err := m.dec.Decode(&v); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// object reads the members of an object whose '{' was consumed as a token.
func (m *refMultiJSON) object() (map[string]any, error) {
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
