package pipeline

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"odx/internal/connect"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/testutil/cputime"
)

var sinkBenchColumns = []schema.Column{
	{Name: "Seq", Type: types.Long}, {Name: "Device", Type: types.String}, {Name: "Metric", Type: types.String},
	{Name: "Value", Type: types.Real}, {Name: "Unit", Type: types.String}, {Name: "Site", Type: types.String},
	{Name: "Rack", Type: types.String}, {Name: "Tags", Type: types.Dynamic}, {Name: "Note", Type: types.String},
}

const sinkBenchBody = `{"Seq":%d,"Device":"device-%04d","Metric":"temperature","Value":21.5,"Unit":"celsius","Site":"north-campus","Rack":"r12","Tags":{"env":"prod","team":"ops"},"Note":"steady state reading from the benchmark producer, padded to about 300 bytes."}`

// BenchmarkSinkIngest is one data-connection commit of 25,000 JSON events
// of ~240 bytes (the Event Hub end-to-end benchmark's batch) into a
// file-backed store: decode, map and DuckDB commit, without Kafka.
//
//	go test ./internal/ingest/pipeline -run '^$' -bench SinkIngest -benchtime 10x
//
// ODX_BENCH_EVENTS sets another commit size.
func BenchmarkSinkIngest(b *testing.B) {
	events := 25000
	if n, err := strconv.Atoi(os.Getenv("ODX_BENCH_EVENTS")); err == nil && n > 0 {
		events = n
	}
	e := newEnvAt(b, b.TempDir()+"/odx.duckdb", Options{})
	e.table("DB", "T", sinkBenchColumns)
	sink := e.svc.Sink()
	items := sinkBenchItems(events)
	ctx := context.Background()
	cpu0 := cputime.Process()
	b.ResetTimer()
	for n := range b.N {
		rep, err := sink.Ingest(ctx, connect.Commit{Connection: conn, Items: items,
			Positions: []connect.Position{{Partition: 0, NextOffset: int64((n + 1) * events)}}})
		if err != nil || rep.Rows != int64(events) || len(rep.Failures) != 0 {
			b.Fatalf("report %+v, err %v", rep, err)
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	// The machine is shared: events per CPU-second is the steadier figure.
	b.ReportMetric(float64(events*b.N)/(cputime.Process()-cpu0).Seconds(), "events/cpu-s")
}

// BenchmarkSinkPrepare is BenchmarkSinkIngest's decoding and mapping alone
// (connect.Preparer's Prepare, no DuckDB transaction): the part of a commit
// that runs beside the previous commit's Store.
//
//	go test ./internal/ingest/pipeline -run '^$' -bench SinkPrepare -benchmem
func BenchmarkSinkPrepare(b *testing.B) {
	e := newEnvAt(b, b.TempDir()+"/odx.duckdb", Options{})
	e.table("DB", "T", sinkBenchColumns)
	sink := e.svc.Sink()
	items := sinkBenchItems(25000)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := sink.Prepare(ctx, connect.Commit{Connection: conn, Items: items}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(items)*b.N)/(cputime.Process()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(items)*b.N), "ns/event")
}

func sinkBenchItems(events int) []connect.Item {
	items := make([]connect.Item, events)
	for i := range items {
		items[i] = connect.Item{Route: connect.Route{Database: "DB", Table: "T", Format: "json"},
			Event:  connect.Event{Partition: int32(i % 4), Offset: int64(i / 4), Body: fmt.Appendf(nil, sinkBenchBody, i, i%1000)},
			Source: fmt.Sprintf("ns/hub/partition %d/offset %d", i%4, i/4)}
	}
	return items
}
