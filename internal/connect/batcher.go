package connect

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// ADX's default ingestion batching policy, used when the Sink reports a
// zero field.
const (
	DefaultMaxDelay = 5 * time.Minute
	DefaultMaxItems = 500
	DefaultMaxBytes = int64(1024) << 20
)

// Batcher turns a stream of partition events into Sink commits, exactly
// once: events are grouped per target table and flushed by the table's
// batching policy, and every commit carries the positions it advances to.
//
// Commits hold one table each while a partition may interleave tables, so a
// commit takes from each partition only the run of events, from the last
// committed position, that belong to its table (or were routing failures):
// after any commit, every event before a partition's position is committed
// and none after it is. A flush therefore commits table after table until
// nothing is pending.
//
// A Batcher is not safe for concurrent use; the connector serialises calls.
type Batcher struct {
	conn   string
	sink   Sink
	stats  *Stats
	log    *slog.Logger
	now    func() time.Time
	parts  map[int32]*partQueue
	tables map[tableKey]*tableBatch
}

type tableKey struct{ database, table string }

type partQueue struct {
	next      int64 // next offset expected; -1 when unknown (no position yet)
	committed int64 // position stored with the rows; -1 when none
	entries   []entry
}

// entry is one event read and not yet committed. An entry that is not
// routed failed routing: it only waits for the position to move past it.
type entry struct {
	offset int64
	table  tableKey
	routed bool
	size   int64
	item   Item // by value: one allocation less per event
}

type tableBatch struct {
	count  int
	bytes  int64
	first  time.Time
	policy BatchingPolicy
}

// NewBatcher makes a batcher for a connection (its lower-case id).
func NewBatcher(connection string, sink Sink, stats *Stats, log *slog.Logger) *Batcher {
	if stats == nil {
		stats = NewStats()
	}
	if log == nil {
		log = slog.Default()
	}
	return &Batcher{conn: connection, sink: sink, stats: stats, log: log, now: time.Now,
		parts: map[int32]*partQueue{}, tables: map[tableKey]*tableBatch{}}
}

// Assign starts tracking a partition this consumer now owns, from its
// committed position (-1 when it has none).
func (b *Batcher) Assign(p int32, committed int64) {
	b.Revoke(p) // a re-assigned partition starts over from its position
	b.parts[p] = &partQueue{next: committed, committed: committed}
	b.stats.Assigned(p, committed)
}

// Revoke forgets a partition and whatever of it is not committed: its new
// owner reads it again from the committed position. Flush first to keep
// the work done.
func (b *Batcher) Revoke(p int32) {
	q := b.parts[p]
	if q == nil {
		return
	}
	for i := range q.entries {
		if e := &q.entries[i]; e.routed {
			b.tables[e.table].count--
			b.tables[e.table].bytes -= e.size
		}
	}
	for k, t := range b.tables {
		if t.count <= 0 {
			delete(b.tables, k)
		}
	}
	delete(b.parts, p)
	b.stats.Revoked(p)
}

// Owned lists the partitions the batcher tracks.
func (b *Batcher) Owned() []int32 {
	out := make([]int32, 0, len(b.parts))
	for p := range b.parts {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Accept reports whether an event should be processed: its partition is
// owned and the event was not seen before (a re-fetch after a rebalance
// can return events already taken).
func (b *Batcher) Accept(p int32, offset int64) bool {
	q := b.parts[p]
	return q != nil && (q.next < 0 || offset >= q.next)
}

// Add queues a routed event (after Accept). It reports whether the
// event's table reached its policy's item or size limit, in which case the
// caller should Flush before adding more (ADX seals a batch at the limit).
func (b *Batcher) Add(it Item) (full bool) {
	p, off := it.Event.Partition, it.Event.Offset
	q := b.parts[p]
	k := tableKey{it.Route.Database, it.Route.Table}
	t := b.tables[k]
	if t == nil {
		t = &tableBatch{first: b.now(), policy: effectivePolicy(b.sink.Policy(k.database, k.table))}
		b.tables[k] = t
	}
	size := int64(len(it.Event.Body))
	t.count++
	t.bytes += size
	q.entries = append(q.entries, entry{offset: off, table: k, routed: true, size: size, item: it})
	q.next = off + 1
	return t.count >= t.policy.MaxItems || t.bytes >= t.policy.MaxBytes
}

// Skip records an event that failed routing (after Accept): it is not
// ingested, and the partition's position moves past it with the next commit.
func (b *Batcher) Skip(p int32, offset int64, msg string) {
	q := b.parts[p]
	q.entries = append(q.entries, entry{offset: offset})
	q.next = offset + 1
	b.stats.Failed(p, msg, b.now())
}

func effectivePolicy(p BatchingPolicy) BatchingPolicy {
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxItems <= 0 {
		p.MaxItems = DefaultMaxItems
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	return p
}

// Pending is the number of routed events waiting for a commit.
func (b *Batcher) Pending() int {
	n := 0
	for _, t := range b.tables {
		n += t.count
	}
	return n
}

// Wait is how long until some table's batch is due: 0 when one is due now,
// and max when nothing is pending.
func (b *Batcher) Wait(max time.Duration) time.Duration {
	now := b.now()
	wait := max
	for _, t := range b.tables {
		if t.count >= t.policy.MaxItems || t.bytes >= t.policy.MaxBytes {
			return 0
		}
		d := t.first.Add(t.policy.MaxDelay).Sub(now)
		if d <= 0 {
			return 0
		}
		wait = min(wait, d)
	}
	return wait
}

// Due reports whether some table's batch should be committed now.
func (b *Batcher) Due() bool { return len(b.tables) > 0 && b.Wait(time.Hour) == 0 }

// Flush commits everything pending, one commit per table run (see
// Batcher). On error nothing of the failed commit is stored; the earlier
// commits of this flush are, and the batcher stays consistent with them,
// but the caller should start over from the committed positions.
func (b *Batcher) Flush(ctx context.Context) error {
	for {
		k, ok := b.headTable()
		if !ok {
			return nil
		}
		if err := b.commitTable(ctx, k); err != nil {
			return err
		}
	}
}

// headTable picks the table of the first routed event at the head of a
// partition (after routing failures), lowest partition first.
func (b *Batcher) headTable() (tableKey, bool) {
	for _, p := range b.Owned() {
		q := b.parts[p]
		for i := range q.entries {
			if q.entries[i].routed {
				return q.entries[i].table, true
			}
		}
	}
	return tableKey{}, false
}

type run struct {
	p     int32
	n     int // entries taken from the head of the queue
	items int
	bytes int64
}

func (b *Batcher) commitTable(ctx context.Context, k tableKey) error {
	c := Commit{Connection: b.conn, Items: make([]Item, 0, b.tables[k].count)}
	var runs []run
	for _, p := range b.Owned() {
		q := b.parts[p]
		r := run{p: p}
		for i := range q.entries {
			e := &q.entries[i]
			if e.routed && e.table != k {
				break
			}
			r.n++
			if e.routed {
				c.Items = append(c.Items, e.item)
				r.items++
				r.bytes += e.size
			}
		}
		if r.n > 0 {
			c.Positions = append(c.Positions, Position{Partition: p, NextOffset: q.entries[r.n-1].offset + 1})
			runs = append(runs, r)
		}
	}
	rep, err := b.sink.Ingest(ctx, c)
	if err != nil {
		return fmt.Errorf("ingesting %d events into table %s.%s failed, nothing of it was committed: %w", len(c.Items), k.database, k.table, err)
	}
	now := b.now()
	t := b.tables[k]
	for i, r := range runs {
		q := b.parts[r.p]
		q.entries = slices.Delete(q.entries, 0, r.n)
		q.committed = c.Positions[i].NextOffset
		b.stats.Committed(r.p, q.committed, int64(r.items), r.bytes, now)
		t.count -= r.items
		t.bytes -= r.bytes
	}
	if t.count <= 0 {
		delete(b.tables, k)
	}
	b.attributeFailures(c, rep.Failures, now)
	return nil
}

// attributeFailures counts the Sink's failures against the partitions whose
// items they name (failure messages carry the item's Source).
func (b *Batcher) attributeFailures(c Commit, failures []string, now time.Time) {
	for _, msg := range failures {
		p := int32(-1)
		for _, it := range c.Items {
			if it.Source != "" && strings.Contains(msg, it.Source) {
				p = it.Event.Partition
				break
			}
		}
		if p < 0 && len(c.Items) > 0 {
			// The sink did not name the item; charge the commit's first partition.
			p = c.Items[0].Event.Partition
		}
		b.stats.Failed(p, msg, now)
	}
}

// Positions are the committed positions of the owned partitions (those
// with one), for mirroring to the broker.
func (b *Batcher) Positions() map[int32]int64 {
	out := map[int32]int64{}
	for p, q := range b.parts {
		if q.committed >= 0 {
			out[p] = q.committed
		}
	}
	return out
}
