package connect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Names of the per-event ingestion properties (case-sensitive, as in ADX).
const (
	PropDatabase    = "Database"
	PropTable       = "Table"
	PropFormat      = "Format"
	PropMapping     = "IngestionMappingReference"
	PropCompression = "Compression"
	PropEncoding    = "Encoding"
	PropTags        = "Tags"
)

// ADX error codes for events a connector cannot route.
const (
	CodeNonMultiDatabase     = "BadRequest_NonMultiDatabaseDataConnection"
	CodeNoTable              = "BadRequest_InvalidOrEmptyTableName"
	CodeFormatNotSupported   = "BadRequest_FormatNotSupported"
	CodeMalformedProperty    = "BadRequest_MalformedIngestionProperty"
	CodePropertyNotInContext = "BadRequest_IngestionPropertyNotSupportedInThisContext"
)

// Formats are the ADX data format names a data connection accepts, lower case.
var Formats = []string{"csv", "tsv", "tsve", "psv", "scsv", "sohsv", "txt", "raw", "json", "multijson",
	"singlejson", "avro", "apacheavro", "parquet", "orc", "w3clogfile", "azmonstream"}

// binaryFormats cannot be compressed and never carry system properties.
var binaryFormats = []string{"avro", "apacheavro", "parquet", "orc", "w3clogfile"}

// systemPropertyFormats are the formats ADX embeds system properties into;
// for the others the properties are silently ignored.
var systemPropertyFormats = []string{"json", "multijson", "singlejson", "csv", "tsv", "tsve", "psv", "scsv", "sohsv"}

// RouteError is an event that cannot be routed, with ADX's error code.
type RouteError struct {
	Code    string
	Message string
	Table   string // the table the event named, when known
}

func (e *RouteError) Error() string { return e.Code + ": " + e.Message }

// Router applies ADX's per-event routing over a connection's defaults.
type Router struct {
	Defaults      Route
	MultiDatabase bool
	// Properties lists the routing properties this connection kind honours
	// (IoT Hub has no Compression or Tags); nil means all of them.
	Properties []string
	// RawFormat allows the RAW format (Event Grid only; Event Hub and IoT
	// Hub connections refuse it).
	RawFormat bool
}

// NewRouter builds the router of a connection from its spec.
func NewRouter(s Spec) Router {
	return Router{
		Defaults: Route{
			Database:    s.Database,
			Table:       s.Table,
			Format:      strings.ToLower(s.Format),
			Mapping:     s.Mapping,
			Compression: NormalizeCompression(s.Compression),
		},
		MultiDatabase: s.MultiDatabase,
	}
}

// PropertyNames are the names of the per-event ingestion properties.
var PropertyNames = []string{PropDatabase, PropTable, PropFormat, PropMapping, PropCompression, PropEncoding, PropTags}

// Reads reports whether Route looks at the event property name.
func (r Router) Reads(name string) bool {
	return slices.Contains(PropertyNames, name) && r.honours(name)
}

func (r Router) honours(name string) bool {
	return r.Properties == nil || slices.Contains(r.Properties, name)
}

// Route returns where an event with these application properties goes.
func (r Router) Route(props map[string]string) (Route, error) {
	rt := r.Defaults
	rt.Tags = slices.Clone(rt.Tags)
	get := func(name string) (string, bool) {
		if !r.honours(name) {
			return "", false
		}
		v, ok := props[name]
		return v, ok
	}
	if v, ok := get(PropTable); ok && v != "" {
		rt.Table = v
	}
	if v, ok := get(PropDatabase); ok && v != "" {
		if !r.MultiDatabase {
			return rt, &RouteError{Code: CodeNonMultiDatabase, Table: rt.Table, Message: fmt.Sprintf(
				"the event names database %q but the data connection routes only to %q; set databaseRouting to Multi on the connection to allow per-event databases",
				v, r.Defaults.Database)}
		}
		rt.Database = v
	}
	if v, ok := get(PropFormat); ok && v != "" {
		rt.Format = strings.ToLower(v)
	}
	if v, ok := get(PropMapping); ok && v != "" {
		rt.Mapping = v
	}
	if v, ok := get(PropCompression); ok && v != "" {
		rt.Compression = NormalizeCompression(v)
	}
	if v, ok := get(PropEncoding); ok && v != "" {
		enc, ok := normalizeEncoding(v)
		if !ok {
			return rt, &RouteError{Code: CodeMalformedProperty, Table: rt.Table, Message: fmt.Sprintf(
				"Encoding %q is not supported; use UTF8 or UTF16", v)}
		}
		rt.Encoding = enc
	}
	if v, ok := get(PropTags); ok && v != "" {
		tags, err := ParseTags(v)
		if err != nil {
			return rt, &RouteError{Code: CodeMalformedProperty, Table: rt.Table, Message: err.Error()}
		}
		rt.Tags = append(rt.Tags, tags...)
	}
	if rt.Table == "" {
		return rt, &RouteError{Code: CodeNoTable, Message: "the event names no table: set tableName on the data connection or a Table property on the event"}
	}
	switch {
	case rt.Format == "":
		return rt, &RouteError{Code: CodeFormatNotSupported, Table: rt.Table, Message: "the event has no data format: set dataFormat on the data connection or a Format property on the event"}
	case !slices.Contains(Formats, rt.Format):
		return rt, &RouteError{Code: CodeFormatNotSupported, Table: rt.Table, Message: fmt.Sprintf(
			"data format %q is not supported; use one of %s", rt.Format, strings.Join(Formats, ", "))}
	case rt.Format == "raw" && !r.RawFormat:
		return rt, &RouteError{Code: CodeFormatNotSupported, Table: rt.Table, Message: "the RAW format is not supported by Event Hub and IoT Hub data connections; use TXT for one string per line"}
	}
	switch rt.Compression {
	case "", "none":
	case "gzip":
		if slices.Contains(binaryFormats, rt.Format) {
			return rt, &RouteError{Code: CodePropertyNotInContext, Table: rt.Table, Message: fmt.Sprintf(
				"compression is not supported for the binary format %s (it compresses internally); send the event uncompressed", rt.Format)}
		}
	default:
		return rt, &RouteError{Code: CodeMalformedProperty, Table: rt.Table, Message: fmt.Sprintf(
			"Compression %q is not supported; use None or GZip", rt.Compression)}
	}
	return rt, nil
}

// SystemPropertiesFor says whether an event routed this way carries the
// connection's system properties. ADX ignores them silently for formats it
// cannot embed them into, and refuses compressed events that would need them.
func SystemPropertiesFor(rt Route, wanted []string) (bool, error) {
	if len(wanted) == 0 || !slices.Contains(systemPropertyFormats, rt.Format) {
		return false, nil
	}
	if rt.Compression == "gzip" {
		return false, &RouteError{Code: CodePropertyNotInContext, Table: rt.Table, Message: fmt.Sprintf(
			"event system properties (%s) cannot be embedded into compressed events; send the event uncompressed or remove eventSystemProperties from the connection",
			strings.Join(wanted, ", "))}
	}
	return true, nil
}

// NormalizeCompression maps None/GZip in any case to "none"/"gzip"; other
// values are kept (lower case) for the router to refuse.
func NormalizeCompression(v string) string {
	return strings.ToLower(strings.TrimSpace(v))
}

func normalizeEncoding(v string) (string, bool) {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), "-", "")) {
	case "utf8":
		return "UTF8", true
	case "utf16", "unicode", "utf16le":
		return "UTF16", true
	}
	return "", false
}

// ParseTags reads a Tags property: a JSON array of strings, which ADX also
// accepts with single quotes (['a','b']).
func ParseTags(v string) ([]string, error) {
	var tags []string
	if err := json.Unmarshal([]byte(v), &tags); err == nil {
		return tags, nil
	}
	s := strings.TrimSpace(v)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("Tags %q is not a list of strings; write it like ['tag1','tag2']", v)
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 || (part[0] != '\'' && part[0] != '"') || part[len(part)-1] != part[0] {
			return nil, fmt.Errorf("Tags %q is not a list of strings; write it like ['tag1','tag2']", v)
		}
		tags = append(tags, part[1:len(part)-1])
	}
	return tags, nil
}
