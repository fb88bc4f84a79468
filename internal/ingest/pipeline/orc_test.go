package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	scorc "github.com/scritchley/orc"

	"odx/internal/auth"
	"odx/internal/ingest/format"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// telemetryORC writes n telemetry rows with github.com/scritchley/orc's
// writer (independent of odx's reader), zlib-compressed, plus a nested
// struct and a millisecond epoch for mappings to reach into.
func telemetryORC(t *testing.T, n int) []byte {
	t.Helper()
	// Built field by field: the writer's schema parser lower-cases names, as Hive does.
	cat := scorc.SetCategory
	s, err := scorc.NewTypeDescription(cat(scorc.CategoryStruct),
		scorc.AddField("Timestamp", cat(scorc.CategoryTimestamp)), scorc.AddField("Device", cat(scorc.CategoryString)),
		scorc.AddField("Value", cat(scorc.CategoryDouble)), scorc.AddField("Count", cat(scorc.CategoryLong)),
		scorc.AddField("ms", cat(scorc.CategoryLong)),
		scorc.AddField("inner", cat(scorc.CategoryStruct), scorc.AddField("x", cat(scorc.CategoryInt)),
			scorc.AddField("tags", cat(scorc.CategoryList), scorc.AddChild(cat(scorc.CategoryString)))))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := scorc.NewWriter(&buf, scorc.SetSchema(s), scorc.SetCompression(scorc.CompressionZlib{}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var dev any
		if i != 1 {
			dev = "dev-" + string(rune('a'+i%7))
		}
		if err := w.Write(t0.Add(time.Duration(i)*time.Second), dev, float64(i)/4, int64(i),
			t0.Add(time.Duration(i)*time.Minute).UnixMilli(), []any{int32(i * 10), []any{"t", "u"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestORCIdentityAndMapping(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	data := telemetryORC(t, 5)

	// The format comes from the .orc extension; no mapping: columns by name.
	res, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "https://acct.blob.core.windows.net/c/t.orc?sig=x", Props: mustProps(t)}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 5 || len(res.Failures) != 0 {
		t.Fatalf("rows %d failures %v", res.Rows, res.Failures)
	}
	for _, r := range e.rows("DB", "T", `"Count"`) {
		n := r[3].(int64)
		if !r[0].(time.Time).Equal(t0.Add(time.Duration(n)*time.Second)) || r[2] != float64(n)/4 {
			t.Fatalf("row %v does not hold record %d", r, n)
		}
		if want := "dev-" + string(rune('a'+n%7)); n != 1 && r[1] != want || n == 1 && r[1] != "" {
			t.Fatalf("row %v: device %v", r, r[1])
		}
	}

	// An inline orc mapping: nested Path, Field, a unix-time transform, the
	// whole record, the source location.
	e.table("DB", "M", []schema.Column{{Name: "When", Type: types.DateTime}, {Name: "X", Type: types.Int}, {Name: "Tags", Type: types.Dynamic},
		{Name: "Dev", Type: types.String}, {Name: "All", Type: types.Dynamic}, {Name: "Src", Type: types.String}})
	mapping := `[{"column":"When","Properties":{"Path":"$.ms","Transform":"DateTimeFromUnixMilliseconds"}},
		{"column":"X","Properties":{"Path":"$.inner.x"}},{"column":"Tags","Properties":{"Path":"$.inner.tags"}},
		{"column":"Dev","Properties":{"Field":"Device"}},{"column":"All","Properties":{"Path":"$"}},
		{"column":"Src","Properties":{"Transform":"SourceLocation"}}]`
	res, err = e.svc.IngestReader(ctx, Request{Database: "DB", Table: "M", Source: "blob-without-extension",
		Props: mustProps(t, "format", "orc", "ingestionMapping", mapping)}, bytes.NewReader(data))
	if err != nil || res.Rows != 5 {
		t.Fatalf("mapped: %d rows, %v", res.Rows, err)
	}
	rows := e.rows("DB", "M", `"X"`)
	r := rows[3]
	if !r[0].(time.Time).Equal(t0.Add(3*time.Minute)) || r[1] != int32(30) || r[3] != "dev-d" || r[5] != "blob-without-extension" {
		t.Fatalf("mapped row %v", r)
	}
	if tags := jsonText(r[2]); tags != `["t","u"]` {
		t.Fatalf("Tags = %s", tags)
	}
	if all := jsonText(r[4]); !strings.Contains(all, `"inner":{"tags":["t","u"],"x":30}`) || !strings.Contains(all, `"Count":3`) {
		t.Fatalf("All = %s", all)
	}
}

// jsonText renders a dynamic value as the engine returns it.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	b, _ := json.Marshal(v) // parsed JSON: maps marshal with sorted keys
	return string(b)
}

// Apache ORC Java's own test file, every primitive type and nested values,
// into columns of the Kusto types ADX maps ORC types to.
func TestIngestORCFromJavaWriterTypes(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "J", []schema.Column{{Name: "boolean1", Type: types.Bool}, {Name: "byte1", Type: types.Int}, {Name: "short1", Type: types.Int},
		{Name: "int1", Type: types.Int}, {Name: "long1", Type: types.Long}, {Name: "float1", Type: types.Real}, {Name: "double1", Type: types.Real},
		{Name: "bytes1", Type: types.String}, {Name: "string1", Type: types.String}, {Name: "middle", Type: types.Dynamic},
		{Name: "list", Type: types.Dynamic}, {Name: "map", Type: types.Dynamic}})
	f, err := os.Open(filepath.Join("..", "format", "testdata", "orc", "TestOrcFile.test1.orc"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := e.svc.IngestReader(context.Background(), Request{Database: "DB", Table: "J", Source: f.Name(), Props: mustProps(t)}, f)
	if err != nil || res.Rows != 2 {
		t.Fatalf("%d rows, %v", res.Rows, err)
	}
	rows := e.rows("DB", "J", `"byte1"`)
	// Row 2 as orc-tools prints it: {"boolean1": true, "byte1": 100, "short1": 2048, "int1": 65536,
	// "long1": 9223372036854775807, "float1": 2, "double1": -5, "bytes1": [], "string1": "bye", ...
	// "map": [{"key": "chani", "value": {"int1": 5, "string1": "chani"}}, {"key": "mauddib", ...}]}
	r := rows[1]
	want := []any{true, int32(100), int32(2048), int32(65536), int64(9223372036854775807), 2.0, -5.0, "", "bye"}
	for i, w := range want {
		if r[i] != w {
			t.Fatalf("column %d = %#v, want %#v (row %v)", i, r[i], w, r)
		}
	}
	if rows[0][7] != "AAECAwQ=" { // bytes [0,1,2,3,4] in a string column: base64, as ADX renders bytes
		t.Fatalf("bytes1 = %v", rows[0][7])
	}
	if m := jsonText(r[11]); m != `{"chani":{"int1":5,"string1":"chani"},"mauddib":{"int1":1,"string1":"mauddib"}}` {
		t.Fatalf("map = %s", m)
	}
	if l := jsonText(r[10]); !strings.HasPrefix(l, `[{"int1":100000000,"string1":"cat"}`) {
		t.Fatalf("list = %s", l)
	}
}

func TestIngestORCCorruptFileIsAFailureNamingIt(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	data := telemetryORC(t, 50)
	for name, bad := range map[string][]byte{"cut.orc": data[:len(data)/2], "notorc.orc": []byte("a,b,c\n")} {
		_, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "/data/" + name, OperationID: name, Props: mustProps(t)}, bytes.NewReader(bad))
		if kerr.As(err).Code != format.CodeInvalidBlob {
			t.Fatalf("%s: %v", name, err)
		}
		f, err := e.store.ListFailures(ctx, storage.FailureFilter{OperationID: name})
		if err != nil || len(f) != 1 || f[0].ErrorCode != format.CodeInvalidBlob || f[0].IngestionSourcePath != "/data/"+name ||
			!strings.Contains(f[0].Details, name) || f[0].FailureKind != "Permanent" {
			t.Fatalf("%s: failures %+v %v", name, f, err)
		}
	}
	if e.count("DB", "T") != 0 {
		t.Fatal("nothing of a corrupt file may be ingested")
	}
}

func TestIngestIntoAndStreamingTakeORC(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, Options{AllowedDirs: []string{dir}, DefaultBatching: BatchingPolicy{MaxDelay: 50 * time.Millisecond}})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	data := telemetryORC(t, 4)
	path := filepath.Join(dir, "x.data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T (h'"+path+"') with (format='orc')"); err != nil {
		t.Fatal(err)
	}
	if n := e.count("DB", "T"); n != 4 {
		t.Fatalf(".ingest into: %d rows", n)
	}
	admin := auth.Principal{ClientID: "boot", TenantID: "tn", Roles: []string{auth.RoleAllDatabasesAdmin}}
	h := withPrincipal(admin, NewStreamingHandler(e.svc, StreamingOptions{}))
	if code, body := post(t, h, "/v1/rest/ingest/DB/T?streamFormat=Orc", data, false); code != http.StatusOK {
		t.Fatalf("streaming: %d %s", code, body)
	}
	if n := e.count("DB", "T"); n != 8 {
		t.Fatalf("after streaming: %d rows", n)
	}
}
