package connect

import (
	"context"
	"io"
	"time"
)

// Blob-based connections (Event Grid) do not fit Commit: a blob can be
// gigabytes, so its content cannot ride in an Item's Body, and a blob
// announced twice must be ingested once, so the blob's identity has to be
// committed with its rows next to the notification position. BlobSink is the
// optional Sink extension that does both; the Event Grid connector requires
// it from the Sink it is given.

// Blob is one blob announced by a notification, routed for ingestion.
type Blob struct {
	Connection string // the data connection's ARM id (lower case)
	// Route: Database, Table, Format, Mapping, Tags. Compression is "none",
	// "gzip" or "zip" (from the blob name's extension).
	Route             Route
	IgnoreFirstRecord bool
	CreationTime      time.Time // kustoCreationTime; zero means the ingestion time
	// URL names the blob (no secrets): the failures' IngestionSourcePath and
	// the extents' source.
	URL string
	// Identity is what makes two notifications the same blob: its URL and
	// ETag. A blob rewritten under the same name is a new blob.
	Identity string
	Size     int64 // stored (possibly compressed) bytes
	RawSize  int64 // uncompressed bytes (rawSizeBytes metadata, else an estimate)
	// Open streams the content from its start. The sink may call it more
	// than once (never concurrently).
	Open func(ctx context.Context) (io.ReadCloser, error)
	// ReadErr reports, after a failed ingestion, whether the content itself
	// could not be read (storage outage, connection reset): such a blob is
	// not at fault and must be retried, not recorded as a failure. Nil
	// means every error is the blob's.
	ReadErr func() error
	// Position is a notification position committed with the blob's last
	// rows (never one past a notification whose blobs are not all
	// committed). NextOffset < 0 commits none: the connector then moves
	// the position itself (a position-only Commit) once every blob before
	// it is committed; a crash in between re-reads notifications whose
	// blobs are recognised by their identity.
	Position Position
	// Reject, when set, is why the connector will not ingest the blob (a
	// routing error, over the size limit, gone from storage): the sink
	// records it as the blob's failure with its identity and the position,
	// without opening the blob.
	Reject *RouteError
	// Source is the notification's origin for logs: "<namespace>/<hub>/partition <p>/offset <o>".
	Source string
}

// BlobReport says what IngestBlob did.
type BlobReport struct {
	Rows int64
	// Duplicate: the blob's identity was committed before (a repeated
	// notification); nothing was ingested, the position still advanced.
	Duplicate bool
	// Failure is set when the blob could not be ingested (unreadable,
	// unparsable, no table, too large): the failure, naming the blob's URL,
	// is recorded for `.show ingestion failures` and committed with the
	// blob's identity and the position, so it is never retried.
	Failure string
	// RecordFailures are records of a blob that were skipped while the rest
	// was ingested.
	RecordFailures []string
}

// BlobSink ingests blobs exactly once. IngestBlob streams the content,
// decodes and maps it, and commits rows, the blob's identity and
// b.Position together. A blob large enough to be committed in several
// extents records how far it got with each, so that after a crash the next
// IngestBlob of the same identity resumes after the committed rows instead
// of ingesting them again. A returned error means the last step was not
// committed (store busy, content unreadable per b.ReadErr): call again later.
type BlobSink interface {
	IngestBlob(ctx context.Context, b Blob) (BlobReport, error)
}
