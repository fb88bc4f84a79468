package storage

// Ingestion bookkeeping owned by the ingestion pipeline (internal/ingest/pipeline):
// the failures `.show ingestion failures` lists and the source positions of
// data connections. Both live in odx_meta of the same DuckDB file, so that a
// data connection's positions commit in the same transaction as its rows.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"odx/internal/engine"
)

// FailureRetention is how long ingestion failures are kept, as in ADX (14 days).
const FailureRetention = 14 * 24 * time.Hour

var ingestionDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS odx_meta`,
	`CREATE TABLE IF NOT EXISTS odx_meta.ingestion_failures (
		operation_id VARCHAR NOT NULL, database_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
		failed_on TIMESTAMP_NS NOT NULL, source_path VARCHAR NOT NULL, details VARCHAR NOT NULL,
		failure_kind VARCHAR NOT NULL, root_activity_id VARCHAR NOT NULL, operation_kind VARCHAR NOT NULL,
		from_update_policy BOOLEAN NOT NULL, error_code VARCHAR NOT NULL, principal VARCHAR NOT NULL,
		user_name VARCHAR NOT NULL, ingestion_properties VARCHAR NOT NULL, number_of_sources INTEGER NOT NULL,
		should_retry BOOLEAN NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.connection_positions (
		connection VARCHAR NOT NULL, partition_id INTEGER NOT NULL, next_offset BIGINT NOT NULL,
		updated TIMESTAMP_NS NOT NULL, PRIMARY KEY (connection, partition_id))`,
}

// EnsureIngestionTables creates the tables of ingestion failures and
// connection positions when they do not exist. The pipeline calls it when it
// starts; calling it again is harmless.
func (s *Store) EnsureIngestionTables(ctx context.Context) error {
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		for _, q := range ingestionDDL {
			if _, err := tx.Exec(q); err != nil {
				return fmt.Errorf("cannot create ingestion bookkeeping tables: %w", err)
			}
		}
		return nil
	})
}

// IngestionFailure is one row of `.show ingestion failures`, with ADX's columns.
type IngestionFailure struct {
	OperationID                string
	Database, Table            string
	FailedOn                   time.Time
	IngestionSourcePath        string
	Details                    string
	FailureKind                string // Permanent or Transient
	RootActivityID             string
	OperationKind              string // DataIngestPull, DataIngestStreaming, DataConnection...
	OriginatesFromUpdatePolicy bool
	ErrorCode                  string
	Principal                  string
	User                       string
	IngestionProperties        string
	NumberOfSources            int32
	ShouldRetry                bool
}

// InsertFailuresTx writes failures inside tx (so that they commit with the
// rows of the same ingestion, or not at all).
func InsertFailuresTx(tx *engine.Tx, failures []IngestionFailure) error {
	for _, f := range failures {
		if f.FailedOn.IsZero() {
			f.FailedOn = time.Now()
		}
		if f.FailureKind == "" {
			f.FailureKind = "Permanent"
		}
		if f.NumberOfSources == 0 {
			f.NumberOfSources = 1
		}
		_, err := tx.Exec(`INSERT INTO odx_meta.ingestion_failures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.OperationID, f.Database, f.Table, f.FailedOn.UTC(), f.IngestionSourcePath, f.Details, f.FailureKind,
			f.RootActivityID, f.OperationKind, f.OriginatesFromUpdatePolicy, f.ErrorCode, f.Principal, f.User,
			f.IngestionProperties, f.NumberOfSources, f.ShouldRetry)
		if err != nil {
			return fmt.Errorf("cannot record ingestion failure: %w", err)
		}
	}
	return nil
}

// RecordFailures stores failures in their own transaction (for ingestions
// that committed no rows) and drops failures older than FailureRetention.
func (s *Store) RecordFailures(ctx context.Context, failures []IngestionFailure) error {
	if len(failures) == 0 {
		return nil
	}
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		if _, err := tx.Exec(`DELETE FROM odx_meta.ingestion_failures WHERE failed_on < ?`, s.now().UTC().Add(-FailureRetention)); err != nil {
			return err
		}
		return InsertFailuresTx(tx, failures)
	})
}

// FailureFilter selects failures; empty fields match anything.
type FailureFilter struct {
	Databases   []string // nil: every database
	OperationID string
	Limit       int // 0: no limit
}

// ListFailures returns recorded failures, newest first.
func (s *Store) ListFailures(ctx context.Context, f FailureFilter) ([]IngestionFailure, error) {
	conds := []string{"failed_on >= ?"}
	args := []any{s.now().UTC().Add(-FailureRetention)}
	if f.Databases != nil {
		conds = append(conds, "list_contains(?::VARCHAR[], database_name)")
		args = append(args, f.Databases)
	}
	if f.OperationID != "" {
		conds = append(conds, "lower(operation_id) = lower(?)")
		args = append(args, f.OperationID)
	}
	q := `SELECT operation_id, database_name, table_name, failed_on, source_path, details, failure_kind, root_activity_id,
		operation_kind, from_update_policy, error_code, principal, user_name, ingestion_properties, number_of_sources, should_retry
		FROM odx_meta.ingestion_failures WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY failed_on DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []IngestionFailure
	err := queryAll(ctx, s.db, q, func(v []any) error {
		x := IngestionFailure{OperationID: str(v[0]), Database: str(v[1]), Table: str(v[2]), FailedOn: tm(v[3]),
			IngestionSourcePath: str(v[4]), Details: str(v[5]), FailureKind: str(v[6]), RootActivityID: str(v[7]),
			OperationKind: str(v[8]), ErrorCode: str(v[10]), Principal: str(v[11]), User: str(v[12]), IngestionProperties: str(v[13])}
		x.OriginatesFromUpdatePolicy, _ = v[9].(bool)
		n, _ := v[14].(int32)
		x.NumberOfSources = n
		x.ShouldRetry, _ = v[15].(bool)
		out = append(out, x)
		return nil
	}, args...)
	return out, err
}

// SourcePosition is the next offset to read on one partition of a data
// connection's source.
type SourcePosition struct {
	Partition  int32
	NextOffset int64
}

// PutPositionsTx records source positions of a data connection inside tx
// (Store.Ingest's Extra), so they commit with the rows they cover. A
// position never moves backwards: two commits racing on one partition leave
// the larger offset. All partitions go in one upsert: DuckDB spends ~3 ms of
// CPU on each ON CONFLICT statement, so one per partition cost a commit of
// a few hundred rows more than its rows. Positions of one partition are
// merged first (keeping the largest), since one statement cannot update a
// row twice.
func PutPositionsTx(tx *engine.Tx, connection string, positions []SourcePosition) error {
	if len(positions) == 0 {
		return nil
	}
	next := make(map[int32]int64, len(positions))
	order := make([]int32, 0, len(positions))
	for _, p := range positions {
		if at, ok := next[p.Partition]; !ok {
			order = append(order, p.Partition)
			next[p.Partition] = p.NextOffset
		} else if p.NextOffset > at {
			next[p.Partition] = p.NextOffset
		}
	}
	conn, now := strings.ToLower(connection), time.Now().UTC()
	var sql strings.Builder
	sql.WriteString(`INSERT INTO odx_meta.connection_positions VALUES `)
	args := make([]any, 0, 4*len(order))
	for i, p := range order {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?)")
		args = append(args, conn, p, next[p], now)
	}
	sql.WriteString(` ON CONFLICT (connection, partition_id) DO UPDATE SET next_offset = greatest(next_offset, excluded.next_offset), updated = excluded.updated`)
	if _, err := tx.Exec(sql.String(), args...); err != nil {
		return fmt.Errorf("cannot record positions of partitions %v: %w", order, err)
	}
	return nil
}

// CommitBookkeeping writes positions and failures in one transaction without
// rows (an ingestion whose items all failed still advances its positions).
func (s *Store) CommitBookkeeping(ctx context.Context, connection string, positions []SourcePosition, failures []IngestionFailure) error {
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		if err := PutPositionsTx(tx, connection, positions); err != nil {
			return err
		}
		return InsertFailuresTx(tx, failures)
	})
}

// Positions loads the committed positions of a connection: next offset per partition.
func (s *Store) Positions(ctx context.Context, connection string) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := queryAll(ctx, s.db, `SELECT partition_id, next_offset FROM odx_meta.connection_positions WHERE connection = ?`, func(v []any) error {
		p, _ := v[0].(int32)
		n, _ := v[1].(int64)
		out[p] = n
		return nil
	}, strings.ToLower(connection))
	return out, err
}

// DeletePositions forgets a connection's positions (when it is deleted).
func (s *Store) DeletePositions(ctx context.Context, connection string) error {
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		_, err := tx.Exec(`DELETE FROM odx_meta.connection_positions WHERE connection = ?`, strings.ToLower(connection))
		return err
	})
}
