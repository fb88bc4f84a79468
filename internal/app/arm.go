package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"odx/internal/access"
	"odx/internal/arm"
	"odx/internal/auth"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// mountARM serves the Microsoft.Kusto management API behind the token guard,
// with ARM's error envelope for 401 and 403.
func (a *App) mountARM(mux *http.ServeMux) {
	guard := a.authority.Guard(func(w http.ResponseWriter, r *http.Request, status int, code, message string) {
		arm.ARMError(w, status, code, message)
	})
	a.arm = arm.NewHandler(arm.Options{
		Documents: arm.DocumentFuncs{
			Put: a.store.PutDoc,
			Get: a.store.GetDoc,
			List: func(ctx context.Context, kind, prefix string) ([]arm.Doc, error) {
				docs, err := a.store.ListDocs(ctx, kind, prefix)
				out := make([]arm.Doc, len(docs))
				for i, d := range docs {
					out[i] = arm.Doc{ID: d.ID, Body: d.Body}
				}
				return out, err
			},
			Delete: a.store.DeleteDoc,
		},
		DataPlane:    dataPlane{store: a.store},
		Connections:  a.dc.armConnections(),
		Logger:       a.log,
		DataPlaneURL: a.creds.DataEndpoint,
		BaseURL:      a.cfg.File.PublicURL,
		Authorize:    a.armAuthorize,
	})
	h := guard.Middleware(a.arm)
	mux.Handle("/subscriptions/", h)
	mux.Handle("/providers/", h)
}

// armAuthorize applies the caller's ARM roles as Azure RBAC does: Owner and
// Contributor may do anything, Reader only read, each everywhere or at its
// assigned scope and below. Assignments are read live from the principal
// registry, so `odx principals assign` takes effect without a new token.
func (a *App) armAuthorize(r *http.Request, action, scope string) (bool, string) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return false, "an unauthenticated client"
	}
	caller := "The client '" + p.ClientID + "' with object id '" + p.ObjectID + "'"
	read := arm.IsReadAction(action)
	if app, found, err := a.authority.LookupApp(p.ClientID); err == nil && found {
		return app.ARMAllows(read, scope), caller
	}
	// A principal removed since its token was issued keeps the token's roles
	// until it expires, as with Azure AD.
	return auth.App{Roles: p.Roles}.ARMAllows(read, scope), caller
}

// dataPlane shows the storage layer to ARM: a database made through ARM is
// the data plane's database, with its retention and caching policies.
type dataPlane struct{ store *storage.Store }

// Kusto's policy documents, as `.show database D policy retention|caching` prints them.
type retentionPolicy struct {
	SoftDeletePeriod string `json:"SoftDeletePeriod"`
	Recoverability   string `json:"Recoverability"`
}

// cachingPolicy is ADX's caching policy shape: each span wrapped in {"Value": ...}.
type cachingPolicy struct {
	DataHotSpan  spanValue `json:"DataHotSpan"`
	IndexHotSpan spanValue `json:"IndexHotSpan"`
}

type spanValue struct {
	Value string `json:"Value"`
}

func (d dataPlane) spec(db *storage.Database) arm.DatabaseSpec {
	spec := arm.DatabaseSpec{Name: db.Name()}
	spec.SoftDeletePeriod, _ = storage.SoftDeletePeriod(db.Policies["retention"])
	spec.HotCachePeriod, _ = storage.HotCachePeriod(db.Policies["caching"])
	return spec
}

func (d dataPlane) ListDatabases(ctx context.Context) ([]arm.DatabaseSpec, error) {
	var out []arm.DatabaseSpec
	for _, db := range d.store.Snapshot().DBs() {
		out = append(out, d.spec(db))
	}
	return out, nil
}

func (d dataPlane) GetDatabase(ctx context.Context, name string) (arm.DatabaseSpec, bool, error) {
	db, ok := d.store.Snapshot().DB(name)
	if !ok {
		return arm.DatabaseSpec{}, false, nil
	}
	return d.spec(db), true, nil
}

func (d dataPlane) PutDatabase(ctx context.Context, spec arm.DatabaseSpec) error {
	if _, err := d.store.CreateDatabase(ctx, spec.Name, true, true, storage.Principal{}); err != nil {
		return err
	}
	retention := ""
	if spec.SoftDeletePeriod > 0 {
		b, _ := json.Marshal(retentionPolicy{SoftDeletePeriod: types.FormatTimeSpan(int64(spec.SoftDeletePeriod / 100)), Recoverability: "Enabled"})
		retention = string(b)
	}
	if err := d.store.SetPolicy(ctx, spec.Name, "", "retention", retention); err != nil {
		return err
	}
	caching := ""
	if spec.HotCachePeriod > 0 {
		span := types.FormatTimeSpan(int64(spec.HotCachePeriod / 100))
		b, _ := json.Marshal(cachingPolicy{DataHotSpan: spanValue{span}, IndexHotSpan: spanValue{span}})
		caching = string(b)
	}
	return d.store.SetPolicy(ctx, spec.Name, "", "caching", caching)
}

func (d dataPlane) DropDatabase(ctx context.Context, name string) error {
	_, err := d.store.DropDatabase(ctx, name, true)
	return err
}

// armRoles maps ARM's database principal roles onto Kusto's database roles.
var armRoles = map[string]string{
	"admin":              access.RoleAdmin,
	"ingestor":           access.RoleIngestor,
	"monitor":            access.RoleMonitor,
	"user":               access.RoleUser,
	"unrestrictedviewer": access.RoleUnrestrictedViewer,
	"viewer":             access.RoleViewer,
}

func (d dataPlane) changePrincipal(ctx context.Context, database string, p arm.DatabasePrincipal, how storage.PrincipalChange) error {
	role, ok := armRoles[strings.ToLower(p.Role)]
	if !ok {
		role = access.RoleViewer
	}
	return d.store.ChangePrincipals(ctx, database, role, how, []storage.Principal{{FQN: p.FQN, Notes: "ARM principal assignment"}})
}

func (d dataPlane) AddDatabasePrincipal(ctx context.Context, database string, p arm.DatabasePrincipal) error {
	return d.changePrincipal(ctx, database, p, storage.PrincipalsAdd)
}

func (d dataPlane) DropDatabasePrincipal(ctx context.Context, database string, p arm.DatabasePrincipal) error {
	return d.changePrincipal(ctx, database, p, storage.PrincipalsDrop)
}

func (d dataPlane) TableExists(ctx context.Context, database, table string) (bool, error) {
	db, ok := d.store.Snapshot().DB(database)
	if !ok {
		return false, nil
	}
	_, ok = db.Tbl(table)
	return ok, nil
}

func (d dataPlane) MappingKind(ctx context.Context, database, table, mapping string) (string, bool, error) {
	db, ok := d.store.Snapshot().DB(database)
	if !ok {
		return "", false, nil
	}
	if t, ok := db.Tbl(table); ok {
		for _, m := range t.Mappings {
			if m.Name == mapping {
				return m.Kind, true, nil
			}
		}
	}
	for _, m := range db.Mappings {
		if m.Name == mapping {
			return m.Kind, true, nil
		}
	}
	return "", false, nil
}
