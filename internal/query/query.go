// Package query runs KQL queries: it compiles the text against the current
// catalog snapshot, runs the SQL on the engine and streams the rows as a
// result.Table in the value conventions of package result.
package query

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/kql"
	"odx/internal/kql/schema"
	"odx/internal/result"
	"odx/internal/storage"
)

// Compiled is a query lowered to DuckDB SQL.
type Compiled struct {
	SQL     string
	Args    []any
	Columns []schema.Column
	// Properties go to the result set (e.g. the `render` visualization).
	Properties map[string]any
	// Databases are the databases the query reads; Compile authorizes each.
	Databases []string
}

// CompileRequest is what a compiler needs to lower one query.
type CompileRequest struct {
	Text       string
	Database   string
	Catalog    schema.Catalog
	Parameters map[string]string
	Now        time.Time
}

// CompileFunc lowers KQL text to SQL.
type CompileFunc func(CompileRequest) (*Compiled, error)

// compileKQL is odx's KQL compiler: queries and `.set-or-append` compile
// through the same code path.
func compileKQL(req CompileRequest) (*Compiled, error) {
	q, err := kql.Compile(req.Text, kql.Options{Database: req.Database, Catalog: req.Catalog, Parameters: req.Parameters, Now: req.Now})
	if err != nil {
		return nil, err
	}
	return &Compiled{SQL: q.SQL, Args: q.Args, Columns: q.Columns, Properties: q.Properties, Databases: q.Databases}, nil
}

// Options tunes the Service.
type Options struct {
	// Compile overrides the KQL compiler (tests); nil uses odx's compiler.
	Compile CompileFunc
	Logger  *slog.Logger
}

// Service runs queries.
type Service struct {
	store   *storage.Store
	compile CompileFunc
	log     *slog.Logger
}

// New returns a query service over store.
func New(store *storage.Store, opts Options) *Service {
	s := &Service{store: store, compile: opts.Compile, log: opts.Logger}
	if s.compile == nil {
		s.compile = compileKQL
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Authorize checks that caller may perform op on database, which must exist.
func Authorize(store *storage.Store, caller access.Caller, op access.Op, database string) error {
	snap := store.Snapshot()
	if _, ok := snap.DB(database); !ok {
		return kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found; create it with `.create database %s`", database, database)
	}
	if !caller.Can(op, snap.RolesOf(database, caller)) {
		return access.Forbidden(caller, op, database)
	}
	return nil
}

// clusterContext reports whether a request names no real database: the
// clients' default name (or none) when no database of that name exists. Such
// a query can still compute (`print`, `range`, `datatable`) but sees no tables.
func clusterContext(store *storage.Store, database string) bool {
	if database != "" && database != access.DefaultDatabase {
		return false
	}
	_, exists := store.Snapshot().DB(database)
	return !exists
}

// Compile lowers text against the current catalog without running it, and
// checks that caller may view every database the query reads (a query can
// reach other databases with database("D").T).
func (s *Service) Compile(caller access.Caller, database, text string, params map[string]string) (*Compiled, error) {
	q, err := s.compile(CompileRequest{Text: text, Database: database, Catalog: s.store.Catalog(), Parameters: params, Now: s.store.Now().UTC()})
	if err != nil {
		return nil, err
	}
	for _, db := range q.Databases {
		if err := Authorize(s.store, caller, access.OpView, db); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// Query compiles and runs text in database for caller. The returned set
// streams from the database: the caller must Close it.
func (s *Service) Query(ctx context.Context, caller access.Caller, database, text string, params map[string]string) (*result.Set, error) {
	if !clusterContext(s.store, database) {
		if err := Authorize(s.store, caller, access.OpView, database); err != nil {
			return nil, err
		}
	}
	q, err := s.Compile(caller, database, text, params)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Engine().Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return nil, executionError(ctx, err)
	}
	t := newTable("PrimaryResult", rows, q.Columns, ctx)
	return &result.Set{Tables: []result.Table{t}, Properties: q.Properties}, nil
}

// executionError classifies a failure of the engine while running a query.
func executionError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return kerr.Wrap(err, kerr.Timeout, kerr.CodeTimeout, "Query execution has exceeded the allowed limits")
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return kerr.Wrap(err, kerr.Timeout, kerr.CodeTimeout, "Query was cancelled")
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	return kerr.Wrap(err, kerr.BadRequest, kerr.CodeBadRequest, "Query execution failed")
}
