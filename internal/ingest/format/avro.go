package format

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// avroDecoder decodes Avro object container files (OCF) with their embedded
// schema, through goavro. Records become map[string]any with unions
// unwrapped to their value (goavro wraps a non-null union value as
// {"type": value}).
//
// `avro` and `apacheavro` differ as ADX documents for BytesAsBase64: with
// apacheavro, `bytes` and `fixed` values are []byte; with the legacy avro
// format they are arrays of integers 0–255.
type avroDecoder struct {
	ocf     *goavro.OCFReader
	root    *avroType
	legacy  bool
	opts    Options
	records int64
	done    bool
}

func newAvro(f Format, r io.Reader, opts Options) (*avroDecoder, error) {
	ocf, err := goavro.NewOCFReader(r)
	if err != nil {
		return nil, errorf(CodeInvalidBlob, "%s: not an Avro object container file (odx reads Avro files with their schema; schema-less Avro is not supported, as in ADX): %v", opts.Source, err)
	}
	root, err := parseAvroSchema(ocf.Codec().Schema())
	if err != nil {
		return nil, errorf(CodeInvalidBlob, "%s: the Avro schema cannot be read: %v", opts.Source, err)
	}
	return &avroDecoder{ocf: ocf, root: root, legacy: f == Avro, opts: opts}, nil
}

func (a *avroDecoder) Next() (*Batch, error) {
	if a.done {
		return nil, io.EOF
	}
	b := &Batch{}
	for len(b.Records) < a.opts.batchSize() {
		if !a.ocf.Scan() {
			a.done = true
			if err := a.ocf.Err(); err != nil {
				return b, errorf(CodeInvalidBlob, "%s: after record %d: the Avro data is corrupt: %v", a.opts.Source, a.records, err)
			}
			break
		}
		v, err := a.ocf.Read()
		a.records++
		if err != nil {
			// A block that cannot be decoded leaves no way to find the next
			// record boundary inside it: skip the rest of the block.
			b.Errors = append(b.Errors, RecordError{Source: a.opts.Source, Record: a.records, Code: CodeInvalidBlob, Dropped: true,
				Message: "the Avro record cannot be decoded: " + err.Error()})
			a.ocf.SkipThisBlockAndReset()
			continue
		}
		b.Records = append(b.Records, Record{Number: a.records, Value: a.native(v, a.root)})
	}
	if len(b.Records) == 0 && len(b.Errors) == 0 && a.done {
		return nil, io.EOF
	}
	return b, nil
}

// avroType is the part of an Avro schema needed to interpret goavro's
// native values.
type avroType struct {
	kind     string // primitive name, record, enum, array, map, fixed, union
	name     string // full name of a named type
	logical  string
	scale    int
	fields   []avroField
	items    *avroType // array items, map values
	branches []*avroType
}

type avroField struct {
	name string
	typ  *avroType
}

func parseAvroSchema(text string) (*avroType, error) {
	var raw any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	p := avroSchemaParser{named: map[string]*avroType{}}
	return p.parse(raw, "")
}

type avroSchemaParser struct{ named map[string]*avroType }

func (p *avroSchemaParser) parse(raw any, namespace string) (*avroType, error) {
	switch s := raw.(type) {
	case string:
		switch s {
		case "null", "boolean", "int", "long", "float", "double", "bytes", "string":
			return &avroType{kind: s}, nil
		}
		if t, ok := p.named[s]; ok {
			return t, nil
		}
		if t, ok := p.named[qualify(s, namespace)]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("unknown type name %q", s)
	case []any:
		u := &avroType{kind: "union"}
		for _, m := range s {
			t, err := p.parse(m, namespace)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, t)
		}
		return u, nil
	case map[string]any:
		kind, _ := s["type"].(string)
		logical, _ := s["logicalType"].(string)
		scale := 0
		if f, ok := s["scale"].(float64); ok {
			scale = int(f)
		}
		switch kind {
		case "record", "error", "enum", "fixed":
			name, _ := s["name"].(string)
			ns := namespace
			if n, ok := s["namespace"].(string); ok {
				ns = n
			}
			full := qualify(name, ns)
			if i := strings.LastIndexByte(full, '.'); i >= 0 {
				ns = full[:i]
			}
			t := &avroType{kind: kind, name: full, logical: logical, scale: scale}
			if kind == "error" {
				t.kind = "record"
			}
			p.named[full] = t
			if kind == "record" || kind == "error" {
				fields, _ := s["fields"].([]any)
				for _, f := range fields {
					fm, _ := f.(map[string]any)
					fname, _ := fm["name"].(string)
					ft, err := p.parse(fm["type"], ns)
					if err != nil {
						return nil, fmt.Errorf("field %s: %w", fname, err)
					}
					t.fields = append(t.fields, avroField{name: fname, typ: ft})
				}
			}
			return t, nil
		case "array":
			it, err := p.parse(s["items"], namespace)
			if err != nil {
				return nil, err
			}
			return &avroType{kind: "array", items: it}, nil
		case "map":
			vt, err := p.parse(s["values"], namespace)
			if err != nil {
				return nil, err
			}
			return &avroType{kind: "map", items: vt}, nil
		default:
			t, err := p.parse(kind, namespace)
			if err != nil {
				return nil, err
			}
			if logical == "" {
				return t, nil
			}
			c := *t
			c.logical, c.scale = logical, scale
			return &c, nil
		}
	}
	return nil, fmt.Errorf("unexpected schema element %v", raw)
}

func qualify(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}

// unionKey is the key goavro uses for a value of branch t.
func (t *avroType) unionKey() string {
	if t.name != "" {
		return t.name
	}
	if t.logical != "" {
		return t.kind + "." + t.logical
	}
	return t.kind
}

// native converts a goavro native value of type t into a record value.
func (a *avroDecoder) native(v any, t *avroType) any {
	if v == nil {
		return nil
	}
	if t == nil {
		return a.generic(v)
	}
	switch t.kind {
	case "union":
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return a.generic(v)
		}
		for key, inner := range m {
			for _, br := range t.branches {
				if br.unionKey() == key || br.kind == key || br.name != "" && strings.HasSuffix(br.name, "."+key) {
					return a.native(inner, br)
				}
			}
			return a.generic(inner)
		}
	// goavro hands out fresh maps and slices for every record, so they are
	// converted in place.
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return a.generic(v)
		}
		for _, f := range t.fields {
			m[f.name] = a.native(m[f.name], f.typ)
		}
		return m
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return a.generic(v)
		}
		for i, e := range arr {
			arr[i] = a.native(e, t.items)
		}
		return arr
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return a.generic(v)
		}
		for k, e := range m {
			m[k] = a.native(e, t.items)
		}
		return m
	case "bytes", "fixed":
		if r, ok := v.(*big.Rat); ok {
			return Decimal(r.FloatString(t.scale))
		}
		return a.generic(v)
	}
	return a.generic(v)
}

// generic converts a value whose schema position is unknown.
func (a *avroDecoder) generic(v any) any {
	switch x := v.(type) {
	case float32:
		// Print with float32 precision so that 0.1f reads back as 0.1.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return f
	case *big.Rat:
		return Decimal(x.FloatString(10))
	case []byte:
		if a.legacy {
			out := make([]any, len(x))
			for i, c := range x {
				out[i] = int64(c)
			}
			return out
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = a.generic(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = a.generic(e)
		}
		return x
	}
	return v
}
