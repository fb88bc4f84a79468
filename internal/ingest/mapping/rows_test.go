package mapping

import "odx/internal/ingest/format"

// Rows is Block as rows of boxed values, which the tests compare.
func (b *Binder) Rows(batch *format.Batch) (rows [][]any, errs []format.RecordError) {
	blk, errs := b.Block(batch)
	if blk == nil {
		return nil, errs
	}
	return blk.Rows(), errs
}
