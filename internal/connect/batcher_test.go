package connect_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
)

func item(p int32, off int64, table string) connect.Item {
	return connect.Item{
		Route:  connect.Route{Database: "db", Table: table, Format: "csv"},
		Event:  connect.Event{Partition: p, Offset: off, Body: []byte(fmt.Sprintf("%d/%d", p, off))},
		Source: fmt.Sprintf("ns/hub/partition %d/offset %d", p, off),
	}
}

// Interleaved tables on one partition: every commit holds one table and
// only runs that start at the committed position, so the positions never
// claim an event that is not committed.
// The same holds when the commits run in the background (a Preparer sink).
func TestBatcherInterleavedTables(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelined=%v", pipelined), func(t *testing.T) { testInterleavedTables(t, pipelined) })
	}
}

func testInterleavedTables(t *testing.T, pipelined bool) {
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 100, MaxBytes: 1 << 20})
	var into connect.Sink = sink
	if pipelined {
		into = connecttest.Preparing(sink)
	}
	b := connect.NewBatcher("conn", into, nil, nil)
	b.Assign(0, 10)
	b.Assign(1, -1)
	tables := []string{"A", "A", "B", "A", "B", "B"}
	for i, tb := range tables {
		off := int64(10 + i)
		if !b.Accept(0, off) {
			t.Fatalf("offset %d refused", off)
		}
		b.Add(item(0, off, tb))
	}
	b.Add(item(1, 0, "B"))
	b.Skip(1, 1, "bad format")
	b.Add(item(1, 2, "A"))
	if b.Accept(0, 12) {
		t.Fatal("an offset already taken was accepted again")
	}
	if b.Due() {
		t.Fatal("due before any limit")
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := sink.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	commits := sink.Commits()
	var shape []string
	for _, c := range commits {
		s := c.Items[0].Route.Table + ":"
		for _, it := range c.Items {
			s += fmt.Sprintf(" %d/%d", it.Event.Partition, it.Event.Offset)
		}
		for _, p := range c.Positions {
			s += fmt.Sprintf(" p%d→%d", p.Partition, p.NextOffset)
		}
		shape = append(shape, s)
	}
	want := []string{
		"A: 0/10 0/11 p0→12",
		"B: 0/12 1/0 p0→13 p1→2", // the failed event 1/1 rides along
		"A: 0/13 1/2 p0→14 p1→3",
		"B: 0/14 0/15 p0→16",
	}
	if fmt.Sprint(shape) != fmt.Sprint(want) {
		t.Fatalf("commits\n%v\nwant\n%v", shape, want)
	}
	if b.Pending() != 0 {
		t.Fatalf("%d pending after flush", b.Pending())
	}
}

func TestBatcherPolicyAndErrors(t *testing.T) {
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 3, MaxBytes: 1 << 20})
	sink.SetPolicy("db", "Small", connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 100, MaxBytes: 10})
	stats := connect.NewStats()
	b := connect.NewBatcher("conn", sink, stats, nil)
	b.Assign(0, 0)
	b.Add(item(0, 0, "T"))
	if b.Add(item(0, 1, "T")) || b.Due() {
		t.Fatal("full or due at 2 of 3 items")
	}
	if !b.Add(item(0, 2, "T")) {
		t.Fatal("Add does not report the full batch")
	}
	if !b.Due() || b.Wait(time.Second) != 0 {
		t.Fatal("not due at MaxItems")
	}
	sink.FailNext(1, errors.New("disk full"))
	if err := b.Flush(t.Context()); err == nil {
		t.Fatal("sink error not returned")
	}
	if len(sink.Commits()) != 0 || b.Pending() != 3 {
		t.Fatalf("after a failed commit: %d commits, %d pending", len(sink.Commits()), b.Pending())
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	pos, _ := sink.Positions(t.Context(), "conn")
	if pos[0] != 3 {
		t.Fatalf("position %d", pos[0])
	}

	b.Add(item(0, 3, "Small")) // body "0/3": 3 bytes
	if b.Due() {
		t.Fatal("due under MaxBytes")
	}
	b.Add(item(0, 4, "Small"))
	b.Add(item(0, 5, "Small"))
	b.Add(item(0, 6, "Small")) // 12 bytes ≥ 10
	if !b.Due() {
		t.Fatal("not due at MaxBytes")
	}

	b.Revoke(0)
	if b.Pending() != 0 || b.Accept(0, 7) {
		t.Fatal("a revoked partition is still tracked")
	}
}

func TestBatcherMaxDelay(t *testing.T) {
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: 50 * time.Millisecond, MaxItems: 100, MaxBytes: 1 << 20})
	b := connect.NewBatcher("conn", sink, nil, nil)
	b.Assign(0, -1)
	if w := b.Wait(time.Second); w != time.Second {
		t.Fatalf("idle wait %v", w)
	}
	b.Add(item(0, 5, "T"))
	if w := b.Wait(time.Second); w <= 0 || w > 50*time.Millisecond {
		t.Fatalf("wait %v", w)
	}
	time.Sleep(60 * time.Millisecond)
	if !b.Due() {
		t.Fatal("not due after MaxDelay")
	}
}

// With ADX's aggregation an item is up to EventItemBytes of events: 500
// small events are one item, not 500, and a batch seals on the policy's
// items only once that many megabytes are pending. A commit never holds
// more than odx's bound of events, whatever the policy allows.
func TestBatcherAggregatedItemsAndCommitBound(t *testing.T) {
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 2, MaxBytes: 1 << 30})
	b := connect.NewBatcher("conn", sink, nil, nil)
	b.AggregateItems(connect.EventItemBytes)
	b.Assign(0, 0)
	for off := range int64(500) {
		if b.Add(item(0, off, "T")) {
			t.Fatalf("full after %d small events with 2 items of 1 MB allowed", off+1)
		}
	}
	big := item(0, 500, "T")
	big.Event.Body = make([]byte, connect.EventItemBytes) // now more than 1 MB: a second item
	if !b.Add(big) || !b.Due() {
		t.Fatal("not full at two items' worth of bytes")
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := sink.Commits(); len(c) != 1 || len(c[0].Items) != 501 {
		t.Fatalf("commits %d, want one of 501 events", len(sink.Commits()))
	}

	// The commit bound: 32Ki small events, far under the policy's limits.
	bound := connect.NewBatcher("conn2", connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 500, MaxBytes: 1 << 30}), nil, nil)
	bound.AggregateItems(connect.EventItemBytes)
	bound.Assign(0, 0)
	n := 0
	for off := int64(0); ; off++ {
		n++
		if bound.Add(item(0, off, "T")) {
			break
		}
		if n > 1<<20 {
			t.Fatal("no commit bound")
		}
	}
	if n != 32*1024 {
		t.Fatalf("full after %d events, want 32768", n)
	}
}
