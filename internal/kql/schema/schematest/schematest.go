// Package schematest is an in-memory schema.Catalog for tests of the KQL
// compiler and of anything that compiles queries without a real store.
package schematest

import (
	"sort"
	"strings"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Catalog is a mutable in-memory catalog; build it before compiling.
type Catalog struct {
	dbs map[string]*Database
}

// New returns an empty catalog.
func New() *Catalog { return &Catalog{dbs: map[string]*Database{}} }

// Database is an in-memory database.
type Database struct {
	name   string
	tables map[string]*Table
	funcs  map[string]schema.Function
}

// Table is an in-memory table; its SQL relation is "<db>"."<table>".
type Table struct {
	name, sql string
	cols      []schema.Column
}

// AddDatabase adds (or returns) a database.
func (c *Catalog) AddDatabase(name string) *Database {
	if d, ok := c.dbs[name]; ok {
		return d
	}
	d := &Database{name: name, tables: map[string]*Table{}, funcs: map[string]schema.Function{}}
	c.dbs[name] = d
	return d
}

// AddTable adds a table from a schema string like "Timestamp:datetime, Level:string".
func (d *Database) AddTable(name, columns string) *Table {
	t := &Table{name: name, sql: sqlast.QuoteIdent(d.name) + "." + sqlast.QuoteIdent(name)}
	for _, part := range strings.Split(columns, ",") {
		n, typ, _ := strings.Cut(strings.TrimSpace(part), ":")
		ty, ok := types.Parse(typ)
		if !ok {
			panic("schematest: unknown type " + typ)
		}
		t.cols = append(t.cols, schema.Column{Name: strings.TrimSpace(n), Type: ty})
	}
	d.tables[name] = t
	return t
}

// AddFunction adds a stored function.
func (d *Database) AddFunction(name, params, body string) {
	d.funcs[name] = schema.Function{Name: name, Parameters: params, Body: body}
}

// CreateSQL returns the DuckDB DDL that creates the table (with the hidden extent column).
func (t *Table) CreateSQL() string {
	var cols []string
	for _, c := range t.cols {
		cols = append(cols, sqlast.QuoteIdent(c.Name)+" "+c.Type.DuckDB())
	}
	cols = append(cols, sqlast.QuoteIdent(schema.ExtentColumn)+" UUID")
	return "CREATE TABLE " + t.sql + " (" + strings.Join(cols, ", ") + ")"
}

func (c *Catalog) Database(name string) (schema.Database, bool) {
	d, ok := c.dbs[name]
	return d, ok
}

func (c *Catalog) Databases() []schema.Database {
	var out []schema.Database
	for _, d := range c.dbs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func (d *Database) Name() string { return d.name }
func (d *Database) Table(name string) (schema.Table, bool) {
	t, ok := d.tables[name]
	return t, ok
}
func (d *Database) Tables() []schema.Table {
	var out []schema.Table
	for _, t := range d.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
func (d *Database) Function(name string) (schema.Function, bool) {
	f, ok := d.funcs[name]
	return f, ok
}
func (d *Database) Functions() []schema.Function {
	var out []schema.Function
	for _, f := range d.funcs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (t *Table) Name() string             { return t.name }
func (t *Table) Columns() []schema.Column { return t.cols }
func (t *Table) SQL() string              { return t.sql }
