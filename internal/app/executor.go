package app

import (
	"context"
	"strings"

	"odx/internal/access"
	"odx/internal/auth"
	"odx/internal/kerr"
	"odx/internal/kustoapi"
	"odx/internal/mgmt"
	"odx/internal/query"
	"odx/internal/result"
)

// executor connects the Kusto REST layer to the query and command services,
// turning the authenticated token principal into a Kusto caller.
type executor struct {
	query *query.Service
	mgmt  *mgmt.Service
}

func callerFrom(ctx context.Context) (access.Caller, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		// The auth middleware guards every route that reaches here; a missing
		// principal is a wiring bug, never a reason to let the request through.
		return access.Caller{}, kerr.New(kerr.Unauthorized, kerr.CodeUnauthorized, "the request carries no authenticated principal")
	}
	return access.Caller{Name: p.KustoName(), DisplayName: p.DisplayName, ClusterRoles: clusterRoles(p)}, nil
}

// clusterRoles maps token roles onto Kusto's cluster roles; an admin is also a viewer.
func clusterRoles(p auth.Principal) []string {
	var roles []string
	if p.HasRole(auth.RoleAllDatabasesAdmin) {
		roles = append(roles, access.ClusterAdmin)
	}
	if p.HasRole(auth.RoleAllDatabasesViewer) {
		roles = append(roles, access.ClusterViewer)
	}
	return roles
}

func (e *executor) Query(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	// Kusto accepts `.show` commands on the query endpoint too.
	if strings.HasPrefix(strings.TrimSpace(req.Text), ".") {
		return e.mgmt.Execute(ctx, caller, req.Database, req.Text)
	}
	return e.query.Query(ctx, caller, req.Database, req.Text, req.Parameters)
}

func (e *executor) Mgmt(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	return e.mgmt.Execute(ctx, caller, req.Database, req.Text)
}
