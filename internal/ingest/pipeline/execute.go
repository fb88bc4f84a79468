package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"odx/internal/access"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
	"odx/internal/storage"
)

// Execute runs a command for which Handles is true, for caller, with
// database as the request's database.
func (s *Service) Execute(ctx context.Context, caller access.Caller, database, text string) (*result.Set, error) {
	if database == access.DefaultDatabase {
		database = ""
	}
	sc := &cmdScanner{src: text}
	sc.skipSpace()
	sc.punct('.')
	if sc.keyword("ingest") {
		c, err := parseIngest(text)
		if err != nil {
			return nil, err
		}
		return s.runIngest(ctx, caller, database, c)
	}
	c, err := parseShow(text)
	if err != nil {
		return nil, err
	}
	if c.failures {
		return s.showFailures(ctx, caller, c.operationID)
	}
	return s.showOperations(ctx, caller, c.ids)
}

func col(name string, t types.Type) result.Column { return result.Column{Name: name, Type: t} }

func table(cols []result.Column, rows [][]any) *result.Set {
	if rows == nil {
		rows = [][]any{}
	}
	return &result.Set{Tables: []result.Table{&result.Static{TableName: "Table_0", Cols: cols, Rows: rows}}}
}

var ingestResultColumns = []result.Column{col("ExtentId", types.Guid), col("ItemLoaded", types.String), col("Duration", types.TimeSpan),
	col("HasErrors", types.Bool), col("OperationId", types.Guid)}

func (s *Service) runIngest(ctx context.Context, caller access.Caller, database string, c *ingestCommand) (*result.Set, error) {
	if database == "" {
		return nil, kerr.BadRequestf("'.ingest' needs a database: name it in the request (the client's database)")
	}
	snap := s.store.Snapshot()
	if _, ok := snap.DB(database); !ok {
		return nil, kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found", database)
	}
	if !caller.Can(access.OpIngest, snap.RolesOf(database, caller)) {
		return nil, access.Forbidden(caller, access.OpIngest, database)
	}
	p, err := props.Parse(c.props)
	if err != nil {
		return nil, err
	}
	opID := newID()
	base := Request{Database: database, Table: c.table, Props: p, OperationID: opID, OperationKind: KindPull, Principal: caller.Name}
	if c.inline {
		base.Source = "inline"
		if p.Format == "" {
			p.Format = "csv"
		}
	}
	run := func(ctx context.Context) ([][]any, int64, error) {
		if c.inline {
			start := time.Now()
			res, err := s.IngestReader(ctx, base, strings.NewReader(c.data))
			if err != nil {
				return nil, res.Rows, err
			}
			return extentRows(res, "inline", start), res.Rows, nil
		}
		var rows [][]any
		var total int64
		for _, src := range c.sources {
			start := time.Now()
			rc, name, err := s.openSource(ctx, src)
			req := base
			req.Source = name
			if err != nil {
				var res Result
				return rows, total, s.failSource(ctx, req, &res, err)
			}
			res, err := s.IngestReader(ctx, req, rc)
			rc.Close()
			total += res.Rows
			if err != nil {
				return rows, total, err
			}
			rows = append(rows, extentRows(res, name, start)...)
		}
		return rows, total, nil
	}
	// outcome turns a finished run into the operation `.show operations` reports.
	outcome := func(ctx context.Context, n int64, err error) Operation {
		op := Operation{State: StateCompleted, Rows: n, Status: fmt.Sprintf("%d rows ingested", n)}
		if err != nil {
			op.State, op.Status, op.ShouldRetry = StateFailed, err.Error(), !isPermanent(kerr.As(err))
			if n > 0 {
				op.State = StatePartiallySucceeded
			}
		} else if fails, _ := s.store.ListFailures(ctx, storage.FailureFilter{OperationID: opID, Limit: 1}); len(fails) > 0 {
			op.State = StatePartiallySucceeded
			op.Status = fmt.Sprintf("%d rows ingested; some records failed, see .show ingestion failures with (OperationId = '%s')", n, opID)
		}
		return op
	}
	op := Operation{ID: opID, Kind: KindPull, Database: database, Table: c.table, Principal: caller.Name}
	if c.async {
		s.ops.start(op, func(ctx context.Context) (Operation, error) {
			_, n, err := run(ctx)
			return outcome(ctx, n, err), nil
		})
		return table([]result.Column{col("OperationId", types.Guid)}, [][]any{{opID}}), nil
	}
	started := s.store.Now().UTC()
	rows, n, err := run(ctx)
	if !c.inline {
		// A pulled ingestion shows in `.show operations` too, as in ADX.
		done := outcome(ctx, n, err)
		done.ID, done.Kind, done.Database, done.Table, done.Principal = op.ID, op.Kind, op.Database, op.Table, op.Principal
		done.StartedOn, done.LastUpdatedOn = started, s.store.Now().UTC()
		s.ops.put(context.WithoutCancel(ctx), done)
	}
	if err != nil {
		return nil, err
	}
	return table(ingestResultColumns, rows), nil
}

func extentRows(res Result, item string, start time.Time) [][]any {
	var out [][]any
	for _, e := range res.Extents {
		if e.ID == "" {
			continue
		}
		out = append(out, []any{e.ID, item, int64(time.Since(start) / 100), len(res.Failures) > 0, res.OperationID})
	}
	return out
}

var operationColumns = []result.Column{col("OperationId", types.Guid), col("Operation", types.String), col("NodeId", types.String),
	col("StartedOn", types.DateTime), col("LastUpdatedOn", types.DateTime), col("Duration", types.TimeSpan), col("State", types.String),
	col("Status", types.String), col("RootActivityId", types.Guid), col("ShouldRetry", types.Bool), col("Database", types.String),
	col("Principal", types.String), col("User", types.String), col("AdminEpochStartTime", types.DateTime)}

// showOperations lists ingestion operations the caller may see: its own,
// and those of databases it may monitor.
func (s *Service) showOperations(ctx context.Context, caller access.Caller, ids []string) (*result.Set, error) {
	var ops []Operation
	if len(ids) == 0 {
		all, err := s.ops.list(ctx, "")
		if err != nil {
			return nil, err
		}
		ops = all
	}
	for _, id := range ids {
		found, err := s.ops.list(ctx, id)
		if err != nil {
			return nil, err
		}
		ops = append(ops, found...)
	}
	snap := s.store.Snapshot()
	var rows [][]any
	for _, op := range ops {
		if !access.SameFQN(op.Principal, caller.Name) && !caller.Can(access.OpMonitor, snap.RolesOf(op.Database, caller)) {
			continue
		}
		end := op.LastUpdatedOn
		if op.State == StateInProgress {
			end = s.store.Now().UTC()
		}
		rows = append(rows, []any{op.ID, op.Kind, "odx-0", op.StartedOn, op.LastUpdatedOn, int64(end.Sub(op.StartedOn) / 100),
			op.State, op.Status, op.ID, op.ShouldRetry, op.Database, op.Principal, op.Principal, time.Time{}})
	}
	return table(operationColumns, rows), nil
}

var failureColumns = []result.Column{col("OperationId", types.String), col("Database", types.String), col("Table", types.String),
	col("FailedOn", types.DateTime), col("IngestionSourcePath", types.String), col("Details", types.String),
	col("FailureKind", types.String), col("RootActivityId", types.String), col("OperationKind", types.String),
	col("OriginatesFromUpdatePolicy", types.Bool), col("ErrorCode", types.String), col("Principal", types.String),
	col("ShouldRetry", types.Bool), col("User", types.String), col("IngestionProperties", types.String),
	col("NumberOfSources", types.Int)}

// showFailures lists the failures of the last 14 days in databases the
// caller may monitor (every database for cluster admins and viewers).
func (s *Service) showFailures(ctx context.Context, caller access.Caller, operationID string) (*result.Set, error) {
	snap := s.store.Snapshot()
	f := storage.FailureFilter{OperationID: operationID}
	if !caller.HasClusterRole(access.ClusterAdmin) && !caller.HasClusterRole(access.ClusterViewer) {
		f.Databases = []string{}
		for _, d := range snap.DBs() {
			if caller.Can(access.OpMonitor, snap.RolesOf(d.Name(), caller)) {
				f.Databases = append(f.Databases, d.Name())
			}
		}
	}
	list, err := s.store.ListFailures(ctx, f)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, 0, len(list))
	for _, x := range list {
		rows = append(rows, []any{x.OperationID, x.Database, x.Table, x.FailedOn, x.IngestionSourcePath, x.Details, x.FailureKind,
			x.RootActivityID, x.OperationKind, x.OriginatesFromUpdatePolicy, x.ErrorCode, x.Principal, x.ShouldRetry, x.User,
			x.IngestionProperties, x.NumberOfSources})
	}
	return table(failureColumns, rows), nil
}
