// Package mgmt runs Kusto management commands (`.create table`, `.show
// extents`, `.set-or-append`, policies, principals, mappings, ...): a
// hand-written parser that reports positions, and executors over the storage
// layer that answer with ADX's result shapes.
package mgmt

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/query"
	"odx/internal/result"
	"odx/internal/storage"
)

// DefaultDatabase is the database name Kusto clients send when none is set.
const DefaultDatabase = access.DefaultDatabase

// Options tunes the Service.
type Options struct {
	Logger *slog.Logger
	// Version is odx's build version, shown by `.show version`.
	Version string
	// Address is the data endpoint, shown by `.show cluster`.
	Address string
}

// Service executes management commands.
type Service struct {
	store   *storage.Store
	q       *query.Service
	log     *slog.Logger
	version string
	address string
	started time.Time
}

// New returns a command service over store; q compiles the queries of
// `.set-or-append` and friends.
func New(store *storage.Store, q *query.Service, opts Options) *Service {
	s := &Service{store: store, q: q, log: opts.Logger, version: opts.Version, address: opts.Address, started: time.Now().UTC()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.version == "" {
		s.version = "1.0.0"
	}
	if s.address == "" {
		s.address = "https://127.0.0.1:8443"
	}
	return s
}

// run is the context of one command execution.
type run struct {
	*Service
	ctx     context.Context
	caller  access.Caller
	current string // the request's database ("" when none)
	c       *command
}

// Execute parses and runs one management command for caller, with database
// as the request's database (it may be NetDefaultDB or empty).
func (s *Service) Execute(ctx context.Context, caller access.Caller, database, text string) (set *result.Set, err error) {
	defer func() {
		// A bug in one command must not take the server down.
		if p := recover(); p != nil {
			s.log.Error("management command panicked", "command", text, "panic", p, "stack", string(debug.Stack()))
			set, err = nil, kerr.New(kerr.Internal, kerr.CodeInternal, "internal error running the command: %v", p)
		}
	}()
	c, err := parse(text)
	if err != nil {
		return nil, err
	}
	if database == DefaultDatabase {
		database = ""
	}
	r := &run{Service: s, ctx: ctx, caller: caller, current: database, c: c}
	exec, ok := executors[c.kind]
	if !ok {
		return nil, kerr.BadRequestf("the command '%s' is not supported by odx", c.kind)
	}
	start := time.Now()
	set, err = exec(r)
	if err != nil {
		s.log.Debug("management command failed", "command", c.kind, "caller", caller.Name, "err", err)
		return nil, err
	}
	s.log.Debug("management command", "command", c.kind, "caller", caller.Name, "duration", time.Since(start))
	if c.pipe != "" {
		if len(set.Tables) == 0 {
			return nil, kerr.BadRequestf("the command '%s' has no result to pipe into KQL", c.kind)
		}
		for _, extra := range set.Tables[1:] {
			extra.Close()
		}
		piped, err := s.q.Pipe(ctx, caller, database, set.Tables[0], c.pipe)
		if err != nil {
			if ke := kerr.As(err); ke.Line > 0 {
				ke.Line, ke.Column = shiftTo(text, c.pipePos, ke.Line, ke.Column)
			}
			return nil, err
		}
		return piped, nil
	}
	return set, nil
}

var executors map[string]func(*run) (*result.Set, error)

func init() {
	executors = map[string]func(*run) (*result.Set, error){
		".create database": (*run).createDatabase,
		".drop database":   (*run).dropDatabase,
		".show databases":  (*run).showDatabases,
		".show database":   (*run).showDatabase,

		".show database schema":    (*run).showDatabaseSchema,
		".show database cslschema": (*run).showDatabaseSchema,

		".show principals":      (*run).showPrincipals,
		".add principals":       (*run).changePrincipals,
		".drop principals":      (*run).changePrincipals,
		".set principals":       (*run).changePrincipals,
		".create table":         (*run).createTables,
		".create tables":        (*run).createTables,
		".create-merge table":   (*run).createTables,
		".create-merge tables":  (*run).createTables,
		".alter table":          (*run).createTables,
		".alter-merge table":    (*run).createTables,
		".alter table details":  (*run).alterTableDetails,
		".drop tables":          (*run).dropTables,
		".rename tables":        (*run).renameTables,
		".show tables":          (*run).showTables,
		".show table":           (*run).showTable,
		".show table schema":    (*run).showTableSchema,
		".show table cslschema": (*run).showTableSchema,
		".alter column":         (*run).alterColumn,
		".drop column":          (*run).dropColumns,

		".set":            (*run).ingestQuery,
		".append":         (*run).ingestQuery,
		".set-or-append":  (*run).ingestQuery,
		".set-or-replace": (*run).ingestQuery,
		".show extents":   (*run).showExtents,
		".drop extents":   (*run).dropExtents,

		".show version": (*run).showVersion,
		".show cluster": (*run).showCluster,

		".create function":          (*run).putFunction,
		".create-or-alter function": (*run).putFunction,
		".alter function":           (*run).putFunction,
		".drop function":            (*run).dropFunction,
		".show functions":           (*run).showFunctions,
		".show function":            (*run).showFunctions,

		".alter policy":       (*run).alterPolicy,
		".alter-merge policy": (*run).alterPolicy,
		".show policy":        (*run).showPolicy,
		".delete policy":      (*run).alterPolicy,

		".create mapping":          (*run).putMapping,
		".create-or-alter mapping": (*run).putMapping,
		".alter mapping":           (*run).putMapping,
		".drop mapping":            (*run).dropMapping,
		".show mappings":           (*run).showMappings,
	}
}

// database resolves the database a command acts on and checks that the
// caller may perform op there.
func (r *run) database(op access.Op) (*storage.Database, error) {
	name := r.c.db
	if name == "" {
		name = r.current
	}
	if name == "" {
		return nil, kerr.BadRequestf("the command '%s' needs a database: name it in the request or in the command", r.c.kind)
	}
	if err := query.Authorize(r.store, r.caller, op, name); err != nil {
		return nil, err
	}
	d, ok := r.store.Snapshot().DB(name)
	if !ok {
		return nil, kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found", name)
	}
	return d, nil
}

// table resolves the command's table in d.
func (r *run) table(d *storage.Database, name string) (*storage.Table, error) {
	t, ok := d.Tbl(name)
	if !ok {
		return nil, kerr.New(kerr.BadRequest, kerr.CodeTableMissing, "Table '%s' was not found in database '%s'", name, d.Name())
	}
	return t, nil
}

func (r *run) clusterAdmin() error {
	if !r.caller.Can(access.OpClusterAdmin, nil) {
		return access.Forbidden(r.caller, access.OpClusterAdmin, "")
	}
	return nil
}

// refresh re-reads a database after a change.
func (r *run) refresh(name string) *storage.Database {
	d, _ := r.store.Snapshot().DB(name)
	return d
}

func col(name string, t types.Type) result.Column { return result.Column{Name: name, Type: t} }

func one(name string, cols []result.Column, rows [][]any) *result.Set {
	if rows == nil {
		rows = [][]any{}
	}
	return &result.Set{Tables: []result.Table{&result.Static{TableName: name, Cols: cols, Rows: rows}}}
}

func (r *run) showVersion() (*result.Set, error) {
	return one("Table_0", []result.Column{col("BuildVersion", types.String), col("BuildTime", types.DateTime),
		col("ServiceType", types.String), col("ProductVersion", types.String)},
		[][]any{{r.version, r.started, "Engine", "odx " + r.version}}), nil
}

func (r *run) showCluster() (*result.Set, error) {
	host := strings.TrimPrefix(strings.TrimPrefix(r.address, "https://"), "http://")
	return one("Table_0", []result.Column{col("NodeId", types.String), col("Address", types.String), col("Name", types.String),
		col("StartTime", types.DateTime), col("IsAdmin", types.Bool), col("MachineTotalMemory", types.Long),
		col("MachineAvailableMemory", types.Long), col("ProcessorCount", types.Int), col("HotExtentsOriginalSize", types.Long),
		col("HotExtentsSize", types.Long), col("ColdExtentsOriginalSize", types.Long), col("ColdExtentsSize", types.Long),
		col("EnvironmentDescription", types.Dynamic), col("ProductVersion", types.String), col("Reserved0", types.Int),
		col("ClockDescription", types.Dynamic), col("RuntimeDescription", types.Dynamic)},
		[][]any{{"odx-0", "net.tcp://" + host + "/", "odx-0", r.started, true, int64(0), int64(0), int32(runtime.NumCPU()),
			int64(0), int64(0), int64(0), int64(0), `{}`, "odx " + r.version, int32(0), `{}`, `{"GoVersion":"` + runtime.Version() + `"}`}}), nil
}
