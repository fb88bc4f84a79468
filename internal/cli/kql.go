package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"odx/internal/kql"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

const kqlUsage = `
Usage:
  odx kql fmt [QUERY]
  odx kql explain [--db NAME] [--table 'T(col:type, ...)']... [QUERY]

Works offline, without a server. QUERY is read from standard input when it
is not given as an argument.

  fmt      prints the query in canonical form (the parser's view of it)
  explain  prints the canonical query, the typed plan, and the DuckDB SQL
           and arguments odx runs for it

--table declares a table the query may use, in Kusto's schema syntax:
  odx kql explain --table 'Events(Timestamp:datetime, Device:string, Value:real)' \
      'Events | summarize avg(Value) by bin(Timestamp, 1h)'`

func runKQL(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, strings.TrimSpace(kqlUsage))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("kql "+verb, kqlUsage, stderr)
	db := fs.String("db", "Offline", "name of the database the query runs in")
	var tables repeated
	fs.Var(&tables, "table", "table the query may use, as 'Name(col:type, ...)' (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	text, err := queryText(fs.Args())
	if err != nil {
		return err
	}
	switch verb {
	case "fmt":
		out, err := kql.Format(text)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		return nil
	case "explain":
		cat, err := offlineCatalog(*db, tables)
		if err != nil {
			return err
		}
		out, err := kql.Explain(text, kql.Options{Database: *db, Catalog: cat, Now: time.Now().UTC()})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		return nil
	}
	return fmt.Errorf("unknown verb %q: use fmt or explain", verb)
}

func queryText(args []string) (string, error) {
	if len(args) > 0 {
		return strings.Join(args, " "), nil
	}
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", errors.New("no query: pass it as an argument or on standard input")
	}
	return string(b), nil
}

// offlineCatalog is a one-database catalog built from --table declarations.
func offlineCatalog(dbName string, specs []string) (schema.Catalog, error) {
	db := &offlineDB{name: dbName}
	for _, spec := range specs {
		t, err := parseTableSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("--table %q: %w", spec, err)
		}
		db.tables = append(db.tables, t)
	}
	return offlineCatalogT{db}, nil
}

// parseTableSpec reads `Name(col:type, ...)`.
func parseTableSpec(spec string) (*offlineTable, error) {
	open, end := strings.Index(spec, "("), strings.LastIndex(spec, ")")
	if open <= 0 || end < open {
		return nil, errors.New("want Name(col:type, ...)")
	}
	t := &offlineTable{name: strings.TrimSpace(spec[:open])}
	for _, part := range strings.Split(spec[open+1:end], ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, typ, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("column %q: want name:type", strings.TrimSpace(part))
		}
		kt, ok := types.Parse(typ)
		if !ok {
			return nil, fmt.Errorf("column %q: unknown type %q", strings.TrimSpace(name), strings.TrimSpace(typ))
		}
		t.columns = append(t.columns, schema.Column{Name: strings.TrimSpace(name), Type: kt})
	}
	return t, nil
}

type offlineCatalogT struct{ db *offlineDB }

func (c offlineCatalogT) Database(name string) (schema.Database, bool) {
	if name == c.db.name {
		return c.db, true
	}
	return nil, false
}
func (c offlineCatalogT) Databases() []schema.Database { return []schema.Database{c.db} }

type offlineDB struct {
	name   string
	tables []*offlineTable
}

func (d *offlineDB) Name() string { return d.name }
func (d *offlineDB) Table(name string) (schema.Table, bool) {
	for _, t := range d.tables {
		if t.name == name {
			return t, true
		}
	}
	return nil, false
}
func (d *offlineDB) Tables() []schema.Table {
	out := make([]schema.Table, len(d.tables))
	for i, t := range d.tables {
		out[i] = t
	}
	return out
}
func (d *offlineDB) Function(string) (schema.Function, bool) { return schema.Function{}, false }
func (d *offlineDB) Functions() []schema.Function            { return nil }

type offlineTable struct {
	name    string
	columns []schema.Column
}

func (t *offlineTable) Name() string             { return t.name }
func (t *offlineTable) Columns() []schema.Column { return t.columns }
func (t *offlineTable) SQL() string              { return `"db_offline".` + `"` + t.name + `"` }
