package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"odx/internal/connect"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

const conn = "/subscriptions/s/resourcegroups/rg/providers/microsoft.kusto/clusters/c/databases/db/dataconnections/eh"

func item(table, format, body string, offset int64, sys ...connect.SystemProperty) connect.Item {
	return connect.Item{Route: connect.Route{Database: "DB", Table: table, Format: format},
		Event:  connect.Event{Partition: 0, Offset: offset, Body: []byte(body)},
		Source: "ns/hub/partition 0/offset " + string(rune('0'+offset)), SystemProperties: sys}
}

func TestSinkCommitsRowsAndPositionsTogether(t *testing.T) {
	path := t.TempDir() + "/odx.duckdb"
	e := newEnvAt(t, path, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	sink := e.svc.Sink()
	rep, err := sink.Ingest(ctx, connect.Commit{Connection: conn,
		Items: []connect.Item{
			item("T", "csv", "2026-01-01T00:00:00Z,a,1,1", 0),
			item("T", "json", `{"Timestamp":"2026-01-01T00:00:01Z","Device":"b","Value":2,"Count":2}`, 1),
			item("T", "json", `{"Count": 3`, 2),     // malformed: a failure, not a blocker
			item("T", "avro", `not avro at all`, 3), // undecodable: a failure
		},
		Positions: []connect.Position{{Partition: 0, NextOffset: 4}, {Partition: 1, NextOffset: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 2 || len(rep.Failures) != 2 {
		t.Fatalf("report %+v, want 2 rows and 2 failures", rep)
	}
	pos, err := sink.Positions(ctx, strings.ToUpper(conn))
	if err != nil || pos[0] != 4 || pos[1] != 10 {
		t.Fatalf("positions %v %v", pos, err)
	}
	// A commit whose items all fail still advances the positions; an older
	// position never moves one back.
	if _, err := sink.Ingest(ctx, connect.Commit{Connection: conn, Items: []connect.Item{item("Missing", "csv", "x", 4)},
		Positions: []connect.Position{{Partition: 0, NextOffset: 5}, {Partition: 1, NextOffset: 3}}}); err != nil {
		t.Fatal(err)
	}
	f, _ := e.store.ListFailures(ctx, storage.FailureFilter{})
	if len(f) != 3 {
		t.Fatalf("failures %+v", f)
	}
	for _, x := range f {
		if x.OperationKind != KindDataConnection || !strings.HasPrefix(x.IngestionSourcePath, "ns/hub/partition 0") {
			t.Fatalf("failure %+v", x)
		}
	}

	// A commit that cannot reach storage leaves nothing behind: no rows, no positions.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sink.Ingest(cancelled, connect.Commit{Connection: conn, Items: []connect.Item{item("T", "csv", "2026-01-01T00:00:00Z,z,9,9", 5)},
		Positions: []connect.Position{{Partition: 0, NextOffset: 6}}}); err == nil {
		t.Fatal("a commit on a cancelled context must fail")
	}

	// Reload from the file: the committed state is exactly what was acknowledged.
	e.svc.Close()
	e.store.Close()
	e2 := newEnvAt(t, path, Options{})
	pos, err = e2.svc.Sink().Positions(ctx, conn)
	if err != nil || pos[0] != 5 || pos[1] != 10 {
		t.Fatalf("positions after reload %v %v", pos, err)
	}
	if n := e2.count("DB", "T"); n != 2 {
		t.Fatalf("rows after reload %d, want 2", n)
	}
}

func TestSinkEmbedsSystemPropertiesAsADX(t *testing.T) {
	e := newEnv(t, Options{})
	cols := []schema.Column{{Name: "Enqueued", Type: types.DateTime}, {Name: "Offset", Type: types.String},
		{Name: "Device", Type: types.String}, {Name: "Count", Type: types.Long}}
	e.table("DB", "T", cols)
	ctx := context.Background()
	put := func(kind, text string) {
		if err := e.store.PutMapping(ctx, storage.Mapping{Database: "DB", Table: "T", Kind: kind, Name: "m", Text: text}, storage.MappingCreateOrAlter); err != nil {
			t.Fatal(err)
		}
	}
	put("csv", `[{"column":"Enqueued","Properties":{"Ordinal":"0"}},{"column":"Offset","Properties":{"Ordinal":"1"}},
		{"column":"Device","Properties":{"Ordinal":"2"}},{"column":"Count","Properties":{"Ordinal":"3"}}]`)
	put("json", `[{"column":"Enqueued","Properties":{"Path":"$.x-opt-enqueued-time"}},{"column":"Offset","Properties":{"Path":"$.x-opt-offset"}},
		{"column":"Device","Properties":{"Path":"$.d"}},{"column":"Count","Properties":{"Path":"$.n"}}]`)
	enq := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	sys := []connect.SystemProperty{{Name: "x-opt-enqueued-time", Value: enq}, {Name: "x-opt-offset", Value: "17"}}
	csvItem := item("T", "csv", "a,1", 0, sys...)
	csvItem.Route.Mapping = "m"
	jsonItem := item("T", "multijson", `[{"d":"b","n":2},{"d":"c","n":3}]`, 1, sys...)
	jsonItem.Route.Mapping = "m"
	gzItem := item("T", "csv", string(gz(t, []byte("z,9"))), 2, sys...)
	gzItem.Route.Mapping, gzItem.Route.Compression = "m", "gzip"
	rep, err := e.svc.Sink().Ingest(ctx, connect.Commit{Connection: conn, Items: []connect.Item{csvItem, jsonItem, gzItem}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "compressed") {
		t.Fatalf("report %+v: want 3 rows and the compressed event refused", rep)
	}
	rows := e.rows("DB", "T", `"Count"`)
	// CSV: properties prepended; JSON: only the first record gets them.
	if !rows[0][0].(time.Time).Equal(enq) || rows[0][1] != "17" || rows[0][2] != "a" {
		t.Fatalf("csv row %v", rows[0])
	}
	if !rows[1][0].(time.Time).Equal(enq) || rows[1][1] != "17" || rows[1][2] != "b" {
		t.Fatalf("first json record %v", rows[1])
	}
	if rows[2][0] != nil || rows[2][1] != "" || rows[2][2] != "c" {
		t.Fatalf("second json record must not carry the properties: %v", rows[2])
	}
	if p := e.svc.Sink().Policy("DB", "T"); p.MaxDelay != DefaultBatching.MaxDelay || p.MaxItems != DefaultBatching.MaxItems {
		t.Fatalf("policy %+v", p)
	}
}

func TestSinkDecodesUTF16AndForgetsPositions(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	// "2026-01-01T00:00:00Z,ü,1,1" in UTF-16 LE with a BOM, as .NET's Encoding.Unicode writes it.
	text := "2026-01-01T00:00:00Z,ü,1,1"
	body := []byte{0xFF, 0xFE}
	for _, r := range text {
		body = append(body, byte(r), byte(r>>8))
	}
	it := item("T", "csv", string(body), 0)
	it.Route.Encoding = "UTF16"
	rep, err := e.svc.Sink().Ingest(ctx, connect.Commit{Connection: conn, Items: []connect.Item{it}, Positions: []connect.Position{{Partition: 0, NextOffset: 1}}})
	if err != nil || rep.Rows != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if rows := e.rows("DB", "T", `"Count"`); rows[0][1] != "ü" {
		t.Fatalf("decoded %q", rows[0][1])
	}
	if err := e.svc.Sink().ForgetPositions(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if pos, _ := e.svc.Sink().Positions(ctx, conn); len(pos) != 0 {
		t.Fatalf("positions after forget: %v", pos)
	}
}
