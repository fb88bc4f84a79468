package arm

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// databaseResource is a ReadWrite database as stored and returned.
type databaseResource struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"` // cluster/database
	Type       string             `json:"type"`
	Location   string             `json:"location,omitempty"`
	Kind       string             `json:"kind"`
	Properties databaseProperties `json:"properties"`
}

type databaseProperties struct {
	SoftDeletePeriod  string `json:"softDeletePeriod,omitempty"`
	HotCachePeriod    string `json:"hotCachePeriod,omitempty"`
	ProvisioningState string `json:"provisioningState"`
	IsFollowed        bool   `json:"isFollowed"`
}

// databaseName returns the database part of "cluster/database".
func (d databaseResource) databaseName() string {
	_, db, _ := strings.Cut(d.Name, "/")
	return db
}

type databaseBody struct {
	Kind       string `json:"kind"`
	Location   string `json:"location"`
	Properties struct {
		SoftDeletePeriod *string `json:"softDeletePeriod"`
		HotCachePeriod   *string `json:"hotCachePeriod"`
	} `json:"properties"`
}

const databaseKindReadWrite = "ReadWrite"

// databaseNameRule: letters, digits, spaces, dots, underscores and hyphens, up to 260.
var databaseNameRule = regexp.MustCompile(`^[a-zA-Z0-9 ._-]{1,260}$`)

func databaseNameProblem(name string) string {
	if !databaseNameRule.MatchString(name) || strings.TrimSpace(name) == "" {
		return "Name '" + name + "' is not valid: a database name has up to 260 letters, digits, spaces, dots, underscores or hyphens."
	}
	return ""
}

func specOf(d databaseResource) (DatabaseSpec, error) {
	spec := DatabaseSpec{Name: d.databaseName()}
	var err error
	if p := d.Properties.SoftDeletePeriod; p != "" {
		if spec.SoftDeletePeriod, err = parseISODuration(p); err != nil {
			return spec, badRequest("properties.softDeletePeriod", "Invalid properties.softDeletePeriod: %s.", err.Error())
		}
	}
	if p := d.Properties.HotCachePeriod; p != "" {
		if spec.HotCachePeriod, err = parseISODuration(p); err != nil {
			return spec, badRequest("properties.hotCachePeriod", "Invalid properties.hotCachePeriod: %s.", err.Error())
		}
	}
	return spec, nil
}

// periodString keeps the caller's spelling of a period while the data plane
// agrees with it, and otherwise shows what the data plane has.
func periodString(stored string, actual time.Duration) string {
	if actual == 0 {
		return ""
	}
	if stored != "" {
		if d, err := parseISODuration(stored); err == nil && d == actual {
			return stored
		}
	}
	return formatISODuration(actual)
}

// databaseOwners maps each lower-cased database name ARM knows to the
// database document's id, across all clusters.
func (h *Handler) databaseOwners(ctx context.Context) (map[string]databaseResource, error) {
	dbs, err := listUnder[databaseResource](ctx, h, KindDatabase, "/subscriptions")
	if err != nil {
		return nil, err
	}
	owners := make(map[string]databaseResource, len(dbs))
	for _, d := range dbs {
		owners[strings.ToLower(d.databaseName())] = d
	}
	return owners, nil
}

// findDatabase resolves a database of a cluster: the ARM document under the
// cluster, overlaid with the data plane's policies, or a database only the
// data plane knows (made with .create database) that no other cluster claims.
func (h *Handler) findDatabase(ctx context.Context, rt route, cluster clusterResource) (databaseResource, bool, error) {
	var d databaseResource
	doc, err := h.load(ctx, KindDatabase, rt.databaseID(), &d)
	if err != nil {
		return d, false, err
	}
	spec, inDataPlane, err := h.dataPlane.GetDatabase(ctx, rt.database)
	if err != nil {
		return d, false, err
	}
	if doc {
		if d.Properties.ProvisioningState != stateSucceeded {
			return d, true, nil // the data plane catches up when the operation finishes
		}
		if !inDataPlane {
			return d, false, nil // dropped through the data plane
		}
		d.Properties.SoftDeletePeriod = periodString(d.Properties.SoftDeletePeriod, spec.SoftDeletePeriod)
		d.Properties.HotCachePeriod = periodString(d.Properties.HotCachePeriod, spec.HotCachePeriod)
		return d, true, nil
	}
	if !inDataPlane {
		return d, false, nil
	}
	owners, err := h.databaseOwners(ctx)
	if err != nil {
		return d, false, err
	}
	if _, claimed := owners[strings.ToLower(spec.Name)]; claimed {
		return d, false, nil
	}
	return h.dataPlaneDatabase(rt, cluster, spec), true, nil
}

func (h *Handler) dataPlaneDatabase(rt route, cluster clusterResource, spec DatabaseSpec) databaseResource {
	return databaseResource{
		ID: rt.clusterID() + "/Databases/" + spec.Name, Name: rt.cluster + "/" + spec.Name,
		Type: typeDatabase, Location: cluster.Location, Kind: databaseKindReadWrite,
		Properties: databaseProperties{
			SoftDeletePeriod:  periodString("", spec.SoftDeletePeriod),
			HotCachePeriod:    periodString("", spec.HotCachePeriod),
			ProvisioningState: stateSucceeded,
		},
	}
}

// requireDatabase loads a database for a request on one of its children.
func (h *Handler) requireDatabase(ctx context.Context, rt route) (clusterResource, databaseResource, error) {
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return cluster, databaseResource{}, err
	}
	d, ok, err := h.findDatabase(ctx, rt, cluster)
	if err != nil {
		return cluster, d, err
	}
	if !ok {
		return cluster, d, newError(http.StatusNotFound, "ParentResourceNotFound",
			"Can not perform requested operation on nested resource. Parent resource '%s/%s' not found.", rt.cluster, rt.database)
	}
	return cluster, d, nil
}

func (h *Handler) getDatabase(w http.ResponseWriter, r *http.Request, rt route) error {
	cluster, err := h.requireParentCluster(r.Context(), rt)
	if err != nil {
		return err
	}
	d, ok, err := h.findDatabase(r.Context(), rt, cluster)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("Database '%s' was not found in cluster '%s'.", rt.database, rt.cluster)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Handler) listDatabases(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return err
	}
	owners, err := h.databaseOwners(ctx)
	if err != nil {
		return err
	}
	specs, err := h.dataPlane.ListDatabases(ctx)
	if err != nil {
		return err
	}
	inDataPlane := make(map[string]DatabaseSpec, len(specs))
	for _, s := range specs {
		inDataPlane[strings.ToLower(s.Name)] = s
	}
	var out []databaseResource
	for name, d := range owners {
		if !strings.HasPrefix(key(d.ID), key(rt.clusterID())+"/") {
			continue
		}
		spec, ok := inDataPlane[name]
		if d.Properties.ProvisioningState == stateSucceeded {
			if !ok {
				continue
			}
			d.Properties.SoftDeletePeriod = periodString(d.Properties.SoftDeletePeriod, spec.SoftDeletePeriod)
			d.Properties.HotCachePeriod = periodString(d.Properties.HotCachePeriod, spec.HotCachePeriod)
		}
		out = append(out, d)
	}
	for name, spec := range inDataPlane {
		if _, claimed := owners[name]; !claimed {
			out = append(out, h.dataPlaneDatabase(rt, cluster, spec))
		}
	}
	slices.SortFunc(out, func(a, b databaseResource) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := pageOf(r, out, func(d databaseResource) string { return d.Name })
	if err != nil {
		return err
	}
	body := map[string]any{"value": orEmpty(page)}
	if next != "" {
		body["nextLink"] = h.requestBase(r) + next
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// pageOf applies $top (5..1000) and $skiptoken (the sort key of the last item
// of the previous page) to a sorted list, and returns the next page's path.
func pageOf[T any](r *http.Request, all []T, sortKey func(T) string) ([]T, string, error) {
	q := r.URL.Query()
	if skip := q.Get("$skiptoken"); skip != "" {
		i := 0
		for i < len(all) && sortKey(all[i]) <= skip {
			i++
		}
		all = all[i:]
	}
	topText := q.Get("$top")
	if topText == "" {
		return all, "", nil
	}
	top, err := strconv.Atoi(topText)
	if err != nil || top < 5 || top > 1000 {
		return nil, "", badRequest("$top", "Invalid $top '%s': expected a number from 5 to 1000.", topText)
	}
	if len(all) <= top {
		return all, "", nil
	}
	page := all[:top]
	q.Set("$skiptoken", sortKey(page[top-1]))
	return page, r.URL.Path + "?" + q.Encode(), nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (h *Handler) putDatabase(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeDatabase(w, r, rt, false)
}

func (h *Handler) patchDatabase(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeDatabase(w, r, rt, true)
}

func (h *Handler) writeDatabase(w http.ResponseWriter, r *http.Request, rt route, patch bool) error {
	var body databaseBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return err
	}
	existing, exists, err := h.findDatabase(ctx, rt, cluster)
	if err != nil {
		return err
	}
	if patch && !exists {
		return notFound("Database '%s' was not found in cluster '%s'.", rt.database, rt.cluster)
	}
	if exists && existing.Properties.ProvisioningState == stateDeleting {
		return newError(http.StatusConflict, "Conflict", "[Conflict] Database '%s' is being deleted; retry when the deletion has finished.", rt.database)
	}
	switch {
	case body.Kind == "" && !patch:
		return badRequest("kind", "One or more mandatory properties are missing: kind (odx supports '%s').", databaseKindReadWrite)
	case body.Kind != "" && !strings.EqualFold(body.Kind, databaseKindReadWrite):
		return badRequest("kind", "Database kind '%s' is not supported by odx; use '%s'.", body.Kind, databaseKindReadWrite)
	}
	if !exists {
		if msg := databaseNameProblem(rt.database); msg != "" {
			return badRequest("name", "%s", msg)
		}
		owners, err := h.databaseOwners(ctx)
		if err != nil {
			return err
		}
		// A stale document of this very database (dropped through the data
		// plane) is simply replaced.
		if other, ok := owners[strings.ToLower(rt.database)]; ok && key(other.ID) != key(rt.databaseID()) {
			return newError(http.StatusConflict, "Conflict",
				"[Conflict] Database '%s' already belongs to cluster '%s'; odx keeps one namespace of databases.", rt.database, strings.SplitN(other.Name, "/", 2)[0])
		}
	}
	d := databaseResource{Properties: databaseProperties{}}
	if exists && patch {
		d = existing
	}
	if body.Properties.SoftDeletePeriod != nil {
		d.Properties.SoftDeletePeriod = *body.Properties.SoftDeletePeriod
	}
	if body.Properties.HotCachePeriod != nil {
		d.Properties.HotCachePeriod = *body.Properties.HotCachePeriod
	}
	d.ID, d.Name, d.Type, d.Kind = rt.databaseID(), rt.cluster+"/"+rt.database, typeDatabase, databaseKindReadWrite
	d.Location = body.Location
	if d.Location == "" {
		d.Location = cluster.Location
	}
	spec, err := specOf(d)
	if err != nil {
		return err
	}
	if spec.HotCachePeriod > 0 && spec.SoftDeletePeriod > 0 && spec.HotCachePeriod > spec.SoftDeletePeriod {
		return badRequest("properties.hotCachePeriod", "properties.hotCachePeriod (%s) cannot be longer than properties.softDeletePeriod (%s).",
			d.Properties.HotCachePeriod, d.Properties.SoftDeletePeriod)
	}
	d.Properties.ProvisioningState = stateCreating
	if exists {
		d.Properties.ProvisioningState = stateUpdating
	}
	if err := h.store(ctx, KindDatabase, d.ID, d); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: "DatabaseCreateOrUpdate", Action: actDatabasePut, ResourceID: d.ID, ClusterID: rt.clusterID()}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, d)
	return nil
}

func (h *Handler) finishDatabasePut(ctx context.Context, op *operationRecord) error {
	var d databaseResource
	ok, err := h.load(ctx, KindDatabase, op.ResourceID, &d)
	if err != nil || !ok {
		return err
	}
	spec, err := specOf(d)
	if err == nil {
		err = h.dataPlane.PutDatabase(ctx, spec)
	}
	if err != nil {
		d.Properties.ProvisioningState = stateFailed
		if serr := h.store(ctx, KindDatabase, d.ID, d); serr != nil {
			return serr
		}
		return err
	}
	d.Properties.ProvisioningState = stateSucceeded
	return h.store(ctx, KindDatabase, d.ID, d)
}

func (h *Handler) deleteDatabase(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return err
	}
	d, ok, err := h.findDatabase(ctx, rt, cluster)
	if err != nil {
		return err
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	d.Properties.ProvisioningState = stateDeleting
	if err := h.store(ctx, KindDatabase, d.ID, d); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: "DatabaseDelete", Action: actDatabaseDelete, ResourceID: d.ID, ClusterID: rt.clusterID()}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Handler) finishDatabaseDelete(ctx context.Context, op *operationRecord) error {
	var d databaseResource
	ok, err := h.load(ctx, KindDatabase, op.ResourceID, &d)
	if err != nil || !ok {
		return err
	}
	return h.dropDatabaseAndChildren(ctx, d)
}

// dropDatabaseAndChildren stops and forgets the database's data connections,
// forgets its principal assignments, drops it from the data plane and removes
// its document.
func (h *Handler) dropDatabaseAndChildren(ctx context.Context, d databaseResource) error {
	conns, err := listUnder[DataConnectionResource](ctx, h, KindDataConnection, d.ID)
	if err != nil {
		return err
	}
	for _, dc := range conns {
		if err := h.conns.Remove(ctx, dc.ID); err != nil {
			return err
		}
		if err := h.remove(ctx, KindDataConnection, dc.ID); err != nil {
			return err
		}
	}
	pas, err := h.docs.ListDocs(ctx, KindPrincipalAssignment, key(d.ID)+"/")
	if err != nil {
		return err
	}
	for _, pa := range pas {
		if _, err := h.docs.DeleteDoc(ctx, KindPrincipalAssignment, pa.ID); err != nil {
			return err
		}
	}
	if err := h.dataPlane.DropDatabase(ctx, d.databaseName()); err != nil {
		return err
	}
	return h.remove(ctx, KindDatabase, d.ID)
}
