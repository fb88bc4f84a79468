package connectcmd

import (
	"odx/internal/kql/types"
	"odx/internal/result"
)

// BlobCounts is what a connection that ingests blobs (Event Grid) did with
// the blobs announced to it since odx started.
type BlobCounts struct {
	Pending  int64 // announced, not committed yet
	Ingested int64 // committed with their rows
	Failed   int64 // recorded as ingestion failures
}

// blobColumns follow the connection columns; they are null for
// connections that do not ingest blobs.
var blobColumns = []result.Column{
	col("BlobsPending", types.Long), col("BlobsIngested", types.Long), col("BlobsFailed", types.Long),
}

// blobValues are a connection's blob columns.
func (c Command) blobValues(id string) []any {
	if c.Blobs != nil {
		if b, ok := c.Blobs(id); ok {
			return []any{b.Pending, b.Ingested, b.Failed}
		}
	}
	return []any{nil, nil, nil}
}
