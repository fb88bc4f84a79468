package storage

import (
	"sort"
	"time"

	"odx/internal/access"
	"odx/internal/engine"
	"odx/internal/kql/schema"
)

// Snapshot is an immutable view of all metadata at one moment. DDL builds a
// new Snapshot and swaps it in; readers keep using the one they took, so a
// compilation never sees half a DDL change. It implements schema.Catalog.
type Snapshot struct {
	databases map[string]*Database
	names     []string
}

// Database is one Kusto database in a Snapshot. It implements schema.Database.
type Database struct {
	name       string
	ID         string // guid
	Created    time.Time
	Persistent bool
	PrettyName string
	// SchemaSQL is the quoted DuckDB schema holding the database's tables.
	SchemaSQL  string
	schemaName string
	tables     map[string]*Table
	tableNames []string
	functions  map[string]schema.Function
	funcNames  []string
	// Principals lists role assignments, in the order they were added.
	Principals []Principal
	// Policies maps a policy kind (retention, caching, ...) to its JSON text.
	Policies map[string]string
	// Mappings at database scope.
	Mappings []Mapping
}

// Table is one Kusto table in a Snapshot. It implements schema.Table.
type Table struct {
	name      string
	Database  string
	ID        string // guid
	Created   time.Time
	DocString string
	Folder    string
	columns   []schema.Column
	sqlName   string // quoted, schema-qualified
	schemaRaw string // unquoted DuckDB schema
	tableRaw  string // unquoted DuckDB table
	// physical lists the DuckDB columns in storage order (including the
	// hidden extent column), which the appender needs.
	physical []string
	// physicalTypes are their DuckDB types, so that an append needs no
	// catalog query (the snapshot is rebuilt after every DDL).
	physicalTypes []string
	Policies      map[string]string
	Mappings      []Mapping
}

// Principal is one role assignment on a database.
type Principal struct {
	Role        string // access.RoleAdmin, ...
	FQN         string // aadapp=<id>;<tenant>
	DisplayName string
	Notes       string
	Added       time.Time
}

// Mapping is a stored ingestion mapping.
type Mapping struct {
	Database    string
	Table       string // empty at database scope
	Kind        string // csv, json, avro, parquet, orc, w3clogfile (lowercase)
	Name        string
	Text        string // the mapping JSON as given
	LastUpdated time.Time
}

// Database returns a database by its exact name.
func (s *Snapshot) Database(name string) (schema.Database, bool) {
	d, ok := s.databases[name]
	if !ok {
		return nil, false
	}
	return d, true
}

// DB returns a database with its odx-specific details.
func (s *Snapshot) DB(name string) (*Database, bool) {
	d, ok := s.databases[name]
	return d, ok
}

// Databases lists every database sorted by name.
func (s *Snapshot) Databases() []schema.Database {
	out := make([]schema.Database, len(s.names))
	for i, n := range s.names {
		out[i] = s.databases[n]
	}
	return out
}

// DBs lists every database sorted by name, with details.
func (s *Snapshot) DBs() []*Database {
	out := make([]*Database, len(s.names))
	for i, n := range s.names {
		out[i] = s.databases[n]
	}
	return out
}

// RolesOf lists the database roles the caller holds on db.
func (s *Snapshot) RolesOf(db string, c access.Caller) []string {
	d, ok := s.databases[db]
	if !ok {
		return nil
	}
	var roles []string
	for _, p := range d.Principals {
		if access.SameFQN(p.FQN, c.Name) {
			roles = append(roles, p.Role)
		}
	}
	return roles
}

func (d *Database) Name() string { return d.name }

func (d *Database) Table(name string) (schema.Table, bool) {
	t, ok := d.tables[name]
	if !ok {
		return nil, false
	}
	return t, true
}

// Tbl returns a table with its odx-specific details.
func (d *Database) Tbl(name string) (*Table, bool) {
	t, ok := d.tables[name]
	return t, ok
}

func (d *Database) Tables() []schema.Table {
	out := make([]schema.Table, len(d.tableNames))
	for i, n := range d.tableNames {
		out[i] = d.tables[n]
	}
	return out
}

// Tbls lists the tables sorted by name, with details.
func (d *Database) Tbls() []*Table {
	out := make([]*Table, len(d.tableNames))
	for i, n := range d.tableNames {
		out[i] = d.tables[n]
	}
	return out
}

func (d *Database) Function(name string) (schema.Function, bool) {
	f, ok := d.functions[name]
	return f, ok
}

func (d *Database) Functions() []schema.Function {
	out := make([]schema.Function, len(d.funcNames))
	for i, n := range d.funcNames {
		out[i] = d.functions[n]
	}
	return out
}

func (t *Table) Name() string             { return t.name }
func (t *Table) Columns() []schema.Column { return t.columns }
func (t *Table) SQL() string              { return t.sqlName }

// Column returns a column by exact name.
func (t *Table) Column(name string) (schema.Column, bool) {
	for _, c := range t.columns {
		if c.Name == name {
			return c, true
		}
	}
	return schema.Column{}, false
}

// CSLSchema prints the columns as `a:string, b:long`... without spaces, as
// `.show table T cslschema` does.
func (t *Table) CSLSchema() string { return CSLSchema(t.columns) }

// CSLSchema prints columns as Kusto's `name:type,name:type`.
func CSLSchema(cols []schema.Column) string {
	b := make([]byte, 0, 16*len(cols))
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, QuoteEntityName(c.Name)...)
		b = append(b, ':')
		b = append(b, c.Type.String()...)
	}
	return string(b)
}

// QuoteEntityName brackets a name that is not a plain identifier: ['my name'].
func QuoteEntityName(n string) string {
	plain := n != ""
	for i, r := range n {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			plain = false
			break
		}
	}
	if plain {
		return n
	}
	out := []byte("['")
	for i := 0; i < len(n); i++ {
		if n[i] == '\'' || n[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, n[i])
	}
	return string(append(out, "']"...))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func qualified(schemaRaw, tableRaw string) string {
	return engine.QuoteIdent(schemaRaw) + "." + engine.QuoteIdent(tableRaw)
}
