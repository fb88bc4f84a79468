// Package kql is the facade of odx's KQL compiler: it parses a query, checks
// it against the catalog and compiles it to one DuckDB SQL statement with
// positional arguments and the exact Kusto result schema.
//
//	q, err := kql.Compile(`T | where x > 1 | summarize count() by y`, kql.Options{...})
//	rows, err := db.Query(ctx, q.SQL, q.Args...)
//
// Result value contract: the outermost SELECT produces one column per
// q.Columns entry, in order, with these DuckDB types per Kusto type:
// bool BOOLEAN, int INTEGER, long BIGINT, real DOUBLE, decimal DECIMAL(38,10),
// datetime BIGINT (100 ns ticks since 0001-01-01, see types.TimeFromTicks),
// timespan BIGINT (100 ns ticks), string VARCHAR
// (never NULL), guid UUID, dynamic VARCHAR holding JSON text (NULL or "null"
// for a null value).
package kql

import (
	"fmt"
	"strings"
	"time"

	"odx/internal/kerr"
	"odx/internal/kql/ast"
	"odx/internal/kql/compile"
	"odx/internal/kql/parser"
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/kql/token"
)

// Options is the context a query compiles in.
type Options struct {
	Database   string            // the request's default database (may be "NetDefaultDB" or empty)
	Catalog    schema.Catalog    // odx/internal/kql/schema
	Parameters map[string]string // client request parameters for `declare query_parameters` (values as KQL literal text or plain strings; parse by declared type)
	Now        time.Time         // the value of now() for the whole query (UTC)
}

// Query is a compiled query.
type Query struct {
	SQL        string
	Args       []any           // positional arguments for SQL, DuckDB-driver-friendly Go values
	Columns    []schema.Column // result columns with exact Kusto types, in order
	Properties map[string]any  // e.g. "Visualization" from `render` (kind + properties), set options
	// Databases are the databases whose tables or stored functions the query
	// reads (the request's own database included when it reads from it):
	// the caller must be allowed to view each one.
	Databases []string
}

// Parse parses a query text; errors are *kerr.Error syntax errors with line and column.
func Parse(text string) (*ast.Script, error) {
	script, errs := parser.ParseScript(text)
	if len(errs) > 0 {
		return nil, errs.Kerr()
	}
	return script, nil
}

// Compile parses, checks and compiles a query. Errors are *kerr.Error:
// syntax errors carry Line/Column, semantic errors a SEM id.
func Compile(text string, opts Options) (q *Query, err error) {
	defer func() {
		// The compiler must never take the server down; a panic here is a bug
		// reported as an internal error with the query's context.
		if r := recover(); r != nil {
			q, err = nil, kerr.New(kerr.Internal, kerr.CodeInternal, "internal error compiling query: %v", r)
		}
	}()
	res, out, err := compileAll(text, opts)
	if err != nil {
		return nil, err
	}
	props := map[string]any{}
	for k, v := range res.Properties {
		props[k] = v
	}
	if len(res.Options) > 0 {
		props["Options"] = res.Options
	}
	return &Query{SQL: out.SQL, Args: out.Args, Columns: out.Columns, Properties: props, Databases: res.Databases}, nil
}

func compileAll(text string, opts Options) (*sem.Result, *compile.Output, error) {
	script, err := Parse(text)
	if err != nil {
		return nil, nil, err
	}
	res, err := sem.Analyze(script, token.NewSource(text), sem.Options{
		Database: opts.Database, Catalog: opts.Catalog, Parameters: opts.Parameters, Now: opts.Now})
	if err != nil {
		return nil, nil, err
	}
	out, err := compile.Compile(res.Plan)
	if err != nil {
		return nil, nil, kerr.As(err)
	}
	return res, out, nil
}

// Format prints a query in canonical form (for `odx kql fmt`).
func Format(text string) (string, error) {
	script, err := Parse(text)
	if err != nil {
		return "", err
	}
	return script.String(), nil
}

// Explain prints the canonical query, the typed plan, the SQL and its
// arguments (for `odx kql explain`).
func Explain(text string, opts Options) (string, error) {
	script, err := Parse(text)
	if err != nil {
		return "", err
	}
	res, out, err := compileAll(text, opts)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("-- query\n")
	b.WriteString(script.String())
	b.WriteString("\n\n-- plan\n")
	b.WriteString(sem.Explain(res.Plan))
	b.WriteString("\n-- columns\n")
	for _, c := range out.Columns {
		fmt.Fprintf(&b, "%s:%s\n", c.Name, c.Type)
	}
	b.WriteString("\n-- sql\n")
	b.WriteString(out.SQL)
	b.WriteString("\n\n-- args\n")
	for i, a := range out.Args {
		fmt.Fprintf(&b, "$%d = %#v\n", i+1, a)
	}
	return b.String(), nil
}
