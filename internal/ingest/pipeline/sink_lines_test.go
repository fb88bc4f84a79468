package pipeline

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"odx/internal/connect"
	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// Decoding runs of one-line JSON events as one source gives, event by
// event, exactly the rows, record errors and failures that decoding each
// event alone gives: for clean runs, for runs with bad events (decoded
// again one by one), and around events that cannot join a run.
func TestSinkLinesMatchPerEventDecoding(t *testing.T) {
	e := newEnv(t, Options{})
	cols := []schema.Column{{Name: "Enqueued", Type: types.DateTime}, {Name: "Offset", Type: types.String},
		{Name: "Seq", Type: types.Long}, {Name: "Device", Type: types.String}, {Name: "Tags", Type: types.Dynamic}}
	e.table("DB", "T", cols)
	ctx := context.Background()
	err := e.store.PutMapping(ctx, storage.Mapping{Database: "DB", Table: "T", Kind: "json", Name: "m",
		Text: `[{"column":"Enqueued","Properties":{"Path":"$.x-opt-enqueued-time"}},{"column":"Offset","Properties":{"Path":"$.x-opt-offset"}},
		{"column":"Seq","Properties":{"Path":"$.Seq"}},{"column":"Device","Properties":{"Path":"$.Device"}},{"column":"Tags","Properties":{"Path":"$.Tags"}}]`},
		storage.MappingCreateOrAlter)
	if err != nil {
		t.Fatal(err)
	}
	enq := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	body := func(i int) string {
		switch i % 97 {
		case 5:
			return fmt.Sprintf(`{"Seq":"not a number %d","Device":"d"}`, i) // a value error: null, reported
		case 17:
			return `{"Seq":` // malformed: the event fails
		case 29:
			return fmt.Sprintf("{\"Seq\":%d}\n{\"Seq\":%d}", i, i+1) // two records in one event
		case 41:
			return "\xEF\xBB\xBF" + fmt.Sprintf(`{"Seq":%d}`, i) // a byte order mark
		case 53:
			return "   " // no records
		case 65:
			return fmt.Sprintf(`{"Seq":%d} {"Seq":%d}`, i, i) // two values on one line
		}
		return fmt.Sprintf(`{"Seq":%d,"Device":"device-%04d","Tags":{"env":"prod","n":%d}}`, i, i%100, i)
	}
	items := testEvents(4000, connect.Route{Database: "DB", Table: "T", Format: "json", Mapping: "m"}, body, func(i int, it *connect.Item) {
		switch {
		case i%7 == 3:
			it.SystemProperties = []connect.SystemProperty{{Name: "x-opt-enqueued-time", Value: enq}, {Name: "x-opt-offset", Value: fmt.Sprint(i)}}
		case i%211 == 100:
			it.Route.Format, it.Route.Mapping = "csv", "" // another route breaks the run
			it.Event.Body = []byte(fmt.Sprintf("%v,%d,%d,x,{}", enq.Format(time.RFC3339), i, i))
		case i%13 == 0:
			it.Route.Encoding = "utf-8"
		}
	})

	decoded := checkRunsMatchEvents(t, e, items)

	// The runs really are decoded as one source: a clean run is, a run
	// with a bad event is refused (and decoded event by event).
	checkRunTaken(t, decoded[0].target, format.NewJSONShape(), items[0:4], items[15:19])
}

// testEvents are n events of one route with bodies body(i), each one
// changed by vary (other properties, another route), spread over three
// partitions and named by partition and offset.
func testEvents(n int, route connect.Route, body func(int) string, vary func(int, *connect.Item)) []connect.Item {
	items := make([]connect.Item, n)
	for i := range items {
		items[i] = connect.Item{Route: route,
			Event:  connect.Event{Partition: int32(i % 3), Offset: int64(i), Body: []byte(body(i))},
			Source: fmt.Sprintf("ns/hub/partition %d/offset %d", i%3, i)}
		vary(i, &items[i])
	}
	return items
}

// checkRunsMatchEvents decodes items as the sink does (runs where they
// fit) and fails unless every event's rows, record errors and failure are
// those of decoding it alone. It returns the decoded items.
func checkRunsMatchEvents(t *testing.T, e *env, items []connect.Item) []decodedItem {
	t.Helper()
	sink := e.svc.Sink()
	decoded := make([]decodedItem, len(items))
	targets := map[routeKey]*target{}
	for i := range items {
		decoded[i].target, decoded[i].err = sink.target(targets, "DB", "T", &items[i])
		if decoded[i].err != nil {
			t.Fatalf("event %d: %v", i, decoded[i].err)
		}
	}
	decodeRange(items, decoded)
	for i := range items {
		blocks, errs, err := decodeItem(decoded[i].target, format.NewJSONShape(), &items[i])
		rows := itemRows(decodedItem{blocks: blocks})
		got := decoded[i]
		if fmt.Sprint(err) != fmt.Sprint(got.err) || !reflect.DeepEqual(errs, got.errs) || !reflect.DeepEqual(rows, itemRows(got)) {
			t.Fatalf("event %d (%q): decoded in a run\n rows %v\n errs %v\n err %v\nalone\n rows %v\n errs %v\n err %v",
				i, items[i].Event.Body, itemRows(got), got.errs, got.err, rows, errs, err)
		}
	}
	return decoded
}

// checkRunTaken fails unless the clean events decode as one source and
// the events with a bad one among them do not.
func checkRunTaken(t *testing.T, tg *target, shape *format.JSONShape, clean, bad []connect.Item) {
	t.Helper()
	var l lineDecoder
	out := make([]decodedItem, len(clean))
	if !l.targetFits(tg) || !l.decode(tg, shape, clean, out) || len(itemRows(out[len(out)-1])) != 1 {
		t.Fatalf("a clean run of one-line %s events was not decoded as one source", tg.format)
	}
	if l.decode(tg, shape, bad, make([]decodedItem, len(bad))) {
		t.Fatalf("a run with a bad %s event was decoded as one source", tg.format)
	}
}

// itemRows are a decoded event's rows, boxed.
func itemRows(d decodedItem) [][]any {
	var rows [][]any
	if d.shared != nil {
		rows = d.shared.Slice(d.row, d.row+1).Rows()
	}
	for _, blk := range d.blocks {
		rows = append(rows, blk.Rows()...)
	}
	return rows
}

// The same for one-line CSV-family events: quotes, open quotes, differing
// field counts, value errors, system properties prepended as fields.
func TestSinkCSVLinesMatchPerEventDecoding(t *testing.T) {
	e := newEnv(t, Options{})
	cols := []schema.Column{{Name: "Device", Type: types.String}, {Name: "Enqueued", Type: types.DateTime},
		{Name: "Seq", Type: types.Long}, {Name: "Note", Type: types.String}, {Name: "Extra", Type: types.String}}
	e.table("DB", "T", cols)
	enq := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	body := func(i int) string {
		switch i % 97 {
		case 5:
			return fmt.Sprintf(`d,%s,not a number %d,x`, enq.Format(time.RFC3339), i) // a value error
		case 17:
			return fmt.Sprintf(`d,%s,%d,"an open quote`, enq.Format(time.RFC3339), i) // swallows the next line in a run
		case 29:
			return fmt.Sprintf("d,,%d\nd,,%d", i, i+1) // two records in one event
		case 41:
			return "\xEF\xBB\xBF" + fmt.Sprintf(`d,,%d`, i) // a byte order mark
		case 53:
			return "   " // blank
		case 65:
			return fmt.Sprintf(`d,,%d,"quoted, with a comma and ""quotes""",x,y,z`, i) // more fields
		case 77:
			return fmt.Sprintf(`d,,%d`, i) // fewer fields than the first event of its run
		case 89:
			return fmt.Sprintf(`d,,%d,"opens`, i) // in a run, the next event closes it: one record, no error
		case 90:
			return `closes",x`
		}
		return fmt.Sprintf(`device-%04d,%s,%d,"note %d",x`, i%100, enq.Format(time.RFC3339), i, i)
	}
	items := testEvents(4000, connect.Route{Database: "DB", Table: "T", Format: "csv"}, body, func(i int, it *connect.Item) {
		switch {
		case i%7 == 3:
			// Prepended: the device id as the first field, the record's own fields after it.
			it.SystemProperties = []connect.SystemProperty{{Name: "iothub-connection-device-id", Value: fmt.Sprint("sys-", i)}}
			it.Event.Body = []byte(fmt.Sprintf(`%s,%d,n,x`, enq.Format(time.RFC3339), i))
		case i%211 == 100:
			it.Route.Format = "psv" // another route breaks the run
			it.Event.Body = []byte(fmt.Sprintf("d|%s|%d|a,b|x", enq.Format(time.RFC3339), i))
		case i%13 == 0:
			it.Route.Encoding = "utf-8"
		}
	})
	decoded := checkRunsMatchEvents(t, e, items)

	checkRunTaken(t, decoded[0].target, nil, items[0:4], items[113:117]) // 114 has the open quote
}
