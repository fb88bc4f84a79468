// Package props parses ADX ingestion properties: the `with (...)` of
// `.ingest` commands, queued-ingestion messages and data connection
// overrides. Names are case-insensitive; values arrive as text (JSON text for
// tags, ingestIfNotExists and validationPolicy). Properties odx does not
// know are reported, never silently ignored.
package props

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
	"odx/internal/kerr"
)

// ValidationOptions is validationPolicy.ValidationOptions.
type ValidationOptions int

const (
	DoNotValidate                   ValidationOptions = 0
	ValidateCsvInputConstantColumns ValidationOptions = 1 // every CSV record has the first record's field count
	ValidateCsvInputColumnLevelOnly ValidationOptions = 2
)

// ValidationImplications is validationPolicy.ValidationImplications.
type ValidationImplications int

const (
	FailOnError ValidationImplications = 0 // the whole source fails
	BestEffort  ValidationImplications = 1 // validation errors are ignored
)

// ValidationPolicy is ADX's validationPolicy; the default is
// {"ValidationOptions":1,"ValidationImplications":1}.
type ValidationPolicy struct {
	Options      ValidationOptions
	Implications ValidationImplications
}

// DefaultValidationPolicy is ADX's default.
var DefaultValidationPolicy = ValidationPolicy{Options: ValidateCsvInputConstantColumns, Implications: BestEffort}

// Properties are parsed ingestion properties.
type Properties struct {
	Format            format.Format // "" when not given
	Compression       format.Compression
	MappingReference  string
	InlineMapping     string       // JSON text of an inline mapping
	MappingKind       mapping.Kind // the kind a legacy property name implies (csvMapping → Csv), "" otherwise
	IgnoreFirstRecord bool
	Tags              []string
	IngestIfNotExists []string
	CreationTime      *time.Time
	Validation        ValidationPolicy
	ZipPattern        string
	PersistDetails    bool
	// Accepted lists ADX properties odx takes but has no behaviour for
	// (extend_schema, folder, ...), lower-cased, so that callers can warn.
	Accepted []string
	// Unknown lists property names ADX does not define, as given.
	Unknown []string
}

// Warnings describes Accepted and Unknown properties for the user.
func (p *Properties) Warnings() []string {
	var out []string
	for _, n := range p.Unknown {
		out = append(out, fmt.Sprintf("unknown ingestion property %q was ignored; check its spelling (known: %s)", n, strings.Join(knownNames(), ", ")))
	}
	for _, n := range p.Accepted {
		out = append(out, fmt.Sprintf("ingestion property %q is accepted but has no effect in odx", n))
	}
	return out
}

// Mapping returns the inline mapping parsed for format f, or nil when the
// properties carry none.
func (p *Properties) Mapping(f format.Format) (*mapping.Mapping, error) {
	if p.InlineMapping == "" {
		return nil, nil
	}
	kind := mapping.KindOf(f)
	if p.MappingKind != "" && kind != "" && p.MappingKind != kind {
		return nil, kerr.New(kerr.BadRequest, format.CodeInvalidMapping,
			"the inline mapping was given as a %s mapping, but format %s needs a %s mapping", p.MappingKind, f, kind)
	}
	if kind == "" {
		kind = p.MappingKind
	}
	return mapping.Parse(kind, p.InlineMapping)
}

type handler func(p *Properties, name, value string) error

var handlers = map[string]handler{
	"format": func(p *Properties, name, v string) error {
		f, err := format.ParseFormat(v)
		if err != nil {
			return malformed(name, v, "a data format such as csv or json")
		}
		p.Format = f
		return nil
	},
	"compression": func(p *Properties, name, v string) error {
		c, err := format.ParseCompression(v)
		if err != nil {
			return malformed(name, v, "none, gzip or zip")
		}
		p.Compression = c
		return nil
	},
	"ingestionmappingreference": mappingRef(""),
	"mappingreference":          mappingRef(""),
	"csvmappingreference":       mappingRef(mapping.CSV),
	"jsonmappingreference":      mappingRef(mapping.JSON),
	"avromappingreference":      mappingRef(mapping.Avro),
	"ingestionmapping":          inlineMapping(""),
	"csvmapping":                inlineMapping(mapping.CSV),
	"jsonmapping":               inlineMapping(mapping.JSON),
	"avromapping":               inlineMapping(mapping.Avro),
	"ingestionmappingtype": func(p *Properties, name, v string) error {
		k, err := mapping.ParseKind(v)
		if err != nil {
			return malformed(name, v, "a mapping kind such as csv or json")
		}
		p.MappingKind = k
		return nil
	},
	"ignorefirstrecord": boolProp(func(p *Properties) *bool { return &p.IgnoreFirstRecord }),
	"persistdetails":    boolProp(func(p *Properties) *bool { return &p.PersistDetails }),
	"tags": func(p *Properties, name, v string) error {
		tags, err := stringList(v)
		if err != nil {
			return malformed(name, v, `a JSON array of strings such as '["drop-by:2024-01-01"]'`)
		}
		p.Tags = append(p.Tags, tags...)
		return nil
	},
	"ingestifnotexists": func(p *Properties, name, v string) error {
		tags, err := stringList(v)
		if err != nil {
			return malformed(name, v, `a JSON array of ingest-by tag values such as '["part1"]'`)
		}
		p.IngestIfNotExists = tags
		return nil
	},
	"creationtime": func(p *Properties, name, v string) error {
		t, ok := mapping.ParseDateTime(unquote(v))
		if !ok {
			return malformed(name, v, "an ISO 8601 datetime such as 2024-01-31T00:00:00Z")
		}
		p.CreationTime = &t
		return nil
	},
	"validationpolicy": func(p *Properties, name, v string) error {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return malformed(name, v, `JSON such as {"ValidationOptions":1,"ValidationImplications":1}`)
		}
		for k, val := range raw {
			n, err := enumValue(val, strings.ToLower(k))
			if err != nil {
				return malformed(name, v, err.Error())
			}
			switch strings.ToLower(k) {
			case "validationoptions":
				p.Validation.Options = ValidationOptions(n)
			case "validationimplications":
				p.Validation.Implications = ValidationImplications(n)
			default:
				return malformed(name, v, "only ValidationOptions and ValidationImplications")
			}
		}
		return nil
	},
	"zippattern": func(p *Properties, name, v string) error { p.ZipPattern = v; return nil },
}

// accepted are ADX properties without an effect in odx (yet).
var accepted = map[string]bool{
	"extend_schema": true, "recreate_schema": true, "folder": true, "policy_ingestiontime": true,
	"treatgzasuncompressed": true,
}

func knownNames() []string {
	names := []string{"format", "ingestionMappingReference", "ingestionMapping", "ignoreFirstRecord", "tags", "ingestIfNotExists",
		"creationTime", "validationPolicy", "zipPattern", "persistDetails", "compression", "ingestionMappingType",
		"csvMapping", "jsonMapping", "avroMapping", "csvMappingReference", "jsonMappingReference", "avroMappingReference", "mappingReference"}
	var extra []string
	for n := range accepted {
		extra = append(extra, n)
	}
	sort.Strings(extra)
	return append(names, extra...)
}

// Parse reads properties given as name/value pairs, in order. A malformed
// value is an error (BadRequest_MalformedIngestionProperty) naming the
// property; giving both a mapping and a mapping reference is
// BadRequest_DuplicateMapping; unknown names are collected in Unknown.
func Parse(pairs [][2]string) (*Properties, error) {
	p := &Properties{Validation: DefaultValidationPolicy}
	seen := map[string]string{}
	for _, kv := range pairs {
		name, value := strings.TrimSpace(kv[0]), kv[1]
		key := strings.ToLower(name)
		if prev, dup := seen[key]; dup {
			return nil, kerr.New(kerr.BadRequest, format.CodeMalformedProperty, "ingestion property %q is given twice (as %q and %q)", name, prev, name)
		}
		seen[key] = name
		if h, ok := handlers[key]; ok {
			if key != "ingestionmapping" && !strings.HasSuffix(key, "mapping") {
				// Values of scalar properties may arrive still quoted.
				value = unquote(value)
			}
			if err := h(p, name, value); err != nil {
				return nil, err
			}
			continue
		}
		if _, ok := accepted[key]; ok {
			p.Accepted = append(p.Accepted, key)
			continue
		}
		p.Unknown = append(p.Unknown, name)
	}
	return p, nil
}

// ParseMap is Parse for properties in a map (order does not matter for
// valid input); names are processed in sorted order for stable errors.
func ParseMap(m map[string]string) (*Properties, error) {
	pairs := make([][2]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, [2]string{k, v})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	return Parse(pairs)
}

func mappingRef(kind mapping.Kind) handler {
	return func(p *Properties, name, v string) error {
		if p.InlineMapping != "" {
			return duplicateMapping()
		}
		if p.MappingReference != "" {
			return duplicateMapping()
		}
		if strings.TrimSpace(v) == "" {
			return kerr.New(kerr.BadRequest, "BadRequest_EmptyMappingReference", "ingestion property %q is empty; name an ingestion mapping", name)
		}
		p.MappingReference = v
		if kind != "" {
			p.MappingKind = kind
		}
		return nil
	}
}

func inlineMapping(kind mapping.Kind) handler {
	return func(p *Properties, name, v string) error {
		if p.MappingReference != "" || p.InlineMapping != "" {
			return duplicateMapping()
		}
		p.InlineMapping = v
		if kind != "" {
			p.MappingKind = kind
		}
		return nil
	}
}

func duplicateMapping() error {
	return kerr.New(kerr.BadRequest, format.CodeDuplicateMapping,
		"both an ingestion mapping and a mapping reference are given; use either ingestionMapping or ingestionMappingReference")
}

func boolProp(field func(*Properties) *bool) handler {
	return func(p *Properties, name, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(unquote(v)))
		if err != nil {
			return malformed(name, v, "true or false")
		}
		*field(p) = b
		return nil
	}
}

func malformed(name, value, want string) error {
	return kerr.New(kerr.BadRequest, format.CodeMalformedProperty, "ingestion property %s=%q is malformed: expected %s", name, value, want)
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// stringList reads a JSON array of strings. ADX documents tags with single
// quotes (`"['myDataTag']"`), so single-quoted strings are accepted too.
func stringList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err == nil {
		return out, nil
	}
	if !strings.HasPrefix(v, "[") || !strings.HasSuffix(v, "]") {
		return nil, fmt.Errorf("not an array")
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	if inner == "" {
		return nil, nil
	}
	for _, part := range strings.Split(inner, ",") {
		s := strings.TrimSpace(part)
		if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
			return nil, fmt.Errorf("not a list of strings")
		}
		out = append(out, s[1:len(s)-1])
	}
	return out, nil
}

func enumValue(raw json.RawMessage, field string) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s must be a number or a name", field)
	}
	names := map[string]int{
		"donotvalidate": 0, "validatecsvinputconstantcolumns": 1, "validatecsvinputcolumnlevelonly": 2,
		"fail": 0, "bestefforts": 1, "besteffort": 1,
	}
	if n, ok := names[strings.ToLower(s)]; ok {
		return n, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("%s %q is not a known value", field, s)
}
