package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"odx/internal/ingest/format"
	"odx/internal/kerr"
	"odx/internal/storage"
)

func TestIngestEveryFormatFamily(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	dir := t.TempDir()

	csv := telemetryCSV(5, t0)
	var jsonl bytes.Buffer
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&jsonl, `{"Timestamp":"%s","Device":"dev-%d","Value":%g,"Count":%d}`+"\n", t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i%7, float64(i)/4, i)
	}
	multi := "[\n" + strings.ReplaceAll(strings.TrimSpace(jsonl.String()), "\n", ",\n") + "\n]"

	// Parquet written by DuckDB itself, an independent writer.
	pq := filepath.Join(dir, "t.parquet")
	_, err := e.store.Engine().Exec(ctx, fmt.Sprintf(`COPY (SELECT TIMESTAMP '2026-01-02 03:04:05' + to_seconds(i) AS "Timestamp",
		'dev-' || (i %% 7) AS "Device", i / 4 AS "Value", i AS "Count" FROM range(5) t(i)) TO '%s' (FORMAT parquet)`, pq))
	if err != nil {
		t.Fatal(err)
	}
	pqData, _ := os.ReadFile(pq)

	// Avro written by goavro.
	var avroBuf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &avroBuf, Schema: `{"type":"record","name":"r","fields":[
		{"name":"Timestamp","type":{"type":"long","logicalType":"timestamp-micros"}},{"name":"Device","type":"string"},
		{"name":"Value","type":"double"},{"name":"Count","type":"long"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := w.Append([]any{map[string]any{"Timestamp": t0.Add(time.Duration(i) * time.Second), "Device": fmt.Sprintf("dev-%d", i%7),
			"Value": float64(i) / 4, "Count": int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name, source string
		data         []byte
		kv           []string
	}{
		{"csv by extension", "f.csv", csv, nil},
		{"csv gzip by extension", "f.csv.gz", gz(t, csv), nil},
		{"csv gzip by property", "blob", gz(t, csv), []string{"format", "csv", "compression", "gzip"}},
		{"tsv", "f.tsv", bytes.ReplaceAll(csv, []byte(","), []byte("\t")), nil},
		{"json lines", "f.json", jsonl.Bytes(), nil},
		{"multijson", "f", []byte(multi), []string{"format", "multijson"}},
		{"parquet", "t.parquet", pqData, nil},
		{"avro", "t.avro", avroBuf.Bytes(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.count("DB", "T")
			res, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: c.source, Props: mustProps(t, c.kv...)}, bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 5 || len(res.Failures) != 0 || len(res.Extents) != 1 {
				t.Fatalf("rows %d failures %v extents %d, want 5 rows in one extent", res.Rows, res.Failures, len(res.Extents))
			}
			if got := e.count("DB", "T"); got != before+5 {
				t.Fatalf("table has %d rows, want %d", got, before+5)
			}
		})
	}
	// Every family produced the same values.
	rows := e.rows("DB", "T", `"Count", "Timestamp"`)
	for _, r := range rows {
		n := r[3].(int64)
		if want := t0.Add(time.Duration(n) * time.Second); !r[0].(time.Time).Equal(want) {
			t.Fatalf("row %v: timestamp %v, want %v", r, r[0], want)
		}
		if r[1] != fmt.Sprintf("dev-%d", n%7) || r[2] != float64(n)/4 {
			t.Fatalf("row %v does not hold record %d", r, n)
		}
	}
}

func TestMappingByReferenceTableScopeWinsAndInline(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	// The database-scope mapping reads Count from the 4th field; the table's from the 1st.
	put := func(table, text string) {
		if err := e.store.PutMapping(ctx, storage.Mapping{Database: "DB", Table: table, Kind: "csv", Name: "m", Text: text}, storage.MappingCreateOrAlter); err != nil {
			t.Fatal(err)
		}
	}
	put("", `[{"column":"Count","Properties":{"Ordinal":"3"}}]`)
	put("T", `[{"column":"Count","Properties":{"Ordinal":"0"}},{"column":"Device","Properties":{"Transform":"SourceLocation"}}]`)
	if _, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "s.csv", Props: mustProps(t, "ingestionMappingReference", "m")},
		strings.NewReader("42,x,y,7\n")); err != nil {
		t.Fatal(err)
	}
	// Inline JSON mapping with a transform.
	if _, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "s.json", Props: mustProps(t, "format", "json",
		"ingestionMapping", `[{"column":"Count","Properties":{"Path":"$.n"}},{"column":"Timestamp","Properties":{"Path":"$.ms","Transform":"DateTimeFromUnixMilliseconds"}}]`)},
		strings.NewReader(`{"n":43,"ms":1000}`+"\n")); err != nil {
		t.Fatal(err)
	}
	rows := e.rows("DB", "T", `"Count"`)
	if len(rows) != 2 || rows[0][3] != int64(42) || rows[0][1] != "s.csv" {
		t.Fatalf("table mapping not applied: %v", rows)
	}
	if rows[1][3] != int64(43) || !rows[1][0].(time.Time).Equal(time.Unix(1, 0)) {
		t.Fatalf("inline mapping not applied: %v", rows)
	}
	// A reference to a missing mapping fails with ADX's code and leaves a failure record.
	_, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "s.csv", Props: mustProps(t, "ingestionMappingReference", "nope")}, strings.NewReader("1\n"))
	if kerr.As(err).Code != CodeMappingNotFound {
		t.Fatalf("missing mapping: %v", err)
	}
	f, _ := e.store.ListFailures(ctx, storage.FailureFilter{})
	if len(f) != 1 || f[0].ErrorCode != CodeMappingNotFound || f[0].Table != "T" {
		t.Fatalf("failure not recorded: %+v", f)
	}
}

func TestBadRecordsBecomeFailuresWhileGoodRowsArrive(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	data := "2026-01-01T00:00:00Z,a,1.5,1\n" +
		"2026-01-01T00:00:01Z,b,not-a-number,2\n" + // value null-filled, reported
		"{broken\n" +
		"2026-01-01T00:00:02Z,c,2.5,3\n"
	res, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "bad.csv", OperationID: "op-1"}, strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 {
		t.Fatalf("rows %d, want 4 (a CSV line with the wrong field count is still ingested, as ADX's best-effort policy does)", res.Rows)
	}
	f, err := e.store.ListFailures(ctx, storage.FailureFilter{OperationID: "op-1"})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, x := range f {
		codes[x.ErrorCode] = x.Details
		if x.Database != "DB" || x.Table != "T" || x.IngestionSourcePath != "bad.csv" || x.OperationKind != KindPull || x.FailureKind != "Permanent" {
			t.Fatalf("failure row %+v", x)
		}
	}
	if d := codes[format.CodeValueNotConvertible]; !strings.Contains(d, "record 2") || !strings.Contains(d, "column Value") {
		t.Fatalf("conversion failure should name record and column: %q (all: %v)", d, codes)
	}
	if d := codes[format.CodeWrongNumberOfFields]; !strings.Contains(d, "record 3") {
		t.Fatalf("field count failure: %q (all: %v)", d, codes)
	}
	rows := e.rows("DB", "T", `"Count" NULLS LAST`)
	if rows[0][1] != "a" || rows[1][2] != nil || rows[2][1] != "c" {
		t.Fatalf("rows %v", rows)
	}

	// With validationPolicy Fail, the same source fails as a whole.
	_, err = e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "bad.csv",
		Props: mustProps(t, "validationPolicy", `{"ValidationOptions":1,"ValidationImplications":0}`)}, strings.NewReader(data))
	if kerr.As(err).Code != format.CodeWrongNumberOfFields {
		t.Fatalf("FailOnError: %v", err)
	}
	if e.count("DB", "T") != 4 {
		t.Fatal("a failed source must not add rows")
	}
}

func TestEmptyAndUnreadableSourcesFail(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	_, err := e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "empty.csv"}, strings.NewReader(""))
	if kerr.As(err).Code != format.CodeNoRecords {
		t.Fatalf("empty: %v", err)
	}
	_, err = e.svc.IngestReader(ctx, Request{Database: "DB", Table: "T", Source: "x.csv.gz"}, strings.NewReader("not gzip"))
	if kerr.As(err).Code != format.CodeInvalidArchive {
		t.Fatalf("bad gzip: %v", err)
	}
	_, err = e.svc.IngestReader(ctx, Request{Database: "DB", Table: "Nope", Source: "x.csv"}, strings.NewReader("a\n"))
	if kerr.As(err).Code != "BadRequest_TableNotExist" {
		t.Fatalf("missing table: %v", err)
	}
	if e.count("DB", "T") != 0 {
		t.Fatal("nothing may be ingested")
	}
}

func TestLargeSourceIsChunkedIntoExtentsAndTagsApply(t *testing.T) {
	e := newEnv(t, Options{ChunkRows: 1000})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	data := telemetryCSV(2500, t0)
	req := Request{Database: "DB", Table: "T", Source: "big.csv", Props: mustProps(t, "tags", `["drop-by:x"]`, "ingestIfNotExists", `["batch-1"]`)}
	res, err := e.svc.IngestReader(ctx, req, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2500 || len(res.Extents) < 3 {
		t.Fatalf("rows %d extents %d", res.Rows, len(res.Extents))
	}
	for _, x := range e.extents("DB", "T") {
		if !strings.Contains(strings.Join(x.Tags, ","), "ingest-by:batch-1") || !strings.Contains(strings.Join(x.Tags, ","), "drop-by:x") {
			t.Fatalf("extent tags %v", x.Tags)
		}
	}
	// The same ingest-by tag again is skipped.
	res, err = e.svc.IngestReader(ctx, req, bytes.NewReader(data))
	if err != nil || !res.Skipped || res.Rows != 0 {
		t.Fatalf("second ingestion: %+v %v", res, err)
	}
	if e.count("DB", "T") != 2500 {
		t.Fatal("ingestIfNotExists must skip the whole source")
	}
}

func TestBatchingByCountAndTime(t *testing.T) {
	e := newEnv(t, Options{DefaultBatching: BatchingPolicy{MaxDelay: time.Hour, MaxItems: 3}})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	// Three items seal a batch by count: all three land in one extent.
	done := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func(i int) {
			_, err := e.svc.IngestQueued(ctx, Request{Database: "DB", Table: "T", Source: "s.csv", OperationKind: KindStreaming},
				bytes.NewReader(telemetryCSV(2, t0.Add(time.Duration(i)*time.Minute))))
			done <- err
		}(i)
	}
	for i := 0; i < 3; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if ext := e.extents("DB", "T"); len(ext) != 1 || ext[0].RowCount != 6 {
		t.Fatalf("extents %+v, want one of 6 rows", ext)
	}

	// A table policy of 200 ms seals by time; the request returns only after the commit.
	if err := e.store.SetPolicy(ctx, "DB", "T", storage.PolicyIngestionBatching,
		`{"MaximumBatchingTimeSpan":"00:00:00.2","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":1024}`); err != nil {
		t.Fatal(err)
	}
	if p := e.svc.Batching("DB", "T"); p.MaxDelay != 200*time.Millisecond || p.MaxItems != 500 {
		t.Fatalf("effective policy %+v", p)
	}
	start := time.Now()
	if _, err := e.svc.IngestQueued(ctx, Request{Database: "DB", Table: "T", Source: "s.csv"}, bytes.NewReader(telemetryCSV(1, t0))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 5*time.Second {
		t.Fatalf("time-sealed batch took %v, want about 200ms", took)
	}
	if e.count("DB", "T") != 7 {
		t.Fatal("acknowledged row not committed")
	}

	// With the streaming policy enabled, a request commits at once.
	if err := e.store.SetPolicy(ctx, "DB", "", storage.PolicyStreamingIngestion, `{"IsEnabled":true}`); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPolicy(ctx, "DB", "T", storage.PolicyIngestionBatching,
		`{"MaximumBatchingTimeSpan":"00:10:00"}`); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := e.svc.IngestQueued(ctx, Request{Database: "DB", Table: "T", Source: "s.csv"}, bytes.NewReader(telemetryCSV(1, t0))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("streaming commit took %v", took)
	}
}

func TestDefaultBatchingShowsDataWithinSeconds(t *testing.T) {
	if DefaultBatching.MaxDelay > 2*time.Second {
		t.Fatalf("odx's default batching delay %v is too long for a new user", DefaultBatching.MaxDelay)
	}
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	start := time.Now()
	if _, err := e.svc.IngestQueued(context.Background(), Request{Database: "DB", Table: "T", Source: "s.csv"}, bytes.NewReader(telemetryCSV(1, t0))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("default batch took %v", took)
	}
}

func TestBatchingBySize(t *testing.T) {
	// An hour and 500 items would never seal in a test; 100 bytes does at once.
	e := newEnv(t, Options{DefaultBatching: BatchingPolicy{MaxDelay: time.Hour, MaxItems: 500, MaxBytes: 100}})
	e.table("DB", "T", telemetry)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.IngestQueued(context.Background(), Request{Database: "DB", Table: "T", Source: "s.csv"}, bytes.NewReader(telemetryCSV(5, t0)))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a batch over MaximumRawDataSizeMB must seal at once")
	}
	if e.count("DB", "T") != 5 {
		t.Fatal("rows not committed")
	}
}

// brokenReader yields its data, then fails as a dropped connection does.
type brokenReader struct {
	r   io.Reader
	err error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

// A source that breaks while it is read keeps the extents committed before
// the break, not the rows of the extent it broke in, and says so.
func TestSourceBrokenMidwayKeepsWholeExtentsOnly(t *testing.T) {
	e := newEnv(t, Options{ChunkRows: 1000})
	e.table("DB", "T", telemetry)
	data := telemetryCSV(2500, t0)
	cut := bytes.Index(data[len(data)*9/10:], []byte("\n")) + len(data)*9/10 + 1 // in the third extent, at a line's end
	src := &brokenReader{r: bytes.NewReader(data[:cut]), err: errors.New("connection reset by peer")}
	res, err := e.svc.IngestReader(context.Background(), Request{Database: "DB", Table: "T", Source: "big.csv"}, src)
	if err == nil || !strings.Contains(err.Error(), "connection reset by peer") || !strings.Contains(err.Error(), "stopped after 2000 rows") {
		t.Fatalf("got %v", err)
	}
	if res.Rows != 2000 || len(res.Extents) != 2 || e.count("DB", "T") != 2000 {
		t.Fatalf("result rows %d, extents %d, table rows %d; want the two whole extents", res.Rows, len(res.Extents), e.count("DB", "T"))
	}
}

// When extents commit overlapped, a commit that fails after reading all of
// its rows (the last extent's, say at COMMIT) is returned, not waited on
// twice.
func TestOverlappedCommitFailureIsReturned(t *testing.T) {
	e := newEnv(t, Options{ChunkRows: 1000})
	e.table("DB", "T", telemetry)
	req := e.svc.normalise(Request{Database: "DB", Table: "T", Source: "big.csv"})
	tg, err := e.svc.resolve(req)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("COMMIT failed")
	for _, failing := range []int32{1, 2, 3} { // 2500 rows: extents of 1000, 1000 and 500
		var n atomic.Int32
		commit := func(x *extentParts) error {
			k := n.Add(1)
			for {
				rows, err := x.next()
				if err != nil {
					return err
				}
				if rows == nil {
					break
				}
			}
			if k == failing {
				return boom
			}
			return nil
		}
		done := make(chan error, 1)
		go func() {
			done <- e.svc.streamExtents(context.Background(), req, tg, bytes.NewReader(telemetryCSV(2500, t0)), overlapAll, commit)
		}()
		select {
		case err := <-done:
			if !errors.Is(err, boom) {
				t.Fatalf("extent %d failing: got %v", failing, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("extent %d failing: streamExtents did not return", failing)
		}
	}
}
