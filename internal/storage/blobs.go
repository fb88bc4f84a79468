package storage

// Blob bookkeeping of blob-based data connections (Event Grid), next to the
// connection positions: which blobs a connection committed, and how many
// rows of a blob too large for one extent are committed so far. It commits
// in the same transaction as the blob's rows, so a blob announced twice, or
// interrupted half way by a crash, is ingested exactly once.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"odx/internal/engine"
)

// BlobRetention is how long a committed blob is remembered: a notification
// repeated later than this ingests the blob again.
const BlobRetention = 30 * 24 * time.Hour

const blobDDL = `CREATE TABLE IF NOT EXISTS odx_meta.connection_blobs (
	connection VARCHAR NOT NULL, blob VARCHAR NOT NULL, rows_committed BIGINT NOT NULL,
	done BOOLEAN NOT NULL, failed BOOLEAN NOT NULL, updated TIMESTAMP_NS NOT NULL,
	PRIMARY KEY (connection, blob))`

// EnsureBlobTable creates the blob bookkeeping table when it does not exist
// and forgets blobs committed longer than BlobRetention ago.
func (s *Store) EnsureBlobTable(ctx context.Context) error {
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		if _, err := tx.Exec(`CREATE SCHEMA IF NOT EXISTS odx_meta`); err != nil {
			return err
		}
		if _, err := tx.Exec(blobDDL); err != nil {
			return fmt.Errorf("cannot create the blob bookkeeping table: %w", err)
		}
		_, err := tx.Exec(`DELETE FROM odx_meta.connection_blobs WHERE done AND updated < ?`, s.now().UTC().Add(-BlobRetention))
		return err
	})
}

// BlobProgress is what a connection committed of one blob.
type BlobProgress struct {
	Rows   int64 // rows committed so far
	Done   bool  // the blob is complete (ingested or failed)
	Failed bool
}

// BlobState loads a blob's progress (zero when it was never committed).
func (s *Store) BlobState(ctx context.Context, connection, blob string) (BlobProgress, error) {
	var p BlobProgress
	err := queryAll(ctx, s.db, `SELECT rows_committed, done, failed FROM odx_meta.connection_blobs WHERE connection = ? AND blob = ?`,
		func(v []any) error {
			p.Rows, _ = v[0].(int64)
			p.Done, _ = v[1].(bool)
			p.Failed, _ = v[2].(bool)
			return nil
		}, strings.ToLower(connection), blob)
	return p, err
}

// ErrBlobDone is returned by PutBlobTx (and aborts its transaction) when
// the blob was completed by another commit meanwhile.
var ErrBlobDone = errors.New("the blob was already committed")

// ErrBlobMoved is returned by PutBlobTx (and aborts its transaction) when
// another commit of the blob added rows since the caller read its progress:
// the caller must read the progress again and resume from there.
var ErrBlobMoved = errors.New("the blob's progress changed meanwhile")

// PutBlobTx records a blob's progress inside tx (Store.Ingest's Extra),
// after prevRows rows committed before. It fails with ErrBlobDone when the
// blob is complete already and ErrBlobMoved when its committed rows are not
// prevRows, so that two racing commits of one blob never both add rows.
func PutBlobTx(tx *engine.Tx, connection, blob string, prevRows int64, p BlobProgress) error {
	conn := strings.ToLower(connection)
	rows, err := tx.Query(`SELECT done, rows_committed FROM odx_meta.connection_blobs WHERE connection = ? AND blob = ?`, conn, blob)
	if err != nil {
		return err
	}
	done, committed := false, int64(0)
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			rows.Close()
			return err
		}
		done, _ = v[0].(bool)
		committed, _ = v[1].(int64)
	}
	rows.Close()
	if done {
		return ErrBlobDone
	}
	if committed != prevRows {
		return ErrBlobMoved
	}
	_, err = tx.Exec(`INSERT INTO odx_meta.connection_blobs VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (connection, blob) DO UPDATE SET rows_committed = excluded.rows_committed, done = excluded.done,
		failed = excluded.failed, updated = excluded.updated`, conn, blob, p.Rows, p.Done, p.Failed, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("cannot record the progress of blob %s: %w", blob, err)
	}
	return nil
}

// CommitBlobBookkeeping commits a blob's progress, the connection's
// positions and failures without rows (a blob that failed, or whose last
// rows were committed earlier).
func (s *Store) CommitBlobBookkeeping(ctx context.Context, connection, blob string, prevRows int64, p BlobProgress, positions []SourcePosition, failures []IngestionFailure) error {
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		if err := PutBlobTx(tx, connection, blob, prevRows, p); err != nil {
			return err
		}
		if err := PutPositionsTx(tx, connection, positions); err != nil {
			return err
		}
		return InsertFailuresTx(tx, failures)
	})
}

// DeleteConnectionBlobs forgets the blobs of a connection (when it is
// deleted, next to DeletePositions).
func (s *Store) DeleteConnectionBlobs(ctx context.Context, connection string) error {
	if err := s.EnsureBlobTable(ctx); err != nil {
		return err
	}
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		_, err := tx.Exec(`DELETE FROM odx_meta.connection_blobs WHERE connection = ?`, strings.ToLower(connection))
		return err
	})
}
