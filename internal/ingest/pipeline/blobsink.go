package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"odx/internal/columnar"
	"odx/internal/connect"
	"odx/internal/engine"
	"odx/internal/ingest/format"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/storage"
)

// IngestBlob implements connect.BlobSink for Event Grid data connections.
//
// The blob is streamed through the same decode/map path as `.ingest into`
// and committed in extents of at most ChunkRows rows. Every extent's
// transaction also records the blob's identity with the rows committed so
// far; the last one marks it done and carries the notification position.
// So: a blob already done is a duplicate (only the position moves); a blob
// interrupted by a crash resumes after its committed rows (decoding is
// deterministic for the same content, which the identity's ETag pins).
func (c *ConnectionSink) IngestBlob(ctx context.Context, b connect.Blob) (connect.BlobReport, error) {
	var rep connect.BlobReport
	if err := c.ensureBlobTable(ctx); err != nil {
		return rep, err
	}
	st := c.s.store
	var positions []storage.SourcePosition
	if b.Position.NextOffset >= 0 {
		positions = []storage.SourcePosition{{Partition: b.Position.Partition, NextOffset: b.Position.NextOffset}}
	}
	prog, err := st.BlobState(ctx, b.Connection, b.Identity)
	if err != nil {
		return rep, err
	}
	duplicate := func() (connect.BlobReport, error) {
		if err := st.CommitBookkeeping(ctx, b.Connection, positions, nil); err != nil {
			return connect.BlobReport{}, err
		}
		return connect.BlobReport{Duplicate: true}, nil
	}
	if prog.Done {
		return duplicate()
	}
	committed := prog.Rows // rows of this blob committed so far (by earlier, interrupted attempts too)
	req := Request{Database: b.Route.Database, Table: b.Route.Table, Source: b.URL, OperationID: newID(),
		OperationKind: KindDataConnection, Principal: b.Connection, RawSize: b.RawSize}
	// fail records the blob's failure with its identity and the position.
	fail := func(code, msg string) (connect.BlobReport, error) {
		if !strings.Contains(msg, b.URL) {
			msg = b.URL + ": " + msg
		}
		f := c.s.failure(req, code, msg)
		err := st.CommitBlobBookkeeping(ctx, b.Connection, b.Identity, committed, storage.BlobProgress{Rows: committed, Done: true, Failed: true}, positions, []storage.IngestionFailure{f})
		if errors.Is(err, storage.ErrBlobDone) {
			return duplicate()
		}
		if err != nil {
			return connect.BlobReport{}, err
		}
		return connect.BlobReport{Failure: msg, Rows: 0}, nil
	}
	if b.Reject != nil {
		return fail(b.Reject.Code, b.Reject.Message)
	}
	p, err := blobProps(b)
	if err != nil {
		ke := kerr.As(err)
		return fail(ke.Code, ke.Error())
	}
	req.Props = p
	t, err := c.s.resolve(req)
	if err != nil {
		ke := kerr.As(err)
		return fail(ke.Code, ke.Error())
	}
	if b.Open == nil {
		return fail(CodeDownloadFailed, "the connector gave no way to read the blob")
	}
	rc, err := b.Open(ctx)
	if err != nil {
		if b.ReadErr != nil && b.ReadErr() != nil {
			return rep, err // storage trouble, not the blob's fault: retry
		}
		return fail(CodeDownloadNotFound, err.Error())
	}
	defer rc.Close()

	skip := prog.Rows // rows an interrupted earlier attempt committed
	type chunk struct {
		blocks []*columnar.Block
		fails  []storage.IngestionFailure
	}
	var held *chunk // the newest chunk, committed when the next one (or the end) shows it is not/is the last
	commitChunk := func(ch *chunk, last bool) error {
		rows := int64(columnar.RowCount(ch.blocks))
		total := committed + rows
		prg := storage.BlobProgress{Rows: total, Done: last}
		if rows == 0 {
			if !last {
				return nil
			}
			return st.CommitBlobBookkeeping(ctx, b.Connection, b.Identity, committed, prg, positions, ch.fails)
		}
		_, err := st.Ingest(ctx, storage.IngestBatch{Database: req.Database, Table: req.Table, Blocks: ch.blocks, Source: b.URL,
			Tags: t.tags, CreationTime: t.creationTime,
			Extra: func(tx *engine.Tx) error {
				if err := storage.PutBlobTx(tx, b.Connection, b.Identity, committed, prg); err != nil {
					return err
				}
				if last {
					if err := storage.PutPositionsTx(tx, b.Connection, positions); err != nil {
						return err
					}
				}
				return storage.InsertFailuresTx(tx, ch.fails)
			}})
		if err != nil {
			return err
		}
		committed = total
		rep.Rows += rows
		return nil
	}
	var recordFailures []string
	err = c.s.stream(ctx, req, t, rc, func(blocks []*columnar.Block, fails []storage.IngestionFailure) error {
		if skip > 0 {
			blocks, skip = skipRows(blocks, skip)
			if len(blocks) == 0 {
				fails = nil // committed with those rows before
			}
		}
		for _, f := range fails {
			recordFailures = append(recordFailures, f.Details)
		}
		if held != nil {
			if err := commitChunk(held, false); err != nil {
				return err
			}
		}
		held = &chunk{blocks: blocks, fails: fails}
		return nil
	})
	if err != nil {
		if errors.Is(err, storage.ErrBlobDone) {
			return duplicate()
		}
		if b.ReadErr != nil && b.ReadErr() != nil {
			return rep, b.ReadErr() // the storage failed mid-read: resume later
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		var ke *kerr.Error
		if !errors.As(err, &ke) {
			// The store refused the commit (busy, shutting down): retry.
			return rep, err
		}
		if committed > 0 {
			return fail(ke.Code, fmt.Sprintf("%s (ingestion stopped after %d rows, which were kept)", ke.Error(), committed))
		}
		return fail(ke.Code, ke.Error())
	}
	if held == nil && committed == 0 {
		return fail(format.CodeNoRecords, fmt.Sprintf("%s holds no records in format %s; check the data and the format", b.URL, t.format))
	}
	if held == nil {
		held = &chunk{}
	}
	if err := commitChunk(held, true); err != nil {
		if errors.Is(err, storage.ErrBlobDone) {
			return duplicate()
		}
		return connect.BlobReport{}, err
	}
	if rep.Rows == 0 && prog.Rows == 0 {
		// Every record failed: the failures are recorded; say so.
		rep.Failure = fmt.Sprintf("no record of %s could be ingested", b.URL)
		if len(recordFailures) > 0 {
			rep.Failure += ": " + recordFailures[0]
		}
	}
	rep.RecordFailures = recordFailures
	return rep, nil
}

// blobProps turns a blob's route into ingestion properties.
func blobProps(b connect.Blob) (*props.Properties, error) {
	p := &props.Properties{MappingReference: b.Route.Mapping, IgnoreFirstRecord: b.IgnoreFirstRecord,
		Tags: b.Route.Tags, Validation: props.DefaultValidationPolicy}
	if b.Route.Format != "" {
		f, err := format.ParseFormat(b.Route.Format)
		if err != nil {
			return nil, err
		}
		p.Format = f
	}
	comp, err := format.ParseCompression(b.Route.Compression)
	if err != nil {
		return nil, err
	}
	p.Compression = comp
	if !b.CreationTime.IsZero() {
		ct := b.CreationTime
		p.CreationTime = &ct
	}
	return p, nil
}

var blobTables sync.Map // *storage.Store → struct{}: the blob table exists

func (c *ConnectionSink) ensureBlobTable(ctx context.Context) error {
	if _, ok := blobTables.Load(c.s.store); ok {
		return nil
	}
	if err := c.s.store.EnsureBlobTable(ctx); err != nil {
		return err
	}
	blobTables.Store(c.s.store, struct{}{})
	return nil
}

var _ connect.BlobSink = (*ConnectionSink)(nil)

// skipRows drops the first n rows of blocks, returning the rest and how
// many rows are still to skip after them.
func skipRows(blocks []*columnar.Block, n int64) ([]*columnar.Block, int64) {
	for len(blocks) > 0 && n > 0 {
		b := blocks[0]
		if int64(b.Len) > n {
			blocks[0] = b.Slice(int(n), b.Len)
			return blocks, 0
		}
		n -= int64(b.Len)
		blocks = blocks[1:]
	}
	return blocks, n
}
