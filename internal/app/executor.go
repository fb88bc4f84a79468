package app

import (
	"context"
	"strings"

	"odx/internal/access"
	"odx/internal/connect/connectcmd"
	"odx/internal/ingest/pipeline"
	"odx/internal/kerr"
	"odx/internal/kustoapi"
	"odx/internal/query"
	"odx/internal/result"
)

// commands is one family of management commands, owned by the package that
// does the work. The executor offers a command to each family in turn; mgmt,
// which knows every other command, comes last.
type commands struct {
	handles func(text string) bool
	execute func(ctx context.Context, caller access.Caller, database, text string) (*result.Set, error)
}

// executor connects the Kusto REST layer to the query service and the
// command families, turning the authenticated token principal into a Kusto caller.
type executor struct {
	query    *query.Service
	commands []commands
}

func (a *App) executor() *executor {
	shows := connectcmd.Command{Manager: a.dc.manager, Roles: func(db string, c access.Caller) []string {
		return a.store.Snapshot().RolesOf(db, c)
	}, Blobs: a.dc.blobCounts}
	return &executor{
		query: a.query,
		commands: []commands{
			{pipeline.Handles, a.ingest.Execute}, // .ingest into, .show ingestion failures, .show operations
			{connectcmd.Handles, shows.Execute},  // .show data connections
			{func(string) bool { return true }, a.mgmt.Execute},
		},
	}
}

func (e *executor) Query(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	// Kusto accepts `.show` commands on the query endpoint too.
	if strings.HasPrefix(strings.TrimSpace(req.Text), ".") {
		return e.Mgmt(ctx, req)
	}
	caller, err := pipeline.CallerFromToken(ctx)
	if err != nil {
		return nil, err
	}
	return e.query.Query(ctx, caller, req.Database, req.Text, req.Parameters)
}

func (e *executor) Mgmt(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	caller, err := pipeline.CallerFromToken(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range e.commands {
		if c.handles(req.Text) {
			return c.execute(ctx, caller, req.Database, req.Text)
		}
	}
	return nil, kerr.BadRequestf("unknown command") // unreachable: mgmt handles the rest
}

var _ kustoapi.Executor = (*executor)(nil)
