package connect

import (
	"context"
	"errors"
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

// EventItemBytes is how much of a partition's events ADX's Event Hub and
// IoT Hub connectors aggregate into one blob before queued ingestion
// ("Event Hub response time of 10 seconds or 1 MB"): the batching policy's
// MaximumNumberOfItems counts those blobs, not single events. See
// Batcher.AggregateItems.
const EventItemBytes = int64(1) << 20

// A commit holds at most this many events or bytes of them, whatever the
// policy allows: it is decoded and held in memory whole, and the next one
// is decoded while it is stored. In the end-to-end benchmark 25Ki-event
// commits were faster than 64Ki (which pipeline worse) and used less
// memory; 128Ki-event commits store cheaper per row but doubled the peak
// memory and the latency tail.
const (
	maxCommitEvents = 32 * 1024
	maxCommitBytes  = int64(32) << 20
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
// With a Sink that is a Preparer, commits run in the background (Submit):
// while one commit is stored the next is decoded and the connector reads
// on, so fetching, decoding and storing overlap. Events handed to a
// background commit leave the partition queues at once; their partition's
// position advances when the commit is stored and collected (Collect,
// Flush, Settle). If a background commit fails, none after it is stored and
// the batcher is broken: every later Submit, Collect and Flush returns the
// error, and the connector must start over from the committed positions
// with a new batcher.
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

	prep      Preparer  // nil: commits are synchronous
	inflight  []*flight // background commits, oldest first
	failed    error     // the first background commit that failed
	itemBytes int64     // 0: every event is an item of the policy
}

// maxInFlight bounds the background commits: one being stored while the
// next is decoded. More would hold more events in memory without using a
// core that is idle.
const maxInFlight = 2

// flight is one background commit.
type flight struct {
	k    tableKey
	c    Commit
	runs []run
	done chan struct{} // closed when rep and err are set
	rep  Report
	err  error
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
	b := &Batcher{conn: connection, sink: sink, stats: stats, log: log, now: time.Now,
		parts: map[int32]*partQueue{}, tables: map[tableKey]*tableBatch{}}
	b.prep, _ = sink.(Preparer)
	return b
}

// AggregateItems makes an item of the batching policy up to bytes of
// events, as ADX's connectors aggregate events into blobs before queued
// ingestion (EventItemBytes), instead of each event. With the policy's
// 500 items a batch then seals on its time or size, or at odx's commit
// bound, rather than every 500 events.
func (b *Batcher) AggregateItems(bytes int64) { b.itemBytes = bytes }

// Assign starts tracking a partition this consumer now owns, from its
// committed position (-1 when it has none).
func (b *Batcher) Assign(p int32, committed int64) {
	b.Revoke(p) // a re-assigned partition starts over from its position
	b.parts[p] = &partQueue{next: committed, committed: committed}
	b.stats.Assigned(p, committed)
}

// Revoke forgets a partition and whatever of it is not committed: its new
// owner reads it again from the committed position. Flush first to keep
// the work done. Background commits are waited for first, so that a
// position loaded after Revoke (a re-assignment) includes them.
func (b *Batcher) Revoke(p int32) {
	b.Settle()
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
	return b.full(t)
}

// full reports whether a table's batch must be committed now: the policy's
// item or size limit, or odx's bound on one commit.
func (b *Batcher) full(t *tableBatch) bool {
	items := t.count
	if b.itemBytes > 0 && t.count > 0 {
		items = int((t.bytes + b.itemBytes - 1) / b.itemBytes)
	}
	return items >= t.policy.MaxItems || t.bytes >= t.policy.MaxBytes ||
		t.count >= maxCommitEvents || t.bytes >= maxCommitBytes
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
		if b.full(t) {
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
// Batcher), and waits for the background commits. On error nothing of the
// failed commit is stored; the earlier commits are, and the batcher stays
// consistent with them, but the caller should start over from the
// committed positions (with a Preparer sink the batcher is broken).
func (b *Batcher) Flush(ctx context.Context) error {
	if b.prep != nil {
		if err := b.Submit(ctx); err != nil {
			b.Settle()
			return err
		}
		return b.Settle()
	}
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

// Submit hands everything pending to background commits (one per table
// run, see Batcher) and returns without waiting for them to be stored; at
// most maxInFlight are in the background, so Submit waits for the oldest
// when the pipeline is full. It returns the error of a background commit
// that failed. With a Sink that is not a Preparer it is Flush.
func (b *Batcher) Submit(ctx context.Context) error {
	if b.prep == nil {
		return b.Flush(ctx)
	}
	if err := b.Collect(); err != nil {
		return err
	}
	for {
		k, ok := b.headTable()
		if !ok {
			return nil
		}
		for len(b.inflight) >= maxInFlight {
			<-b.inflight[0].done
			b.finish()
		}
		if b.failed != nil {
			return b.failed
		}
		c, runs := b.gather(k)
		b.dequeue(k, runs)
		f := &flight{k: k, c: c, runs: runs, done: make(chan struct{})}
		var prev *flight
		if n := len(b.inflight); n > 0 {
			prev = b.inflight[n-1]
		}
		b.inflight = append(b.inflight, f)
		// A background commit is not cut short when the connection stops:
		// Run waits for it (Settle), and a commit is bounded by the batch.
		go f.run(context.WithoutCancel(ctx), b, prev)
	}
}

// run prepares the commit at once and stores it after its predecessor. It
// touches only f and the batcher's concurrency-safe parts (sink, stats).
func (f *flight) run(ctx context.Context, b *Batcher, prev *flight) {
	defer close(f.done)
	p, err := b.prep.Prepare(ctx, f.c)
	if prev != nil {
		<-prev.done
		if prev.err != nil {
			f.err = errors.New("not stored because an earlier commit of the connection failed")
			return
		}
	}
	if err != nil {
		f.err = err
		return
	}
	if f.rep, f.err = p.Store(ctx); f.err == nil {
		b.count(f.c, f.runs, f.rep)
	}
}

// Collect records the background commits that are stored (positions,
// statistics, failures) without waiting for the others, and returns the
// error of one that failed.
func (b *Batcher) Collect() error {
	for len(b.inflight) > 0 {
		select {
		case <-b.inflight[0].done:
			b.finish()
		default:
			return b.failed
		}
	}
	return b.failed
}

// Settle waits for every background commit, records them and returns the
// error of one that failed. A connector calls it before it stops, so that
// its next run loads positions no commit is still changing.
func (b *Batcher) Settle() error {
	for len(b.inflight) > 0 {
		<-b.inflight[0].done
		b.finish()
	}
	return b.failed
}

// finish records the oldest background commit, which is done.
func (b *Batcher) finish() {
	f := b.inflight[0]
	b.inflight[0] = nil
	b.inflight = b.inflight[1:]
	if f.err != nil {
		if b.failed == nil {
			b.failed = commitFailed(f.k, f.c, f.err)
		}
		return
	}
	b.committed(f.c, f.runs)
}

// gather builds the commit of table k: from each partition, the run of
// entries at its head that belong to k or failed routing.
func (b *Batcher) gather(k tableKey) (Commit, []run) {
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
	return c, runs
}

// dequeue takes a commit's runs off the partition queues and its items off
// the table's pending counts.
func (b *Batcher) dequeue(k tableKey, runs []run) {
	t := b.tables[k]
	for _, r := range runs {
		q := b.parts[r.p]
		// The commit holds copies of the items. Deleting (rather than
		// reslicing) keeps the queue's array for the next events, and
		// clears the freed slots so they do not keep event bodies alive.
		q.entries = slices.Delete(q.entries, 0, r.n)
		t.count -= r.items
		t.bytes -= r.bytes
	}
	if t.count <= 0 {
		delete(b.tables, k)
	}
}

// committed records a stored commit's positions.
func (b *Batcher) committed(c Commit, runs []run) {
	for i, r := range runs {
		if q := b.parts[r.p]; q != nil { // else revoked since
			q.committed = c.Positions[i].NextOffset
		}
	}
}

// count records a stored commit in the connection's statistics. Stats is
// safe for concurrent use, so a background commit counts itself as soon as
// it is stored (the batcher collects its positions later).
func (b *Batcher) count(c Commit, runs []run, rep Report) {
	now := b.now()
	for i, r := range runs {
		b.stats.Committed(r.p, c.Positions[i].NextOffset, int64(r.items), r.bytes, now)
	}
	b.attributeFailures(c, rep.Failures, now)
}

func (b *Batcher) commitTable(ctx context.Context, k tableKey) error {
	c, runs := b.gather(k)
	rep, err := b.sink.Ingest(ctx, c)
	if err != nil {
		return commitFailed(k, c, err)
	}
	b.dequeue(k, runs)
	b.committed(c, runs)
	b.count(c, runs, rep)
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

// commitFailed is the error of a commit of table k that stored nothing.
func commitFailed(k tableKey, c Commit, err error) error {
	return fmt.Errorf("ingesting %d events into table %s.%s failed, nothing of it was committed: %w", len(c.Items), k.database, k.table, err)
}
