package pipeline

import (
	"context"
	"sync"
	"time"

	"odx/internal/columnar"
	"odx/internal/engine"
	"odx/internal/kerr"
	"odx/internal/storage"
)

// batcher groups queued items per table and commits each group as one
// extent when the table's batching policy says so (time, count or size,
// whichever comes first). Callers wait for the commit of their batch: an
// item is acknowledged only once it is durable.
type batcher struct {
	s       *Service
	mu      sync.Mutex
	pending map[string]*batch
	wg      sync.WaitGroup
	closed  bool
}

// batch is one group of items for one table.
type batch struct {
	db, table string
	blocks    []*columnar.Block
	fails     []storage.IngestionFailure
	items     int
	bytes     int64
	timer     *time.Timer
	done      chan struct{} // closed after the commit
	info      storage.ExtentInfo
	err       error
}

func newBatcher(s *Service) *batcher {
	return &batcher{s: s, pending: map[string]*batch{}}
}

// add queues the rows of one item (rawBytes of source data) for db.table
// and returns the batch to wait on.
func (b *batcher) add(db, table string, blocks []*columnar.Block, fails []storage.IngestionFailure, rawBytes int64) (*batch, error) {
	pol := b.s.Batching(db, table)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, kerr.New(kerr.Unavailable, "ServiceUnavailable", "odx is shutting down; retry the ingestion")
	}
	key := db + "\x00" + table
	bt := b.pending[key]
	if bt == nil {
		bt = &batch{db: db, table: table, done: make(chan struct{})}
		b.pending[key] = bt
		bt.timer = time.AfterFunc(pol.MaxDelay, func() { b.seal(key, bt) })
	}
	bt.blocks = append(bt.blocks, blocks...)
	bt.fails = append(bt.fails, fails...)
	bt.items++
	bt.bytes += rawBytes
	if bt.items >= pol.MaxItems || bt.bytes >= pol.MaxBytes {
		b.sealLocked(key, bt)
	}
	return bt, nil
}

func (b *batcher) seal(key string, bt *batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sealLocked(key, bt)
}

// sealLocked takes bt out of the pending set (if it is still there) and
// commits it in the background.
func (b *batcher) sealLocked(key string, bt *batch) {
	if b.pending[key] != bt {
		return // already sealed by count, size or close
	}
	delete(b.pending, key)
	bt.timer.Stop()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		bt.info, bt.err = b.s.commitBlocks(context.Background(), bt.db, bt.table, bt.blocks, bt.fails, "streaming")
		bt.blocks = nil
		close(bt.done)
	}()
}

// wait blocks until the batch committed; a cancelled ctx stops the waiting,
// not the commit.
func (bt *batch) wait(ctx context.Context) (storage.ExtentInfo, error) {
	select {
	case <-bt.done:
		return bt.info, bt.err
	case <-ctx.Done():
		return storage.ExtentInfo{}, kerr.New(kerr.Timeout, kerr.CodeTimeout,
			"the request ended before its batch was committed; the data will still be ingested when the batch seals")
	}
}

// close seals every pending batch and waits for the commits.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	for key, bt := range b.pending {
		b.sealLocked(key, bt)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// commitBlocks commits rows as one extent with their failures; with no
// rows only the failures are recorded.
func (s *Service) commitBlocks(ctx context.Context, db, table string, blocks []*columnar.Block, fails []storage.IngestionFailure, source string) (storage.ExtentInfo, error) {
	if columnar.RowCount(blocks) == 0 {
		return storage.ExtentInfo{Database: db, Table: table}, s.store.RecordFailures(ctx, fails)
	}
	b := storage.IngestBatch{Database: db, Table: table, Blocks: blocks, Source: source}
	if len(fails) > 0 {
		b.Extra = func(tx *engine.Tx) error { return storage.InsertFailuresTx(tx, fails) }
	}
	return s.store.Ingest(ctx, b)
}
