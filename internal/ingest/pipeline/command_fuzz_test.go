package pipeline

import (
	"testing"

	"odx/internal/kerr"
)

// FuzzParseCommands checks that the command parsers never panic and that
// every error they return carries a position.
func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		".ingest into table T (h'https://a/b.csv?sig=x')",
		".ingest async into table ['a b'] ('/data/x.csv', @'c:\\x') with (format='csv', tags='[\"a\"]', creationTime=datetime(2020-01-01))",
		".ingest inline into table T with (format=psv) <|\na|b",
		".show operations (\"a\", 'b')",
		".show ingestion failures with (OperationId = 'x')",
		".ingest into table T (```multi\nline```)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !Handles(text) {
			return
		}
		check := func(err error) {
			if err == nil {
				return
			}
			if ke := kerr.As(err); ke.Code != kerr.CodeSyntax || ke.Line < 1 || ke.Column < 1 {
				t.Fatalf("%q: error without a position: %v", text, err)
			}
		}
		_, err := parseIngest(text)
		check(err)
		_, err = parseShow(text)
		check(err)
	})
}
