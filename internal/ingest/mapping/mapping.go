// Package mapping is ADX's ingestion mappings: parsing the canonical and
// legacy JSON forms, validating a mapping against a table schema, the
// identity mapping used when none is given, and binding decoded records to
// table rows with ADX's value conversions and transformations.
//
// It is pure Go: it knows schemas and types, not storage.
package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"odx/internal/ingest/format"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// Kind is a mapping kind, in the spelling `.show ... ingestion mappings`
// reports in its Kind column.
type Kind string

const (
	CSV        Kind = "Csv"
	JSON       Kind = "Json"
	Avro       Kind = "Avro"
	Parquet    Kind = "Parquet"
	ORC        Kind = "Orc"
	W3CLogFile Kind = "W3CLogFile"
)

// Kinds lists every mapping kind.
var Kinds = []Kind{CSV, JSON, Avro, Parquet, ORC, W3CLogFile}

// ParseKind reads a mapping kind case-insensitively (`csv`, `JSON`, ...).
// `apacheavro` is the Avro kind, as the SDKs name it.
func ParseKind(name string) (Kind, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "apacheavro" {
		return Avro, nil
	}
	if n == "w3clog" {
		return W3CLogFile, nil
	}
	for _, k := range Kinds {
		if strings.ToLower(string(k)) == n {
			return k, nil
		}
	}
	return "", kerr.New(kerr.BadRequest, format.CodeInvalidMapping,
		"unknown ingestion mapping kind %q; use csv, json, avro, parquet, orc or w3clogfile", name)
}

// KindOf is the mapping kind that format f uses: Csv for the tabular
// formats, Json for the JSON family, and the format's own kind otherwise.
func KindOf(f format.Format) Kind {
	switch {
	case f.Tabular():
		return CSV
	case f == format.JSON || f == format.MultiJSON || f == format.SingleJSON:
		return JSON
	case f == format.Avro || f == format.ApacheAvro:
		return Avro
	case f == format.Parquet:
		return Parquet
	case f == format.ORC:
		return ORC
	case f == format.W3CLogFile:
		return W3CLogFile
	}
	return ""
}

// Transform is a mapping transformation.
type Transform string

const (
	NoTransform                  Transform = ""
	SourceLocation               Transform = "SourceLocation"
	SourceLineNumber             Transform = "SourceLineNumber"
	DateTimeFromUnixSeconds      Transform = "DateTimeFromUnixSeconds"
	DateTimeFromUnixMilliseconds Transform = "DateTimeFromUnixMilliseconds"
	DateTimeFromUnixMicroseconds Transform = "DateTimeFromUnixMicroseconds"
	DateTimeFromUnixNanoseconds  Transform = "DateTimeFromUnixNanoseconds"
	DropMappedFields             Transform = "DropMappedFields"
	BytesAsBase64                Transform = "BytesAsBase64"
	PropertyBagArrayToDictionary Transform = "PropertyBagArrayToDictionary"
)

var transforms = []Transform{SourceLocation, SourceLineNumber, DateTimeFromUnixSeconds, DateTimeFromUnixMilliseconds,
	DateTimeFromUnixMicroseconds, DateTimeFromUnixNanoseconds, DropMappedFields, BytesAsBase64, PropertyBagArrayToDictionary}

// allowed reports whether kind k supports transform t (ADX's
// "Mapping transformations" table).
func (t Transform) allowed(k Kind) bool {
	switch t {
	case SourceLocation, SourceLineNumber:
		return true
	case DateTimeFromUnixSeconds, DateTimeFromUnixMilliseconds, DateTimeFromUnixMicroseconds, DateTimeFromUnixNanoseconds:
		return k != W3CLogFile
	case DropMappedFields, PropertyBagArrayToDictionary:
		return k == JSON || k == Avro || k == Parquet || k == ORC
	case BytesAsBase64:
		return k == Avro
	}
	return false
}

func (t Transform) fromSource() bool { return t == SourceLocation || t == SourceLineNumber }

// Element maps one target column.
type Element struct {
	Column string
	// DataType is the column type the element declares, if any (used to
	// create missing columns; must agree with an existing column).
	DataType string
	// Ordinal is the 0-based field index for the Csv kind; -1 when unset.
	Ordinal int
	// Path is a JSONPath (`$`, `$.a.b`, `$['x y']`, `$[0]`).
	Path string
	// Field is a top-level field name (Avro, Parquet, ORC, W3C).
	Field string
	// Const is the constant value when HasConst.
	Const     string
	HasConst  bool
	Transform Transform

	path path // compiled Path, or Field as a one-step path
}

// Mapping is a parsed ingestion mapping.
type Mapping struct {
	Kind     Kind
	Elements []Element
}

func (m *Mapping) clone() *Mapping {
	c := &Mapping{Kind: m.Kind, Elements: make([]Element, len(m.Elements))}
	copy(c.Elements, m.Elements)
	return c
}

// Parse reads a mapping of the given kind from its JSON text. It accepts the
// canonical form (`[{"column":"a","Properties":{"Path":"$.x"}}]`), the legacy
// flat form (`[{"column":"a","path":"$.x","datatype":"long"}]`) and the old
// stored CSV form (`[{"Name":"a","DataType":"int","Ordinal":0}]`); keys are
// case-insensitive and property values may be strings or numbers. Errors
// name the offending element.
func Parse(kind Kind, text string) (*Mapping, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var raw []map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid("the ingestion mapping must be a JSON array of objects such as [{\"column\":\"a\",\"Properties\":{\"%s\":%s}}]: %v",
			map[bool]string{true: "Ordinal", false: "Path"}[kind == CSV], map[bool]string{true: `"0"`, false: `"$.a"`}[kind == CSV], err)
	}
	if len(raw) == 0 {
		return nil, invalid("the ingestion mapping has no elements")
	}
	m := &Mapping{Kind: kind}
	seen := map[string]int{}
	for i, obj := range raw {
		e, err := parseElement(kind, obj)
		if err != nil {
			return nil, invalid("mapping element %d%s: %v", i+1, describe(obj), err)
		}
		if prev, dup := seen[e.Column]; dup {
			return nil, invalid("mapping elements %d and %d both map column %s; map each column once", prev+1, i+1, e.Column)
		}
		seen[e.Column] = i
		m.Elements = append(m.Elements, e)
	}
	return m, nil
}

func describe(obj map[string]any) string {
	for k, v := range obj {
		if lk := strings.ToLower(k); lk == "column" || lk == "name" {
			if s, ok := v.(string); ok && s != "" {
				return " (column " + s + ")"
			}
		}
	}
	return ""
}

func invalid(format_ string, args ...any) *kerr.Error {
	return kerr.New(kerr.BadRequest, format.CodeInvalidMapping, format_, args...)
}

// parseElement reads one element in any accepted form.
func parseElement(kind Kind, obj map[string]any) (Element, error) {
	e := Element{Ordinal: -1}
	props := map[string]any{}
	for k, v := range obj {
		switch strings.ToLower(k) {
		case "column", "name":
			s, ok := v.(string)
			if !ok {
				return e, fmt.Errorf("%q must be a string", k)
			}
			e.Column = s
		case "datatype":
			s, _ := scalarText(v)
			e.DataType = s
		case "properties":
			if v == nil {
				continue
			}
			pm, ok := v.(map[string]any)
			if !ok {
				return e, fmt.Errorf("%q must be an object of property names and values", k)
			}
			for pk, pv := range pm {
				props[strings.ToLower(pk)] = pv
			}
		case "csvdatatype":
			// the old stored form's second type field; the column type decides.
		default:
			props[strings.ToLower(k)] = v // legacy flat form: path, ordinal, constvalue, transform, field
		}
	}
	if strings.TrimSpace(e.Column) == "" {
		return e, fmt.Errorf("the element has no \"column\"")
	}
	for k, v := range props {
		if v == nil {
			continue
		}
		s, ok := scalarText(v)
		if !ok {
			return e, fmt.Errorf("property %q must be a string or a number", k)
		}
		switch k {
		case "ordinal":
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 {
				return e, fmt.Errorf("Ordinal %q is not a non-negative integer", s)
			}
			e.Ordinal = n
		case "path":
			e.Path = s
		case "field":
			e.Field = s
		case "constvalue":
			e.Const, e.HasConst = s, true
		case "transform":
			if s == "" || strings.EqualFold(s, "None") {
				continue
			}
			t, ok := parseTransform(s)
			if !ok {
				return e, fmt.Errorf("unknown Transform %q; use one of %s", s, transformNames())
			}
			e.Transform = t
		default:
			return e, fmt.Errorf("unknown property %q; a %s mapping element takes %s", k, kind, kindProperties(kind))
		}
	}
	return e, e.check(kind)
}

func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	return "", false
}

func parseTransform(s string) (Transform, bool) {
	for _, t := range transforms {
		if strings.EqualFold(string(t), s) {
			return t, true
		}
	}
	return "", false
}

func transformNames() string {
	names := make([]string, len(transforms))
	for i, t := range transforms {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func kindProperties(k Kind) string {
	switch k {
	case CSV:
		return "Ordinal, ConstValue and Transform"
	case JSON:
		return "Path, ConstValue and Transform"
	case W3CLogFile:
		return "Field, ConstValue and Transform"
	}
	return "Path or Field, ConstValue and Transform"
}

// check applies the per-kind rules of ADX's mapping documentation.
func (e *Element) check(kind Kind) error {
	if e.Transform != NoTransform && !e.Transform.allowed(kind) {
		return fmt.Errorf("transform %s is not available for %s mappings", e.Transform, kind)
	}
	source := e.HasConst || e.Transform.fromSource()
	switch kind {
	case CSV:
		if e.Path != "" || e.Field != "" {
			return fmt.Errorf("a Csv mapping element uses Ordinal, not Path or Field")
		}
		if source && e.Ordinal >= 0 {
			return fmt.Errorf("Ordinal must be unset when ConstValue or %s is used", e.Transform)
		}
		if !source && e.Ordinal < 0 {
			return fmt.Errorf("the element needs an Ordinal (0-based field index) or a ConstValue")
		}
		return nil
	case W3CLogFile:
		if e.Path != "" || e.Ordinal >= 0 {
			return fmt.Errorf("a W3CLogFile mapping element uses Field (such as cs-method), not Path or Ordinal")
		}
	case JSON:
		if e.Field != "" || e.Ordinal >= 0 {
			return fmt.Errorf("a Json mapping element uses Path, not Field or Ordinal")
		}
		// ADX: a Path that does not start with '$' is a constant.
		if e.Path != "" && !strings.HasPrefix(strings.TrimSpace(e.Path), "$") && !e.HasConst {
			e.Const, e.HasConst, e.Path = e.Path, true, ""
			source = true
		}
	default: // Avro, Parquet, ORC
		if e.Ordinal >= 0 {
			return fmt.Errorf("a %s mapping element uses Path or Field, not Ordinal", kind)
		}
		if e.Path != "" && e.Field != "" {
			return fmt.Errorf("Path and Field are mutually exclusive; {\"Field\":\"x\"} means {\"Path\":\"$.x\"}")
		}
	}
	switch {
	case e.Path != "":
		p, err := parsePath(e.Path)
		if err != nil {
			return err
		}
		e.path = p
	case e.Field != "":
		e.path = path{{key: e.Field}}
	case !source:
		return fmt.Errorf("the element needs a %s or a ConstValue", map[bool]string{true: "Field", false: "Path"}[kind == W3CLogFile])
	}
	return nil
}

// Validate checks the mapping against a table schema: every column exists,
// declared data types agree with the column types, and transformations fit
// their column types. The error names the first bad element.
func (m *Mapping) Validate(cols []schema.Column) error {
	byName := make(map[string]types.Type, len(cols))
	for _, c := range cols {
		byName[c.Name] = c.Type
	}
	for i, e := range m.Elements {
		t, ok := byName[e.Column]
		if !ok {
			return kerr.New(kerr.BadRequest, format.CodeInconsistentMapping,
				"mapping element %d maps column %s, which the table does not have (columns are case-sensitive; add it with .alter-merge table or fix the mapping)", i+1, e.Column)
		}
		if e.DataType != "" {
			dt, ok := types.Parse(e.DataType)
			if !ok {
				return invalid("mapping element %d (column %s): unknown DataType %q", i+1, e.Column, e.DataType)
			}
			if dt != t {
				return kerr.New(kerr.BadRequest, format.CodeInconsistentMapping,
					"mapping element %d declares column %s as %s, but the table column is %s", i+1, e.Column, dt, t)
			}
		}
		switch e.Transform {
		case DateTimeFromUnixSeconds, DateTimeFromUnixMilliseconds, DateTimeFromUnixMicroseconds, DateTimeFromUnixNanoseconds:
			if t != types.DateTime {
				return kerr.New(kerr.BadRequest, format.CodeInconsistentMapping,
					"mapping element %d (column %s): %s produces a datetime, but the column is %s", i+1, e.Column, e.Transform, t)
			}
		}
		if e.HasConst {
			if _, ok := fromString(e.Const, t); !ok && t != types.String {
				return invalid("mapping element %d (column %s): ConstValue %q is not a valid %s", i+1, e.Column, e.Const, t)
			}
		}
	}
	return nil
}

// NewColumns lists the columns the mapping declares (with DataType) that
// the table lacks, in mapping order: what queued ingestion adds to the
// table before ingesting, as ADX does.
func (m *Mapping) NewColumns(cols []schema.Column) []schema.Column {
	have := make(map[string]bool, len(cols))
	for _, c := range cols {
		have[c.Name] = true
	}
	var out []schema.Column
	for _, e := range m.Elements {
		if have[e.Column] || e.DataType == "" {
			continue
		}
		if t, ok := types.Parse(e.DataType); ok {
			out = append(out, schema.Column{Name: e.Column, Type: t})
			have[e.Column] = true
		}
	}
	return out
}

// Identity is the mapping ADX uses when none is given: tabular formats map
// the table's columns in order to fields 0, 1, ...; every other kind maps
// each column by its (case-sensitive) name.
func Identity(kind Kind, cols []schema.Column) *Mapping {
	m := &Mapping{Kind: kind}
	for i, c := range cols {
		e := Element{Column: c.Name, Ordinal: -1}
		switch kind {
		case CSV:
			e.Ordinal = i
		case JSON:
			e.Path = "$['" + strings.ReplaceAll(strings.ReplaceAll(c.Name, `\`, `\\`), `'`, `\'`) + "']"
			e.path = path{{key: c.Name}}
		default:
			e.Field = c.Name
			e.path = path{{key: c.Name}}
		}
		m.Elements = append(m.Elements, e)
	}
	return m
}

// JSON renders the mapping in ADX's canonical form, the text that
// `.show ... ingestion mappings` returns:
// [{"column":"a","datatype":"long","Properties":{"Path":"$.x"}}].
// Property values are strings, as ADX writes them.
func (m *Mapping) JSON() string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range m.Elements {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"column":`)
		writeJSONString(&b, e.Column)
		if e.DataType != "" {
			b.WriteString(`,"datatype":`)
			writeJSONString(&b, e.DataType)
		}
		props := map[string]string{}
		if e.Ordinal >= 0 {
			props["Ordinal"] = strconv.Itoa(e.Ordinal)
		}
		if e.Path != "" {
			props["Path"] = e.Path
		}
		if e.Field != "" {
			props["Field"] = e.Field
		}
		if e.HasConst {
			props["ConstValue"] = e.Const
		}
		if e.Transform != NoTransform {
			props["Transform"] = string(e.Transform)
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`,"Properties":{`)
		for j, k := range keys {
			if j > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, props[k])
		}
		b.WriteString("}}")
	}
	b.WriteByte(']')
	return b.String()
}
