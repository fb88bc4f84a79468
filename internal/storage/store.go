// Package storage keeps every Kusto database of one odx in a single DuckDB
// file: each database is a DuckDB schema, each table a DuckDB table with a
// hidden extent-id column, and all metadata (databases, tables, functions,
// policies, principals, mappings, extents, ARM documents) lives in the schema
// odx_meta of the same file, so that rows, their extent and any bookkeeping
// commit in one transaction.
//
// Writers go through the Store: DDL is serialised and rebuilds an immutable
// catalog Snapshot; ingestion is serialised per table and is the only way
// rows enter a table.
//
// Layout of the file:
//
//	db_<encoded name>.<encoded table>   a Kusto table: its columns by their Kusto
//	                                    names and types.DuckDB() (datetime: BIGINT
//	                                    ticks, see datetime.go), plus the hidden
//	                                    __odx_extent UUID column (see names.go)
//	odx_meta.info                       key/value; 'layout' = metadata layout version
//	odx_meta.databases                  name, schema_name, database_id, created, persistent, pretty_name, properties
//	odx_meta.tables                     database_name, name, sql_name, columns (JSON [{Name,Type}] in Kusto order),
//	                                    docstring, folder, table_id, created
//	odx_meta.functions                  database_name, name, parameters, body, folder, docstring, created
//	odx_meta.policies                   database_name, table_name ('' = database), kind, policy (ADX JSON), updated
//	odx_meta.principals                 database_name, role (admins, viewers, ...), fqn, display_name, notes, added
//	odx_meta.mappings                   database_name, table_name ('' = database), kind, name, mapping (JSON text), last_updated
//	odx_meta.extents                    extent_id UUID, database_name, table_name, row_count, size_bytes,
//	                                    min/max_ingestion_time, ingestion_time, creation_time, tags VARCHAR[], source
//	odx_meta.documents                  kind, id_key (lowercased id), id, body, updated (the ARM document store)
//
// Metadata tables carry no key constraints: the Store checks uniqueness
// under its DDL lock, which avoids DuckDB's eager constraint checks on
// delete-then-insert within one transaction.
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"odx/internal/engine"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// MetaSchema is the DuckDB schema holding odx's metadata.
const MetaSchema = "odx_meta"

// layoutVersion is bumped when the odx_meta layout changes incompatibly.
const layoutVersion = "1"

// Options tunes a Store.
type Options struct {
	Engine engine.Options
	// RetentionInterval is how often expired extents are dropped; 0 means
	// one minute, a negative value disables the background loop.
	RetentionInterval time.Duration
	Logger            *slog.Logger
	// Now is the clock, for tests; nil is time.Now.
	Now func() time.Time
}

// Store is the storage layer over one DuckDB file.
type Store struct {
	db     *engine.DB
	log    *slog.Logger
	now    func() time.Time
	snap   atomic.Pointer[Snapshot]
	closed chan struct{}
	wg     sync.WaitGroup

	// ddl is held exclusively by DDL and shared by ingestion, so a table
	// never changes shape under an open ingestion transaction.
	ddl sync.RWMutex
	// tableLocks serialise writers per table (DuckDB would otherwise fail one
	// of two concurrent transactions that delete from the same table).
	// Writers that only append new rows conflict with nothing and may share
	// the lock (IngestParts does, so that one extent commits while the next
	// is appended).
	tableLocksMu sync.Mutex
	tableLocks   map[string]*sync.RWMutex
	docsMu       sync.Mutex
}

var metaDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS odx_meta`,
	`CREATE TABLE IF NOT EXISTS odx_meta.info (key VARCHAR, value VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.databases (
		name VARCHAR NOT NULL, schema_name VARCHAR NOT NULL, database_id UUID NOT NULL,
		created TIMESTAMP_NS NOT NULL, persistent BOOLEAN NOT NULL, pretty_name VARCHAR NOT NULL,
		properties VARCHAR NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.tables (
		database_name VARCHAR NOT NULL, name VARCHAR NOT NULL, sql_name VARCHAR NOT NULL,
		columns VARCHAR NOT NULL, docstring VARCHAR NOT NULL, folder VARCHAR NOT NULL,
		table_id UUID NOT NULL, created TIMESTAMP_NS NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.functions (
		database_name VARCHAR NOT NULL, name VARCHAR NOT NULL, parameters VARCHAR NOT NULL,
		body VARCHAR NOT NULL, folder VARCHAR NOT NULL, docstring VARCHAR NOT NULL,
		created TIMESTAMP_NS NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.policies (
		database_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
		policy VARCHAR NOT NULL, updated TIMESTAMP_NS NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.principals (
		database_name VARCHAR NOT NULL, role VARCHAR NOT NULL, fqn VARCHAR NOT NULL,
		display_name VARCHAR NOT NULL, notes VARCHAR NOT NULL, added TIMESTAMP_NS NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.mappings (
		database_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
		name VARCHAR NOT NULL, mapping VARCHAR NOT NULL, last_updated TIMESTAMP_NS NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.extents (
		extent_id UUID NOT NULL, database_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
		row_count BIGINT NOT NULL, size_bytes BIGINT NOT NULL,
		min_ingestion_time TIMESTAMP_NS NOT NULL, max_ingestion_time TIMESTAMP_NS NOT NULL,
		ingestion_time TIMESTAMP_NS NOT NULL, creation_time TIMESTAMP_NS NOT NULL,
		tags VARCHAR[] NOT NULL, source VARCHAR NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS odx_meta.documents (
		kind VARCHAR NOT NULL, id_key VARCHAR NOT NULL, id VARCHAR NOT NULL,
		body VARCHAR NOT NULL, updated TIMESTAMP_NS NOT NULL)`,
}

// Open opens (or creates) the store in the DuckDB file at path ("" is in memory).
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	db, err := engine.Open(path, opts.Engine)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, log: opts.Logger, now: opts.Now, closed: make(chan struct{}), tableLocks: map[string]*sync.RWMutex{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.bootstrap(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrateDateTimeTicks(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		db.Close()
		return nil, err
	}
	interval := opts.RetentionInterval
	if interval == 0 {
		interval = time.Minute
	}
	if interval > 0 {
		s.wg.Add(1)
		go s.retentionLoop(interval)
	}
	return s, nil
}

func (s *Store) bootstrap(ctx context.Context) error {
	return s.db.InTx(ctx, func(tx *engine.Tx) error {
		for _, q := range metaDDL {
			if _, err := tx.Exec(q); err != nil {
				return fmt.Errorf("cannot create odx metadata (%s): %w", strings.Fields(q)[5], err)
			}
		}
		rows, err := tx.Query(`SELECT value FROM odx_meta.info WHERE key = 'layout'`)
		if err != nil {
			return err
		}
		var have string
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			have, _ = v[0].(string)
		}
		rows.Close()
		switch have {
		case "":
			_, err = tx.Exec(`INSERT INTO odx_meta.info VALUES ('layout', ?)`, layoutVersion)
			return err
		case layoutVersion:
			return nil
		}
		return fmt.Errorf("the data file has metadata layout %s, this odx understands layout %s", have, layoutVersion)
	})
}

// Close stops background work and closes the database file.
func (s *Store) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	s.wg.Wait()
	s.ddl.Lock()
	defer s.ddl.Unlock()
	return s.db.Close()
}

// Catalog returns the current immutable catalog snapshot for the compiler.
func (s *Store) Catalog() schema.Catalog { return s.snap.Load() }

// Snapshot returns the current immutable metadata snapshot with odx details.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// Engine exposes the database for read-only queries (the query service).
// Writes must go through the Store.
func (s *Store) Engine() *engine.DB { return s.db }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) tableLock(db, table string) *sync.RWMutex {
	s.tableLocksMu.Lock()
	defer s.tableLocksMu.Unlock()
	k := db + "\x00" + table
	m := s.tableLocks[k]
	if m == nil {
		m = &sync.RWMutex{}
		s.tableLocks[k] = m
	}
	return m
}

type storedColumn struct {
	Name string `json:"Name"`
	Type string `json:"Type"`
}

func encodeColumns(cols []schema.Column) string {
	sc := make([]storedColumn, len(cols))
	for i, c := range cols {
		sc[i] = storedColumn{c.Name, c.Type.String()}
	}
	b, _ := json.Marshal(sc)
	return string(b)
}

func decodeColumns(text string) ([]schema.Column, error) {
	var sc []storedColumn
	if err := json.Unmarshal([]byte(text), &sc); err != nil {
		return nil, err
	}
	cols := make([]schema.Column, len(sc))
	for i, c := range sc {
		t, ok := types.Parse(c.Type)
		if !ok {
			return nil, fmt.Errorf("unknown column type %q", c.Type)
		}
		cols[i] = schema.Column{Name: c.Name, Type: t}
	}
	return cols, nil
}

// queryAll runs q and calls fn for every row.
func queryAll(ctx context.Context, q interface {
	Query(ctx context.Context, query string, args ...any) (*engine.Rows, error)
}, sql string, fn func(v []any) error, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func tm(v any) time.Time {
	t, _ := v.(time.Time)
	return t.UTC()
}

func guid(v any) string {
	switch x := v.(type) {
	case engine.UUID:
		return x.String()
	case string:
		return x
	}
	return ""
}

// reload rebuilds the catalog snapshot from odx_meta. Callers hold s.ddl
// exclusively (or are Open).
func (s *Store) reload(ctx context.Context) error {
	snap := &Snapshot{databases: map[string]*Database{}}
	err := queryAll(ctx, s.db, `SELECT name, schema_name, database_id, created, persistent, pretty_name FROM odx_meta.databases`, func(v []any) error {
		d := &Database{name: str(v[0]), schemaName: str(v[1]), ID: guid(v[2]), Created: tm(v[3]), PrettyName: str(v[5]),
			tables: map[string]*Table{}, functions: map[string]schema.Function{}, Policies: map[string]string{}}
		d.Persistent, _ = v[4].(bool)
		d.SchemaSQL = engine.QuoteIdent(d.schemaName)
		snap.databases[d.name] = d
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load databases: %w", err)
	}
	physical, physicalTypes := map[string][]string{}, map[string][]string{}
	err = queryAll(ctx, s.db, `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name LIKE 'db\_%' ESCAPE '\' ORDER BY schema_name, table_name, column_index`, func(v []any) error {
		k := str(v[0]) + "." + str(v[1])
		physical[k] = append(physical[k], str(v[2]))
		physicalTypes[k] = append(physicalTypes[k], str(v[3]))
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load table layouts: %w", err)
	}
	err = queryAll(ctx, s.db, `SELECT database_name, name, sql_name, columns, docstring, folder, table_id, created FROM odx_meta.tables`, func(v []any) error {
		d := snap.databases[str(v[0])]
		if d == nil {
			return nil
		}
		cols, err := decodeColumns(str(v[3]))
		if err != nil {
			return fmt.Errorf("table %s.%s: %w", d.name, str(v[1]), err)
		}
		t := &Table{name: str(v[1]), Database: d.name, tableRaw: str(v[2]), schemaRaw: d.schemaName, columns: cols,
			DocString: str(v[4]), Folder: str(v[5]), ID: guid(v[6]), Created: tm(v[7]), Policies: map[string]string{}}
		t.sqlName = qualified(t.schemaRaw, t.tableRaw)
		t.physical = physical[t.schemaRaw+"."+t.tableRaw]
		t.physicalTypes = physicalTypes[t.schemaRaw+"."+t.tableRaw]
		d.tables[t.name] = t
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load tables: %w", err)
	}
	err = queryAll(ctx, s.db, `SELECT database_name, name, parameters, body, folder, docstring FROM odx_meta.functions`, func(v []any) error {
		if d := snap.databases[str(v[0])]; d != nil {
			d.functions[str(v[1])] = schema.Function{Name: str(v[1]), Parameters: str(v[2]), Body: str(v[3]), Folder: str(v[4]), DocString: str(v[5])}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load functions: %w", err)
	}
	err = queryAll(ctx, s.db, `SELECT database_name, table_name, kind, policy FROM odx_meta.policies`, func(v []any) error {
		d := snap.databases[str(v[0])]
		if d == nil {
			return nil
		}
		if tn := str(v[1]); tn == "" {
			d.Policies[str(v[2])] = str(v[3])
		} else if t := d.tables[tn]; t != nil {
			t.Policies[str(v[2])] = str(v[3])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load policies: %w", err)
	}
	err = queryAll(ctx, s.db, `SELECT database_name, role, fqn, display_name, notes, added FROM odx_meta.principals ORDER BY added`, func(v []any) error {
		if d := snap.databases[str(v[0])]; d != nil {
			d.Principals = append(d.Principals, Principal{Role: str(v[1]), FQN: str(v[2]), DisplayName: str(v[3]), Notes: str(v[4]), Added: tm(v[5])})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load principals: %w", err)
	}
	err = queryAll(ctx, s.db, `SELECT database_name, table_name, kind, name, mapping, last_updated FROM odx_meta.mappings ORDER BY name`, func(v []any) error {
		d := snap.databases[str(v[0])]
		if d == nil {
			return nil
		}
		m := Mapping{Database: d.name, Table: str(v[1]), Kind: str(v[2]), Name: str(v[3]), Text: str(v[4]), LastUpdated: tm(v[5])}
		if m.Table == "" {
			d.Mappings = append(d.Mappings, m)
		} else if t := d.tables[m.Table]; t != nil {
			t.Mappings = append(t.Mappings, m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load mappings: %w", err)
	}
	for _, d := range snap.databases {
		d.tableNames = sortedKeys(d.tables)
		d.funcNames = sortedKeys(d.functions)
	}
	snap.names = sortedKeys(snap.databases)
	s.snap.Store(snap)
	return nil
}

// ddlTx runs fn in a transaction while holding the DDL lock, then rebuilds
// the snapshot. It is the one door for metadata changes.
func (s *Store) ddlTx(ctx context.Context, fn func(tx *engine.Tx) error) error {
	s.ddl.Lock()
	defer s.ddl.Unlock()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.db.InTx(ctx, fn)
		if !engine.IsConflict(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if rerr := s.reload(ctx); rerr != nil {
		return fmt.Errorf("metadata changed but could not be reloaded: %w", rerr)
	}
	return nil
}
