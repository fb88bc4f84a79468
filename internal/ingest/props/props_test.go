package props

import (
	"errors"
	"strings"
	"testing"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
	"odx/internal/kerr"
)

func code(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return ""
}

func TestParseEveryProperty(t *testing.T) {
	p, err := Parse([][2]string{
		{"Format", "MultiJSON"},
		{"ingestionMappingReference", "m1"},
		{"ignoreFirstRecord", "true"},
		{"tags", `["drop-by:2024","ingest-by:a"]`},
		{"ingestIfNotExists", `["a"]`},
		{"creationTime", "2020-05-01T00:00:00Z"},
		{"validationPolicy", `{"ValidationOptions":2,"ValidationImplications":"Fail"}`},
		{"zipPattern", `.*\.json$`},
		{"persistDetails", "True"},
		{"compression", "gzip"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != format.MultiJSON || p.MappingReference != "m1" || !p.IgnoreFirstRecord || !p.PersistDetails || p.Compression != format.Gzip {
		t.Errorf("%+v", p)
	}
	if len(p.Tags) != 2 || p.Tags[1] != "ingest-by:a" || len(p.IngestIfNotExists) != 1 {
		t.Errorf("tags %v / %v", p.Tags, p.IngestIfNotExists)
	}
	if !p.CreationTime.Equal(time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("creationTime %v", p.CreationTime)
	}
	if p.Validation != (ValidationPolicy{Options: ValidateCsvInputColumnLevelOnly, Implications: FailOnError}) {
		t.Errorf("validation %+v", p.Validation)
	}
	if p.ZipPattern != `.*\.json$` || len(p.Unknown) != 0 || len(p.Warnings()) != 0 {
		t.Errorf("zip %q unknown %v", p.ZipPattern, p.Unknown)
	}
}

func TestQuotedScalarValues(t *testing.T) {
	p, err := Parse([][2]string{{"format", `"csv"`}, {"ingestionMappingReference", "'m1'"}, {"creationTime", `"2017-02-13"`}})
	if err != nil || p.Format != format.CSV || p.MappingReference != "m1" || p.CreationTime == nil {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestDefaultsAndDocumentedTagSyntax(t *testing.T) {
	p, err := Parse([][2]string{{"tags", "['myDataTag', 'other']"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Validation != DefaultValidationPolicy || p.Format != "" || len(p.Tags) != 2 || p.Tags[0] != "myDataTag" {
		t.Errorf("%+v", p)
	}
}

func TestLegacyMappingProperties(t *testing.T) {
	p, err := Parse([][2]string{{"csvMapping", `[{"Name":"a","DataType":"int","Ordinal":0}]`}, {"format", "csv"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.MappingKind != mapping.CSV {
		t.Errorf("kind %q", p.MappingKind)
	}
	m, err := p.Mapping(format.CSV)
	if err != nil || m.Elements[0].Column != "a" || m.Elements[0].Ordinal != 0 {
		t.Errorf("mapping %+v %v", m, err)
	}
	if _, err := p.Mapping(format.JSON); code(err) != format.CodeInvalidMapping {
		t.Errorf("csv mapping used for json: %v", err)
	}
	p, _ = Parse([][2]string{{"jsonMappingReference", "jm"}})
	if p.MappingReference != "jm" || p.MappingKind != mapping.JSON {
		t.Errorf("%+v", p)
	}
	p, _ = Parse([][2]string{{"ingestionMapping", `[{"column":"a","Properties":{"Path":"$.a"}}]`}, {"ingestionMappingType", "Json"}})
	if m, err := p.Mapping(format.JSON); err != nil || m.Elements[0].Path != "$.a" {
		t.Errorf("inline mapping: %v", err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		pairs [][2]string
		code  string
		says  string
	}{
		{[][2]string{{"ingestionMapping", "[]"}, {"ingestionMappingReference", "m"}}, format.CodeDuplicateMapping, "either ingestionMapping or ingestionMappingReference"},
		{[][2]string{{"csvMappingReference", "m"}, {"mappingReference", "n"}}, format.CodeDuplicateMapping, ""},
		{[][2]string{{"format", "xlsx"}}, format.CodeMalformedProperty, "format=\"xlsx\""},
		{[][2]string{{"ignoreFirstRecord", "yes please"}}, format.CodeMalformedProperty, "true or false"},
		{[][2]string{{"tags", "drop-by:x"}}, format.CodeMalformedProperty, "JSON array"},
		{[][2]string{{"creationTime", "last week"}}, format.CodeMalformedProperty, "ISO 8601"},
		{[][2]string{{"validationPolicy", `{"ValidationOptions":"Sometimes"}`}}, format.CodeMalformedProperty, "Sometimes"},
		{[][2]string{{"format", "csv"}, {"FORMAT", "json"}}, format.CodeMalformedProperty, "given twice"},
		{[][2]string{{"ingestionMappingReference", " "}}, "BadRequest_EmptyMappingReference", ""},
	}
	for _, c := range cases {
		_, err := Parse(c.pairs)
		if code(err) != c.code || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: got %v (%s), want %s containing %q", c.pairs, err, code(err), c.code, c.says)
		}
	}
}

func TestUnknownPropertiesAreReported(t *testing.T) {
	p, err := ParseMap(map[string]string{"format": "csv", "formatt": "json", "folder": "x", "extend_schema": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unknown) != 1 || p.Unknown[0] != "formatt" || len(p.Accepted) != 2 {
		t.Fatalf("unknown %v accepted %v", p.Unknown, p.Accepted)
	}
	w := p.Warnings()
	if len(w) != 3 || !strings.Contains(w[0], `unknown ingestion property "formatt"`) || !strings.Contains(w[1], "has no effect") {
		t.Errorf("warnings %q", w)
	}
}
