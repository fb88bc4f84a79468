package query

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"odx/internal/access"
	"odx/internal/engine"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// CommandResultTable is the name the piped part of `.show tables | where ...`
// sees its input under.
const CommandResultTable = "__odx_command_result"

var pipeSeq atomic.Int64

// Pipe runs KQL operators (`| where ...`, text starting with `|`) over a
// command's result table, as Kusto does for `.show ... | ...`. The input is
// loaded into a TEMP table on a dedicated connection that lives until the
// returned set is closed.
func (s *Service) Pipe(ctx context.Context, caller access.Caller, database string, input result.Table, pipe string) (*result.Set, error) {
	if s.compile == nil {
		return nil, kerr.New(kerr.Unavailable, kerr.CodeInternal, "the KQL compiler is not built into this odx")
	}
	defer input.Close()
	conn, err := s.store.Engine().Conn(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	tmp := fmt.Sprintf("__odx_cmd_%d", pipeSeq.Add(1))
	defer func() {
		if !ok {
			conn.Exec("DROP TABLE IF EXISTS " + engine.QuoteIdent(tmp))
			conn.Close()
		}
	}()
	cols := input.Columns()
	defs := make([]string, len(cols))
	marks := make([]string, len(cols))
	scols := make([]schema.Column, len(cols))
	for i, c := range cols {
		defs[i] = engine.QuoteIdent(c.Name) + " " + c.Type.DuckDB()
		marks[i] = "?"
		scols[i] = schema.Column{Name: c.Name, Type: c.Type}
	}
	if _, err := conn.Exec("CREATE TEMP TABLE " + engine.QuoteIdent(tmp) + " (" + strings.Join(defs, ", ") + ")"); err != nil {
		return nil, fmt.Errorf("cannot stage the command result: %w", err)
	}
	insert := "INSERT INTO " + engine.QuoteIdent(tmp) + " VALUES (" + strings.Join(marks, ", ") + ")"
	for {
		row, more, err := input.Next()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		vals := make([]any, len(row))
		for i, v := range row {
			vals[i] = stageValue(v)
		}
		if _, err := conn.Exec(insert, vals...); err != nil {
			return nil, fmt.Errorf("cannot stage the command result: %w", err)
		}
	}

	snap := s.store.Snapshot()
	dbName := database
	if dbName == "" {
		dbName = "__odx_commands"
	}
	pdb := &pipeDatabase{name: dbName, table: &pipeTable{cols: scols, sql: engine.QuoteIdent(tmp)}}
	if base, found := snap.Database(database); found && caller.Can(access.OpView, snap.RolesOf(database, caller)) {
		pdb.base = base
	}
	q, err := s.compile(CompileRequest{Text: CommandResultTable + "\n" + pipe, Database: dbName,
		Catalog: pipeCatalog{db: pdb}, Now: s.store.Now().UTC()})
	if err != nil {
		if ke := kerr.As(err); ke.Line > 0 {
			ke.Line-- // the input's name sits on a line of its own
		}
		return nil, err
	}
	rows, err := conn.Query(q.SQL, q.Args...)
	if err != nil {
		return nil, executionError(ctx, err)
	}
	t := newTable("Table_0", rows, q.Columns, ctx)
	t.after = func() {
		conn.Exec("DROP TABLE IF EXISTS " + engine.QuoteIdent(tmp))
		conn.Close()
	}
	ok = true
	return &result.Set{Tables: []result.Table{t}, Properties: q.Properties}, nil
}

// stageValue turns a result value back into something DuckDB binds.
func stageValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		// the staging table stores datetimes as ticks, as user tables do
		if ticks, ok := types.TicksFromTime(x); ok {
			return ticks
		}
		return nil
	case json.RawMessage:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return v
}

type pipeCatalog struct{ db *pipeDatabase }

func (c pipeCatalog) Database(name string) (schema.Database, bool) {
	if name == c.db.name {
		return c.db, true
	}
	return nil, false
}

func (c pipeCatalog) Databases() []schema.Database { return []schema.Database{c.db} }

// pipeDatabase shows the command result next to the request database's own
// tables (when the caller may read them).
type pipeDatabase struct {
	name  string
	table *pipeTable
	base  schema.Database
}

func (d *pipeDatabase) Name() string { return d.name }

func (d *pipeDatabase) Table(name string) (schema.Table, bool) {
	if name == CommandResultTable {
		return d.table, true
	}
	if d.base != nil {
		return d.base.Table(name)
	}
	return nil, false
}

func (d *pipeDatabase) Tables() []schema.Table {
	out := []schema.Table{d.table}
	if d.base != nil {
		out = append(out, d.base.Tables()...)
	}
	return out
}

func (d *pipeDatabase) Function(name string) (schema.Function, bool) {
	if d.base != nil {
		return d.base.Function(name)
	}
	return schema.Function{}, false
}

func (d *pipeDatabase) Functions() []schema.Function {
	if d.base != nil {
		return d.base.Functions()
	}
	return nil
}

type pipeTable struct {
	cols []schema.Column
	sql  string
}

func (t *pipeTable) Name() string             { return CommandResultTable }
func (t *pipeTable) Columns() []schema.Column { return t.cols }
func (t *pipeTable) SQL() string              { return t.sql }
