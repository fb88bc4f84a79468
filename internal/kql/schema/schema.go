// Package schema is what the KQL compiler may know about the database: a
// read-only catalog of databases, tables, columns and stored functions.
//
// The storage layer implements it; tests use an in-memory fake. Objects
// returned from a Catalog are immutable snapshots, safe to use for the whole
// compilation while ingestion and DDL go on.
package schema

import "odx/internal/kql/types"

// Catalog resolves the names a query may use.
type Catalog interface {
	// Database returns a database by name (case-sensitive, as Kusto's entity names are).
	Database(name string) (Database, bool)
	// Databases lists every database, sorted by name.
	Databases() []Database
}

// Database is one Kusto database.
type Database interface {
	Name() string
	Table(name string) (Table, bool)
	Tables() []Table
	Function(name string) (Function, bool)
	Functions() []Function
}

// Table is one Kusto table as the compiler sees it.
type Table interface {
	Name() string
	Columns() []Column
	// SQL names the DuckDB relation holding the rows: a schema-qualified,
	// already-quoted identifier such as `"db_Samples"."StormEvents"`.
	SQL() string
}

// Column is a named, typed column.
type Column struct {
	Name string
	Type types.Type
}

// Function is a stored function (`.create-or-alter function`).
type Function struct {
	Name       string
	Parameters string // the parameter list as written, e.g. `(x:long, y:string="a")`; "()" when none
	Body       string // the body as written, including its braces
	Folder     string
	DocString  string
}

// Storage facts the compiler relies on when it lowers a table scan.
const (
	// ExtentColumn is the hidden column of every table that holds the id of
	// the extent (ingestion commit) a row belongs to. It never appears in
	// Table.Columns and never leaves the compiler.
	ExtentColumn = "__odx_extent"
	// ExtentsTable is the catalog relation with one row per extent; its
	// columns `extent_id` and `ingestion_time` (TIMESTAMP_NS, which the compiler turns into datetime ticks) serve ingestion_time().
	ExtentsTable = `"odx_meta"."extents"`
)
