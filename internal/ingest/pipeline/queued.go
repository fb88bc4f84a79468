package pipeline

import (
	"context"
	"io"

	"odx/internal/columnar"
	"odx/internal/ingest/format"
	"odx/internal/kerr"
	"odx/internal/storage"
)

// IngestQueued ingests a small payload (a streaming request) the way a
// queued item is: it is decoded and bound at once, so that bad data is
// answered immediately, then committed with the other items of its table's
// current batch (ingestionbatching policy), or at once when the table's
// streamingingestion policy is enabled. It returns after the commit: what
// it acknowledges is durable.
func (s *Service) IngestQueued(ctx context.Context, req Request, r io.Reader) (Result, error) {
	req = s.normalise(req)
	res := Result{OperationID: req.OperationID}
	if req.Props != nil {
		res.Warnings = req.Props.Warnings()
	}
	t, err := s.resolve(req)
	if err != nil {
		return res, s.failSource(ctx, req, &res, err)
	}
	counted := &countingReader{r: r}
	blocks, fails, err := s.decodeAll(ctx, req, t, counted)
	if err != nil {
		return res, s.failSource(ctx, req, &res, err)
	}
	res.Failures = fails
	rows := columnar.RowCount(blocks)
	if rows == 0 {
		if len(fails) == 0 {
			return res, s.failSource(ctx, req, &res, kerr.New(kerr.BadRequest, format.CodeNoRecords,
				"the request holds no records in format %s; check the data and the streamFormat parameter", t.format))
		}
		if err := s.store.RecordFailures(ctx, fails); err != nil {
			return res, err
		}
		return res, kerr.New(kerr.BadRequest, firstCode(fails), "no record could be ingested: %s", fails[0].Details)
	}
	raw := req.RawSize
	if raw == 0 {
		raw = counted.n
	}
	var info storage.ExtentInfo
	if s.Streaming(req.Database, req.Table) {
		info, err = s.commitBlocks(ctx, req.Database, req.Table, blocks, fails, req.Source)
	} else {
		var bt *batch
		bt, err = s.batches.add(req.Database, req.Table, blocks, fails, raw)
		if err == nil {
			info, err = bt.wait(ctx)
		}
	}
	if err != nil {
		return res, err
	}
	res.Rows = int64(rows)
	res.Extents = []storage.ExtentInfo{info}
	return res, nil
}

// decodeAll decodes and binds a whole source in memory.
func (s *Service) decodeAll(ctx context.Context, req Request, t *target, r io.Reader) ([]*columnar.Block, []storage.IngestionFailure, error) {
	var blocks []*columnar.Block
	var fails []storage.IngestionFailure
	err := s.stream(ctx, req, t, r, func(c []*columnar.Block, f []storage.IngestionFailure) error {
		blocks = append(blocks, c...)
		fails = append(fails, f...)
		return nil
	})
	return blocks, fails, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
