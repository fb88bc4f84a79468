package connect_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
)

// With a Preparer sink, Submit returns while the commit is still being
// stored: the connector reads on. Positions advance only once the commit
// is stored and collected, and commits are stored in order.
func TestBatcherSubmitInBackground(t *testing.T) {
	mem := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 3, MaxBytes: 1 << 20})
	sink := connecttest.Preparing(mem)
	stats := connect.NewStats()
	b := connect.NewBatcher("conn", sink, stats, nil)
	b.Assign(0, 0)
	b.Assign(1, 0)
	release := sink.Hold()
	defer release()
	for off := range int64(3) {
		b.Add(item(0, off, "T"))
	}
	if err := b.Submit(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The second batch, on another partition, is decoded while the first
	// waits to be stored.
	for off := range int64(3) {
		b.Add(item(1, off, "T"))
	}
	if err := b.Submit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b.Pending() != 0 || b.Due() {
		t.Fatalf("submitted events still pending (%d)", b.Pending())
	}
	if !b.Accept(0, 3) || b.Accept(0, 2) {
		t.Fatal("Accept after Submit: the next offset must be taken, a submitted one not")
	}
	connecttest.Eventually(t, 5*time.Second, func() bool { return sink.Prepared() == 2 }, func() string {
		return fmt.Sprintf("%d commits prepared while the first is not stored, want 2", sink.Prepared())
	})
	if err := b.Collect(); err != nil {
		t.Fatal(err)
	}
	if pos := b.Positions(); pos[0] != 0 || pos[1] != 0 || len(mem.Commits()) != 0 {
		t.Fatalf("positions %v and %d commits before any store", pos, len(mem.Commits()))
	}
	release()
	if err := b.Settle(); err != nil {
		t.Fatal(err)
	}
	if v := mem.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	commits := mem.Commits()
	if len(commits) != 2 || commits[0].Items[0].Event.Partition != 0 || commits[1].Items[0].Event.Partition != 1 {
		t.Fatalf("commits out of order: %+v", commits)
	}
	if pos := b.Positions(); pos[0] != 3 || pos[1] != 3 {
		t.Fatalf("positions after the stores: %v", pos)
	}
	if !stats.Progressed() {
		t.Fatal("the stored commits are not in the connection's statistics")
	}
}

// A background commit that fails stores nothing, and neither does any
// commit after it (its positions would skip the failed events): the
// batcher reports the error from then on, and the connector starts over
// from the committed positions.
func TestBatcherPipelinedFailure(t *testing.T) {
	mem := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 2, MaxBytes: 1 << 20})
	sink := connecttest.Preparing(mem)
	b := connect.NewBatcher("conn", sink, nil, nil)
	b.Assign(0, 0)
	b.Add(item(0, 0, "T"))
	b.Add(item(0, 1, "T"))
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := sink.Hold()
	mem.FailNext(1, errors.New("disk full"))
	b.Add(item(0, 2, "T"))
	b.Add(item(0, 3, "T"))
	if err := b.Submit(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.Add(item(0, 4, "T"))
	b.Add(item(0, 5, "T"))
	if err := b.Submit(t.Context()); err != nil {
		t.Fatal(err)
	}
	release()
	err := b.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush after a failed background commit: %v", err)
	}
	if n := len(mem.Commits()); n != 1 {
		t.Fatalf("%d commits stored, want only the first (the one after the failure must not be stored)", n)
	}
	if pos, _ := mem.Positions(t.Context(), "conn"); pos[0] != 2 {
		t.Fatalf("stored position %d, want 2", pos[0])
	}
	if b.Positions()[0] != 2 {
		t.Fatalf("batcher position %d, want 2", b.Positions()[0])
	}
	b.Add(item(0, 6, "T"))
	if err := b.Submit(t.Context()); err == nil {
		t.Fatal("a broken batcher accepted a new commit")
	}
	if v := mem.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}
