// Package engine is odx's only door to DuckDB: it opens the database file,
// runs SQL with arguments, streams rows as plain Go values, and appends rows in
// bulk. Nothing else in odx imports the DuckDB driver, so everything above this
// package stays free of cgo and of the driver's value types.
package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// DB is an open DuckDB database file.
type DB struct {
	connector *duckdb.Connector
	sql       *sql.DB
}

// Options tunes the database at open time.
type Options struct {
	// MemoryLimit caps DuckDB's buffer pool, e.g. "4GB"; empty keeps DuckDB's default (80% of RAM).
	MemoryLimit string
	// Threads caps DuckDB's worker threads; 0 keeps DuckDB's default (all cores).
	Threads int
	// CheckpointThreshold is the size of write-ahead log at which DuckDB
	// folds committed rows into the database file, e.g. "256MB"; empty
	// takes DefaultCheckpointThreshold.
	CheckpointThreshold string
}

// DefaultCheckpointThreshold replaces DuckDB's own 16MB. Streaming
// ingestion commits small batches, which DuckDB logs in full; at 16MB it
// checkpointed every few commits, inside the committing transaction, and
// each checkpoint rewrote the table's last, partly filled row group again.
// 256MB took the Event Hub benchmark from 9.5-10.6 to 7.1-7.5 µs of CPU
// per event; a restart after a crash replays at most 256MB of log (about
// 2.6 s on a 2-core machine).
const DefaultCheckpointThreshold = "256MB"

// Open opens (or creates) the database file at path; path "" is an in-memory database.
func Open(path string, opts Options) (*DB, error) {
	connector, err := duckdb.NewConnector(path, func(execer driver.ExecerContext) error {
		// Every session works in UTC: Kusto has no time zones, and DuckDB's ICU
		// extension would otherwise use the machine's zone for timestamptz casts.
		boot := []string{"SET TimeZone='UTC'"}
		for _, q := range boot {
			if _, err := execer.ExecContext(context.Background(), q, nil); err != nil {
				return fmt.Errorf("cannot configure duckdb session (%s): %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open database %q: %w", path, err)
	}
	db := &DB{connector: connector, sql: sql.OpenDB(connector)}
	if err := db.registerFunctions(); err != nil {
		db.Close()
		return nil, err
	}
	if opts.MemoryLimit != "" {
		if _, err := db.sql.Exec("SET memory_limit=" + quoteString(opts.MemoryLimit)); err != nil {
			db.Close()
			return nil, fmt.Errorf("cannot set memory_limit: %w", err)
		}
	}
	if opts.CheckpointThreshold == "" {
		opts.CheckpointThreshold = DefaultCheckpointThreshold
	}
	if _, err := db.sql.Exec("SET checkpoint_threshold=" + quoteString(opts.CheckpointThreshold)); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot set checkpoint_threshold to %q (a size such as 256MB): %w", opts.CheckpointThreshold, err)
	}
	if opts.Threads > 0 {
		if _, err := db.sql.Exec(fmt.Sprintf("SET threads=%d", opts.Threads)); err != nil {
			db.Close()
			return nil, fmt.Errorf("cannot set threads: %w", err)
		}
	}
	return db, nil
}

// Close checkpoints and closes the database.
func (d *DB) Close() error {
	err := d.sql.Close()
	if cerr := d.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// Exec runs a statement and returns the number of affected rows.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.sql.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Query runs a query and streams its rows. The caller must Close the result.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return newRows(rows)
}

// Begin starts a transaction on one dedicated connection.
func (d *DB) Begin(ctx context.Context) (*Tx, error) {
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, err
	}
	return &Tx{conn: conn, ctx: ctx}, nil
}

// InTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Tx is a transaction bound to one connection. Not safe for concurrent use.
type Tx struct {
	conn *sql.Conn
	ctx  context.Context
	done bool
}

// Exec runs a statement inside the transaction.
func (t *Tx) Exec(query string, args ...any) (int64, error) {
	res, err := t.conn.ExecContext(t.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Query runs a query inside the transaction. The caller must Close the result
// before the next statement on the transaction.
func (t *Tx) Query(query string, args ...any) (*Rows, error) {
	rows, err := t.conn.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return newRows(rows)
}

// Commit commits the transaction and releases its connection.
func (t *Tx) Commit() error {
	if t.done {
		return errors.New("engine: transaction already finished")
	}
	t.done = true
	_, err := t.conn.ExecContext(t.ctx, "COMMIT")
	if err != nil {
		t.conn.ExecContext(context.Background(), "ROLLBACK")
	}
	t.conn.Close()
	return err
}

// Rollback abandons the transaction; it is a no-op after Commit.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	_, err := t.conn.ExecContext(context.Background(), "ROLLBACK")
	t.conn.Close()
	return err
}

// Rows streams a result set. Values are normalised to plain Go values:
// nil, bool, int8..int64, uint8..uint64, float32/64, string, time.Time,
// *big.Int (HUGEINT), Decimal, UUID, Interval, []any (LIST), map[string]any
// (STRUCT, JSON object) and the scalar JSON values.
type Rows struct {
	rows    *sql.Rows
	columns []Column
	vals    []any
	ptrs    []any
}

// Column describes a result column as DuckDB reports it.
type Column struct {
	Name string
	Type string // DuckDB type name, e.g. BIGINT, TIMESTAMP_NS, JSON, DECIMAL(38,10)
}

func newRows(rows *sql.Rows) (*Rows, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &Rows{rows: rows, columns: make([]Column, len(cts)), vals: make([]any, len(cts)), ptrs: make([]any, len(cts))}
	for i, ct := range cts {
		r.columns[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// Columns lists the result's columns.
func (r *Rows) Columns() []Column { return r.columns }

// Next advances to the next row; it returns false at the end or on error (see Err).
func (r *Rows) Next() bool { return r.rows.Next() }

// Values returns the current row. The slice is reused by the next call to Next.
func (r *Rows) Values() ([]any, error) {
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, err
	}
	for i, v := range r.vals {
		r.vals[i] = normalise(v)
	}
	return r.vals, nil
}

// Err reports the error that ended iteration, if any.
func (r *Rows) Err() error { return r.rows.Err() }

// Close releases the result.
func (r *Rows) Close() error { return r.rows.Close() }

// Decimal is an exact decimal number: Value × 10^-Scale.
type Decimal struct {
	Value *big.Int
	Scale uint8
}

// String prints the decimal without trailing fraction zeros.
func (d Decimal) String() string {
	s := d.Value.String()
	if d.Scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= int(d.Scale) {
		s = "0" + s
	}
	intPart, frac := s[:len(s)-int(d.Scale)], strings.TrimRight(s[len(s)-int(d.Scale):], "0")
	if frac != "" {
		intPart += "." + frac
	}
	if neg {
		intPart = "-" + intPart
	}
	return intPart
}

// UUID is a 16-byte GUID.
type UUID [16]byte

// String prints the UUID in lowercase 8-4-4-4-12 form.
func (u UUID) String() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(b[:])
}

// Interval is DuckDB's INTERVAL.
type Interval struct {
	Months, Days int32
	Micros       int64
}

func normalise(v any) any {
	switch x := v.(type) {
	case duckdb.Decimal:
		return Decimal{Value: x.Value, Scale: x.Scale}
	case duckdb.UUID:
		return UUID(x)
	case duckdb.Interval:
		return Interval{Months: x.Months, Days: x.Days, Micros: x.Micros}
	case []byte:
		if len(x) == 16 {
			// DuckDB hands UUID columns back as 16 raw bytes; BLOB columns are not used by odx.
			var u UUID
			copy(u[:], x)
			return u
		}
		return append([]byte(nil), x...)
	}
	return v
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Conn is one dedicated connection outside any explicit transaction: what
// it creates as TEMP lives until Close, invisible to other connections.
type Conn struct {
	conn *sql.Conn
	ctx  context.Context
}

// Conn reserves a connection; the caller must Close it.
func (d *DB) Conn(ctx context.Context) (*Conn, error) {
	c, err := d.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{conn: c, ctx: ctx}, nil
}

// Exec runs a statement on the connection.
func (c *Conn) Exec(query string, args ...any) (int64, error) {
	res, err := c.conn.ExecContext(c.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Query runs a query on the connection; Close the result before the next statement.
func (c *Conn) Query(query string, args ...any) (*Rows, error) {
	rows, err := c.conn.QueryContext(c.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return newRows(rows)
}

// Close returns the connection to the pool.
func (c *Conn) Close() error { return c.conn.Close() }
