package arm

import "net/http"

// Resources under a database (data connections, principal assignments) share
// their GET, list and DELETE behaviour; these generic handlers are that
// behaviour once, parameterised by the resource's document kind and type.

// getChild answers GET of one resource under a database: 404 with ARM's
// message when the database or the resource does not exist.
func getChild[T any](h *Handler, w http.ResponseWriter, r *http.Request, rt route, kind, id, what string) error {
	ctx := r.Context()
	if _, _, err := h.requireDatabase(ctx, rt); err != nil {
		return err
	}
	var res T
	ok, err := h.load(ctx, kind, id, &res)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("%s '%s' was not found in database '%s' of cluster '%s'.", what, rt.child, rt.database, rt.cluster)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// listChildren answers GET of a collection under a database (collection is
// the path segment, e.g. "DataConnections") as ARM's {"value": [...]}.
func listChildren[T any](h *Handler, w http.ResponseWriter, r *http.Request, rt route, kind, collection string) error {
	ctx := r.Context()
	if _, _, err := h.requireDatabase(ctx, rt); err != nil {
		return err
	}
	items, err := listUnder[T](ctx, h, kind, rt.databaseID()+"/"+collection)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": items})
	return nil
}

// startChildDelete deletes a resource under a database (a data connection or
// a principal assignment) the way ARM does: 204 when it is already gone,
// else it is marked Deleting and an async operation finishes the delete.
// fields gives the resource's id and its provisioningState.
func startChildDelete[T any](h *Handler, w http.ResponseWriter, r *http.Request, rt route, kind, id, opKind string, act action,
	fields func(*T) (id string, state *string)) error {
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	cluster, _, err := h.requireDatabase(ctx, rt)
	if err != nil {
		return err
	}
	var res T
	ok, err := h.load(ctx, kind, id, &res)
	if err != nil {
		return err
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	resID, state := fields(&res)
	*state = stateDeleting
	if err := h.store(ctx, kind, resID, res); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: opKind, Action: act, ResourceID: resID, ClusterID: rt.clusterID()}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
