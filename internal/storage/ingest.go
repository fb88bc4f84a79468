package storage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"odx/internal/columnar"
	"odx/internal/engine"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
)

// IngestBatch is one ingestion commit: rows that become one extent.
type IngestBatch struct {
	Database, Table string
	// Rows hold one value per table column, in table column order, as Go
	// values: bool, int32 (int), int64 (long), float64 (real), string
	// (decimal), time.Time (datetime), int64 ticks (timespan), string,
	// [16]byte (guid), string JSON text (dynamic); nil is null.
	Rows [][]any
	// Blocks hold the rows by column instead (see columnar.KindOf for each
	// column's kind); when set, Rows is ignored.
	Blocks []*columnar.Block
	// Tags are extent tags, e.g. "ingest-by:x", "drop-by:y".
	Tags []string
	// IngestIfNotExists skips the batch when an extent of the table already
	// carries the tag `ingest-by:<value>` for any of these values.
	IngestIfNotExists []string
	// CreationTime overrides the extent's creation time (retention counts
	// from it); zero means now.
	CreationTime time.Time
	// Source describes where the rows came from, for diagnostics.
	Source string
	// Extra runs inside the commit transaction, after the rows are written
	// (e.g. to store source positions); an error aborts the whole commit.
	Extra func(tx *engine.Tx) error
}

// ExtentInfo describes one extent.
type ExtentInfo struct {
	ID            string // guid; empty when nothing was written
	Database      string
	Table         string
	RowCount      int64
	Size          int64 // estimated bytes
	IngestionTime time.Time
	CreationTime  time.Time
	Tags          []string
	// Skipped is set when IngestIfNotExists found a matching extent.
	Skipped bool
}

const ingestByPrefix = "ingest-by:"

// Ingest commits a batch of rows as one extent: rows, extent record and
// b.Extra in one transaction, retried on write-write conflicts.
func (s *Store) Ingest(ctx context.Context, b IngestBatch) (ExtentInfo, error) {
	t, unlock, err := s.writeTable(b.Database, b.Table, true)
	if err != nil {
		return ExtentInfo{}, err
	}
	defer unlock()

	blocks := b.Blocks
	if blocks == nil && len(b.Rows) > 0 {
		blk, err := columnar.FromRows(columnar.KindsOf(t.columns), b.Rows)
		if err != nil {
			return ExtentInfo{}, kerr.BadRequestf("cannot ingest into table '%s': %v", b.Table, err)
		}
		blocks = []*columnar.Block{blk}
	}
	var info ExtentInfo
	err = s.retryConflicts(ctx, func(tx *engine.Tx) error {
		var err error
		info, err = s.writeExtent(tx, t, b, eachBlock(blocks), true)
		return err
	})
	return info, err
}

// IngestParts is Ingest for rows that arrive in parts, for sources too
// large to hold whole: next returns the next block of the extent's rows and
// nil at its end; b.Rows and b.Blocks are ignored. The rows are
// appended as they come, and the extent is committed, with b.Extra, after
// next ends it; an error from next aborts the whole extent.
//
// Unlike Ingest it does not retry write-write conflicts (the parts are
// consumed): appending new rows conflicts with nothing, and a conflict in
// b.Extra fails the extent, which the caller reports. Several IngestParts
// into one table may run at once (each its own extent).
func (s *Store) IngestParts(ctx context.Context, b IngestBatch, next func() (*columnar.Block, error)) (ExtentInfo, error) {
	// Appending only, it shares the table with other appenders; checking
	// ingest-by tags, it must not race another ingestion of the same tag.
	t, unlock, err := s.writeTable(b.Database, b.Table, len(b.IngestIfNotExists) > 0)
	if err != nil {
		return ExtentInfo{}, err
	}
	defer unlock()

	var info ExtentInfo
	err = s.db.InTx(ctx, func(tx *engine.Tx) error {
		var err error
		info, err = s.writeExtent(tx, t, b, next, false)
		return err
	})
	return info, err
}

// writeExtent is the transaction of Ingest and IngestParts: unless an
// ingest-by tag is there already, the rows next yields become one extent,
// recorded with b's tags and followed by b.Extra. An extent without rows
// is refused unless allowEmpty.
func (s *Store) writeExtent(tx *engine.Tx, t *Table, b IngestBatch, next func() (*columnar.Block, error), allowEmpty bool) (ExtentInfo, error) {
	if skip, err := ingestedAlready(tx, b.Database, b.Table, b.IngestIfNotExists); err != nil || skip {
		return ExtentInfo{Database: b.Database, Table: b.Table, Skipped: skip}, err
	}
	id := engine.UUID(uuid.New())
	var rows, size int64
	var nextErr error // next's own error, returned as it is
	err := appendPhysical(tx, t, id, func() (*columnar.Block, error) {
		for {
			blk, err := next()
			if err == nil && blk != nil && len(blk.Cols) != len(t.columns) {
				err = kerr.BadRequestf("the rows have %d values but table '%s' has %d columns", len(blk.Cols), b.Table, len(t.columns))
			}
			if err != nil {
				nextErr = err
				return nil, err
			}
			if blk == nil {
				return nil, nil
			}
			if blk.Len > 0 {
				rows += int64(blk.Len)
				size += estimateSize(blk)
				return blk, nil
			}
		}
	})
	if nextErr != nil {
		return ExtentInfo{}, nextErr
	}
	if err != nil {
		return ExtentInfo{}, kerr.Wrap(err, kerr.BadRequest, kerr.CodeBadRequest, "cannot ingest into table '%s'", b.Table)
	}
	if rows == 0 && !allowEmpty {
		return ExtentInfo{}, kerr.BadRequestf("no rows to ingest into table '%s'", b.Table)
	}
	info, err := s.insertExtent(tx, t, id, rows, size, b.Tags, b.CreationTime, b.Source)
	if err != nil {
		return ExtentInfo{}, err
	}
	if b.Extra != nil {
		return info, b.Extra(tx)
	}
	return info, nil
}

// eachBlock yields blocks one by one, then the end.
func eachBlock(blocks []*columnar.Block) func() (*columnar.Block, error) {
	return func() (*columnar.Block, error) {
		if len(blocks) == 0 {
			return nil, nil
		}
		blk := blocks[0]
		blocks = blocks[1:]
		return blk, nil
	}
}

// retryConflicts runs fn in a transaction, retrying DuckDB write-write
// conflicts (a concurrent retention run or DDL racing the same rows).
func (s *Store) retryConflicts(ctx context.Context, fn func(tx *engine.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = s.db.InTx(ctx, fn)
		if !engine.IsConflict(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 25 * time.Millisecond)
	}
	return err
}

// writeTable returns a table to write rows into, with the DDL lock shared
// (its shape cannot change meanwhile) and its table lock held, exclusively
// or shared by appenders (see Store.tableLocks); unlock releases both.
func (s *Store) writeTable(db, table string, exclusive bool) (t *Table, unlock func(), err error) {
	s.ddl.RLock()
	if t, err = s.table(db, table); err != nil {
		s.ddl.RUnlock()
		return nil, nil, err
	}
	lock := s.tableLock(db, table)
	if exclusive {
		lock.Lock()
		return t, func() { lock.Unlock(); s.ddl.RUnlock() }, nil
	}
	lock.RLock()
	return t, func() { lock.RUnlock(); s.ddl.RUnlock() }, nil
}

func (s *Store) table(db, table string) (*Table, error) {
	d, err := s.database(db)
	if err != nil {
		return nil, err
	}
	t, ok := d.tables[table]
	if !ok {
		return nil, errTableMissing(db, table)
	}
	return t, nil
}

func ingestedAlready(tx *engine.Tx, db, table string, values []string) (bool, error) {
	if len(values) == 0 {
		return false, nil
	}
	tags := make([]string, len(values))
	for i, v := range values {
		tags[i] = ingestByPrefix + v
	}
	rows, err := tx.Query(`SELECT count(*) FROM odx_meta.extents WHERE database_name = ? AND table_name = ? AND list_has_any(tags, ?::VARCHAR[])`, db, table, tags)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return false, err
		}
		n, _ = v[0].(int64)
	}
	return n > 0, rows.Err()
}

// appendPhysical appends the blocks next yields (see IngestParts), with
// columns in Kusto column order, in the table's storage order with the
// hidden extent column set to id. The reordering is of the blocks' column
// headers, not of their values, and is worked out once: a data connection's
// blocks are often an event's row or a few.
func appendPhysical(tx *engine.Tx, t *Table, id engine.UUID, next func() (*columnar.Block, error)) error {
	const extentCol, noCol = -1, -2
	src := make([]int, len(t.physical)) // the block column of each storage column
	for i, p := range t.physical {
		src[i] = noCol // a storage column the table no longer has: null
		if p == schema.ExtentColumn {
			src[i] = extentCol
			continue
		}
		for j, c := range t.columns {
			if c.Name == p {
				src[i] = j
				break
			}
		}
	}
	extent, none := columnar.ConstColumn(id), columnar.ConstColumn(nil)
	phys := make([]columnar.Column, len(t.physical))
	to := engine.AppendTarget{Schema: t.schemaRaw, Table: t.tableRaw, Types: t.physicalTypes}
	return tx.AppendBlocks(to, func() (*columnar.Block, error) {
		blk, err := next()
		if err != nil || blk == nil {
			return nil, err
		}
		for i, j := range src {
			switch j {
			case extentCol:
				phys[i] = extent
			case noCol:
				phys[i] = none
			default:
				phys[i] = blk.Cols[j]
			}
		}
		return &columnar.Block{Len: blk.Len, Cols: phys}, nil
	})
}

// estimateSize is the rows' size in bytes, roughly as stored.
func estimateSize(blk *columnar.Block) int64 {
	var n int64
	for i := range blk.Cols {
		c := &blk.Cols[i]
		switch c.Kind {
		case columnar.String:
			for _, s := range c.Strings {
				n += int64(len(s))
			}
		case columnar.Bool:
			n += int64(blk.Len)
		case columnar.Int32:
			n += 4 * int64(blk.Len)
		case columnar.Int64, columnar.Float64, columnar.DateTime:
			n += 8 * int64(blk.Len)
		case columnar.Any:
			for _, v := range c.Anys {
				switch x := v.(type) {
				case string:
					n += int64(len(x))
				case nil:
				default:
					n += 8
				}
			}
		}
	}
	return n
}

func (s *Store) insertExtent(tx *engine.Tx, t *Table, id engine.UUID, rows, size int64, tags []string, created time.Time, source string) (ExtentInfo, error) {
	now := s.now().UTC()
	if created.IsZero() {
		created = now
	}
	if tags == nil {
		tags = []string{}
	}
	// Literal values, not parameters: binding eleven parameters costs
	// DuckDB about as much again as the statement, on every commit.
	ts := timestampLiteral(now)
	_, err := tx.Exec(`INSERT INTO odx_meta.extents VALUES (` + engine.QuoteString(id.String()) + `, ` +
		engine.QuoteString(t.Database) + `, ` + engine.QuoteString(t.name) + `, ` + strconv.FormatInt(rows, 10) + `, ` +
		strconv.FormatInt(size, 10) + `, ` + ts + `, ` + ts + `, ` + ts + `, ` + timestampLiteral(created.UTC()) + `, ` +
		stringListLiteral(tags) + `, ` + engine.QuoteString(source) + `)`)
	if err != nil {
		return ExtentInfo{}, fmt.Errorf("cannot record extent: %w", err)
	}
	return ExtentInfo{ID: id.String(), Database: t.Database, Table: t.name, RowCount: rows, Size: size,
		IngestionTime: now, CreationTime: created.UTC(), Tags: slices.Clone(tags)}, nil
}

// QueryBatch appends the result of a compiled query to a table (`.set`,
// `.append`, `.set-or-append`, `.set-or-replace`).
type QueryBatch struct {
	Database, Table string
	// SQL and Args are the compiled query; Columns its output columns.
	SQL     string
	Args    []any
	Columns []schema.Column
	// Create makes the table from Columns when it does not exist;
	// MustCreate fails when it does (`.set`); MustExist fails when it does not (`.append`).
	Create, MustCreate, MustExist bool
	// Replace drops every existing extent of the table in the same transaction.
	Replace           bool
	Tags              []string
	IngestIfNotExists []string
	CreationTime      time.Time
	Folder, DocString *string
}

// IngestQuery runs q.SQL and writes its rows as one extent, atomically: the
// table creation (if any), the rows, the extent record and the replaced
// extents' removal commit together or not at all.
func (s *Store) IngestQuery(ctx context.Context, q QueryBatch) (ExtentInfo, error) {
	d, err := s.database(q.Database)
	if err != nil {
		return ExtentInfo{}, err
	}
	_, exists := d.tables[q.Table]
	switch {
	case exists && q.MustCreate:
		return ExtentInfo{}, errExists("Table", q.Table)
	case !exists && (q.MustExist || !q.Create):
		return ExtentInfo{}, errTableMissing(q.Database, q.Table)
	case !exists:
		// Creating the table is DDL: hold the DDL lock for the whole command.
		if err := ValidateName("Table", q.Table); err != nil {
			return ExtentInfo{}, err
		}
		if err := checkColumns(q.Columns); err != nil {
			return ExtentInfo{}, err
		}
		var info ExtentInfo
		err := s.ddlTx(ctx, func(tx *engine.Tx) error {
			d, err := s.database(q.Database)
			if err != nil {
				return err
			}
			if _, ok := d.tables[q.Table]; ok {
				return errExists("Table", q.Table)
			}
			spec := TableSpec{Name: q.Table, Columns: q.Columns, Folder: q.Folder, DocString: q.DocString}
			if err := createTableTx(tx, d, spec, s.now().UTC()); err != nil {
				return err
			}
			t := &Table{name: q.Table, Database: q.Database, columns: q.Columns, schemaRaw: d.schemaName, tableRaw: TableName(q.Table)}
			t.sqlName = qualified(t.schemaRaw, t.tableRaw)
			info, err = s.insertQueryTx(tx, t, q)
			return err
		})
		return info, err
	}
	t, unlock, err := s.writeTable(q.Database, q.Table, true)
	if err != nil {
		return ExtentInfo{}, err
	}
	defer unlock()
	var info ExtentInfo
	err = s.retryConflicts(ctx, func(tx *engine.Tx) error {
		if skip, err := ingestedAlready(tx, q.Database, q.Table, q.IngestIfNotExists); err != nil || skip {
			info = ExtentInfo{Database: q.Database, Table: q.Table, Skipped: skip}
			return err
		}
		if q.Replace {
			if _, err := dropExtentsTx(tx, t, `TRUE`); err != nil {
				return err
			}
		}
		var err error
		info, err = s.insertQueryTx(tx, t, q)
		return err
	})
	return info, err
}

// insertQueryTx runs INSERT ... SELECT for q into t, then records the extent.
func (s *Store) insertQueryTx(tx *engine.Tx, t *Table, q QueryBatch) (ExtentInfo, error) {
	sel, err := selectList(t, q.Columns)
	if err != nil {
		return ExtentInfo{}, err
	}
	id := engine.UUID(uuid.New())
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.sqlName + " (")
	for _, c := range t.columns {
		b.WriteString(engine.QuoteIdent(c.Name) + ", ")
	}
	b.WriteString(engine.QuoteIdent(schema.ExtentColumn) + ") SELECT " + sel + ", " + engine.QuoteString(id.String()) + "::UUID FROM (" + q.SQL + ") AS __odx_q")
	n, err := tx.Exec(b.String(), q.Args...)
	if err != nil {
		return ExtentInfo{}, kerr.Wrap(err, kerr.BadRequest, kerr.CodeBadRequest, "cannot write the query result into table '%s'", t.name)
	}
	if n == 0 {
		// Kusto creates no extent for an empty result.
		return ExtentInfo{Database: t.Database, Table: t.name}, nil
	}
	size := n * int64(8*len(t.columns))
	return s.insertExtent(tx, t, id, n, size, q.Tags, q.CreationTime, "query")
}

// selectList maps query output columns onto the table's columns: by name
// when every output column names a table column, else by position.
func selectList(t *Table, out []schema.Column) (string, error) {
	byName := true
	for _, c := range out {
		if _, ok := t.Column(c.Name); !ok {
			byName = false
			break
		}
	}
	if !byName && len(out) != len(t.columns) {
		return "", kerr.BadRequestf("the query yields columns (%s) that do not match table '%s' (%s)", CSLSchema(out), t.name, t.CSLSchema())
	}
	parts := make([]string, len(t.columns))
	for i, c := range t.columns {
		var src *schema.Column
		if byName {
			for j := range out {
				if out[j].Name == c.Name {
					src = &out[j]
				}
			}
		} else {
			src = &out[i]
		}
		if src == nil {
			parts[i] = "NULL"
			continue
		}
		parts[i] = convertSQL("__odx_q."+engine.QuoteIdent(src.Name), src.Type, c.Type)
		if src.Type == c.Type {
			parts[i] = "TRY_CAST(" + parts[i] + " AS " + c.Type.DuckDB() + ")"
		}
	}
	return strings.Join(parts, ", "), nil
}

// ExtentFilter selects extents for ListExtents and DropExtents.
type ExtentFilter struct {
	Database string
	Table    string   // empty: every table of the database
	IDs      []string // empty: any
	// CreatedBefore keeps only extents created before this time (zero: any).
	CreatedBefore time.Time
	// Tag keeps only extents carrying this tag, compared case-insensitively
	// as Kusto's `tags has` does (empty: any).
	Tag string
	// TagContains matches Tag as a substring of any tag (`tags contains`).
	TagContains bool
}

func (f ExtentFilter) where() (string, []any) {
	conds := []string{"database_name = ?"}
	args := []any{f.Database}
	if f.Table != "" {
		conds = append(conds, "table_name = ?")
		args = append(args, f.Table)
	}
	if len(f.IDs) > 0 {
		conds = append(conds, "CAST(extent_id AS VARCHAR) IN (SELECT lower(unnest(?::VARCHAR[])))")
		args = append(args, f.IDs)
	}
	if !f.CreatedBefore.IsZero() {
		conds = append(conds, "creation_time < ?")
		args = append(args, f.CreatedBefore.UTC())
	}
	switch {
	case f.Tag != "" && f.TagContains:
		conds = append(conds, "len(list_filter(tags, x -> contains(lower(x), lower(?)))) > 0")
		args = append(args, f.Tag)
	case f.Tag != "":
		conds = append(conds, "list_contains(list_transform(tags, x -> lower(x)), lower(?))")
		args = append(args, f.Tag)
	}
	return strings.Join(conds, " AND "), args
}

// ListExtents lists extents, oldest first.
func (s *Store) ListExtents(ctx context.Context, f ExtentFilter) ([]ExtentInfo, error) {
	if _, err := s.database(f.Database); err != nil {
		return nil, err
	}
	where, args := f.where()
	var out []ExtentInfo
	err := queryAll(ctx, s.db, `SELECT extent_id, database_name, table_name, row_count, size_bytes, ingestion_time, creation_time, tags
		FROM odx_meta.extents WHERE `+where+` ORDER BY ingestion_time, extent_id`, func(v []any) error {
		e := ExtentInfo{ID: guid(v[0]), Database: str(v[1]), Table: str(v[2]), IngestionTime: tm(v[5]), CreationTime: tm(v[6])}
		e.RowCount, _ = v[3].(int64)
		e.Size, _ = v[4].(int64)
		if l, ok := v[7].([]any); ok {
			for _, x := range l {
				e.Tags = append(e.Tags, str(x))
			}
		}
		out = append(out, e)
		return nil
	}, args...)
	return out, err
}

// DropExtents deletes the selected extents and their rows; it returns what it dropped.
func (s *Store) DropExtents(ctx context.Context, f ExtentFilter) ([]ExtentInfo, error) {
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	d, err := s.database(f.Database)
	if err != nil {
		return nil, err
	}
	var tables []*Table
	if f.Table != "" {
		t, ok := d.tables[f.Table]
		if !ok {
			return nil, errTableMissing(f.Database, f.Table)
		}
		tables = []*Table{t}
	} else {
		tables = d.Tbls()
	}
	var dropped []ExtentInfo
	for _, t := range tables {
		tf := f
		tf.Table = t.name
		victims, err := s.ListExtents(ctx, tf)
		if err != nil {
			return dropped, err
		}
		if len(victims) == 0 {
			continue
		}
		ids := make([]string, len(victims))
		for i, v := range victims {
			ids[i] = v.ID
		}
		lock := s.tableLock(f.Database, t.name)
		lock.Lock()
		err = s.retryConflicts(ctx, func(tx *engine.Tx) error {
			_, err := dropExtentsTx(tx, t, `extent_id IN (SELECT unnest(CAST(?::VARCHAR[] AS UUID[])))`, ids)
			return err
		})
		lock.Unlock()
		if err != nil {
			return dropped, err
		}
		dropped = append(dropped, victims...)
	}
	return dropped, nil
}

// dropExtentsTx deletes the extents of t matching cond (over odx_meta.extents
// columns) and their rows.
func dropExtentsTx(tx *engine.Tx, t *Table, cond string, args ...any) (int64, error) {
	sub := `SELECT extent_id FROM odx_meta.extents WHERE database_name = ? AND table_name = ? AND ` + cond
	all := append([]any{t.Database, t.name}, args...)
	if _, err := tx.Exec(`DELETE FROM `+t.sqlName+` WHERE `+engine.QuoteIdent(schema.ExtentColumn)+` IN (`+sub+`)`, all...); err != nil {
		return 0, fmt.Errorf("cannot delete rows of table %s: %w", t.name, err)
	}
	return tx.Exec(`DELETE FROM odx_meta.extents WHERE database_name = ? AND table_name = ? AND `+cond, all...)
}

// TableStats sums a table's extents.
type TableStats struct {
	Extents                int64
	Rows                   int64
	Size                   int64
	MinCreated, MaxCreated time.Time
}

// Stats returns extent totals per table of db.
func (s *Store) Stats(ctx context.Context, db string) (map[string]TableStats, error) {
	out := map[string]TableStats{}
	err := queryAll(ctx, s.db, `SELECT table_name, count(*), sum(row_count)::BIGINT, sum(size_bytes)::BIGINT, min(creation_time), max(creation_time)
		FROM odx_meta.extents WHERE database_name = ? GROUP BY table_name`, func(v []any) error {
		st := TableStats{MinCreated: tm(v[4]), MaxCreated: tm(v[5])}
		st.Extents, _ = v[1].(int64)
		st.Rows, _ = v[2].(int64)
		st.Size, _ = v[3].(int64)
		out[str(v[0])] = st
		return nil
	}, db)
	return out, err
}

// maxDuration is what "unlimited" retention turns into.
const maxDuration = time.Duration(math.MaxInt64)

// timestampLiteral is t as a DuckDB TIMESTAMP_NS literal.
func timestampLiteral(t time.Time) string {
	return "TIMESTAMP_NS '" + t.UTC().Format("2006-01-02 15:04:05.999999999") + "'"
}

// stringListLiteral is ss as a DuckDB VARCHAR[] literal.
func stringListLiteral(ss []string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(engine.QuoteString(s))
	}
	b.WriteString("]::VARCHAR[]")
	return b.String()
}
