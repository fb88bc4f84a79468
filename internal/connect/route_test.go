package connect_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"odx/internal/connect"
)

func TestRouter(t *testing.T) {
	single := connect.NewRouter(connect.Spec{Database: "db", Table: "T", Format: "CSV", Mapping: "m", Compression: "None"})
	multi := single
	multi.MultiDatabase = true
	iot := single
	iot.Properties = []string{connect.PropDatabase, connect.PropTable, connect.PropFormat, connect.PropMapping, connect.PropEncoding}

	cases := []struct {
		name  string
		r     connect.Router
		props map[string]string
		want  connect.Route
		code  string
	}{
		{"defaults", single, nil, connect.Route{Database: "db", Table: "T", Format: "csv", Mapping: "m", Compression: "none"}, ""},
		{"overrides", single, map[string]string{"Table": "X", "Format": "JSON", "IngestionMappingReference": "jm", "Compression": "GZip", "Encoding": "UTF-16", "Tags": `["a","b"]`},
			connect.Route{Database: "db", Table: "X", Format: "json", Mapping: "jm", Compression: "gzip", Encoding: "UTF16", Tags: []string{"a", "b"}}, ""},
		{"single-quoted tags", single, map[string]string{"Tags": "['myDataTag', 'x']"}, connect.Route{Database: "db", Table: "T", Format: "csv", Mapping: "m", Compression: "none", Tags: []string{"myDataTag", "x"}}, ""},
		{"names are case-sensitive", single, map[string]string{"table": "X"}, connect.Route{Database: "db", Table: "T", Format: "csv", Mapping: "m", Compression: "none"}, ""},
		{"database on single", single, map[string]string{"Database": "db"}, connect.Route{}, connect.CodeNonMultiDatabase},
		{"database on multi", multi, map[string]string{"Database": "other"}, connect.Route{Database: "other", Table: "T", Format: "csv", Mapping: "m", Compression: "none"}, ""},
		{"unknown format", single, map[string]string{"Format": "xml"}, connect.Route{}, connect.CodeFormatNotSupported},
		{"raw refused", single, map[string]string{"Format": "raw"}, connect.Route{}, connect.CodeFormatNotSupported},
		{"compressed avro", single, map[string]string{"Format": "avro", "Compression": "gzip"}, connect.Route{}, connect.CodePropertyNotInContext},
		{"unknown compression", single, map[string]string{"Compression": "lz4"}, connect.Route{}, connect.CodeMalformedProperty},
		{"unknown encoding", single, map[string]string{"Encoding": "latin1"}, connect.Route{}, connect.CodeMalformedProperty},
		{"bad tags", single, map[string]string{"Tags": "red"}, connect.Route{}, connect.CodeMalformedProperty},
		{"no table", connect.NewRouter(connect.Spec{Database: "db", Format: "json"}), nil, connect.Route{}, connect.CodeNoTable},
		{"no format", connect.NewRouter(connect.Spec{Database: "db", Table: "T"}), nil, connect.Route{}, connect.CodeFormatNotSupported},
		{"iot ignores Compression", iot, map[string]string{"Compression": "lz4", "Tags": "x"}, connect.Route{Database: "db", Table: "T", Format: "csv", Mapping: "m", Compression: "none"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.r.Route(c.props)
			if c.code != "" {
				var re *connect.RouteError
				if !errors.As(err, &re) || re.Code != c.code || re.Message == "" {
					t.Fatalf("want %s, got %v", c.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Database != c.want.Database || got.Table != c.want.Table || got.Format != c.want.Format || got.Mapping != c.want.Mapping ||
				got.Compression != c.want.Compression || got.Encoding != c.want.Encoding || !slices.Equal(got.Tags, c.want.Tags) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestSystemPropertiesFor(t *testing.T) {
	props := []string{"x-opt-enqueued-time"}
	if use, err := connect.SystemPropertiesFor(connect.Route{Format: "json"}, props); !use || err != nil {
		t.Fatalf("json: %v %v", use, err)
	}
	if use, err := connect.SystemPropertiesFor(connect.Route{Format: "parquet"}, props); use || err != nil {
		t.Fatalf("parquet must ignore them silently: %v %v", use, err)
	}
	if use, _ := connect.SystemPropertiesFor(connect.Route{Format: "csv"}, nil); use {
		t.Fatal("no properties requested")
	}
	var re *connect.RouteError
	if _, err := connect.SystemPropertiesFor(connect.Route{Format: "csv", Compression: "gzip"}, props); !errors.As(err, &re) || re.Code != connect.CodePropertyNotInContext {
		t.Fatalf("compressed: %v", err)
	}
}

// A connection decodes only the event properties its router Reads (the
// Event Hub consumer skips the rest): routing on those alone must give
// the route, or the error, that all of them give.
func TestRouterReadsWhatRouteUses(t *testing.T) {
	single := connect.NewRouter(connect.Spec{Database: "db", Table: "T", Format: "CSV"})
	multi := single
	multi.MultiDatabase = true
	iot := multi
	iot.Properties = []string{connect.PropDatabase, connect.PropTable, connect.PropFormat, connect.PropMapping, connect.PropEncoding}
	all := map[string]string{"Database": "other", "Table": "X", "Format": "json", "IngestionMappingReference": "jm",
		"Compression": "gzip", "Encoding": "UTF-16", "Tags": `["a"]`, "iothub-connection-device-id": "dev1", "x": "y"}
	for name, r := range map[string]connect.Router{"single": single, "multi": multi, "iot": iot} {
		read := map[string]string{}
		for k, v := range all {
			if r.Reads(k) {
				read[k] = v
			}
		}
		if _, ok := read["iothub-connection-device-id"]; ok || len(read) < 5 {
			t.Fatalf("%s: reads %v", name, read)
		}
		got, gerr := r.Route(read)
		want, werr := r.Route(all)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%s: routing on what it reads gave %+v (%v), on every property %+v (%v)", name, got, gerr, want, werr)
		}
	}
}
