package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// clusterResource is a cluster as stored and returned.
type clusterResource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Etag       string            `json:"etag,omitempty"`
	SKU        *clusterSKU       `json:"sku,omitempty"`
	Zones      []string          `json:"zones,omitempty"`
	Identity   *clusterIdentity  `json:"identity,omitempty"`
	Properties map[string]any    `json:"properties"`
}

type clusterSKU struct {
	Name     string `json:"name"`
	Tier     string `json:"tier"`
	Capacity *int   `json:"capacity,omitempty"`
}

type clusterIdentity struct {
	Type                   string                    `json:"type"`
	PrincipalID            string                    `json:"principalId,omitempty"`
	TenantID               string                    `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]map[string]any `json:"userAssignedIdentities,omitempty"`
}

// clusterBody is a cluster PUT or PATCH request.
type clusterBody struct {
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	SKU        *clusterSKU       `json:"sku"`
	Zones      []string          `json:"zones"`
	Identity   *clusterIdentity  `json:"identity"`
	Properties map[string]any    `json:"properties"`
}

// Cluster properties the service owns; whatever a client sends for them is ignored.
var clusterReadOnly = []string{"state", "provisioningState", "uri", "dataIngestionUri", "stateReason",
	"privateEndpointConnections", "migrationCluster", "zoneStatus"}

// clusterDefaults are what the real service reports when the client sent nothing.
var clusterDefaults = map[string]any{
	"enableStreamingIngest": false, "enablePurge": false, "enableDiskEncryption": false,
	"enableDoubleEncryption": false, "enableAutoStop": true, "engineType": "V3",
	"publicNetworkAccess": "Enabled", "publicIPType": "IPv4", "restrictOutboundNetworkAccess": "Disabled",
	"trustedExternalTenants": []any{},
}

// clusterNameRule: lowercase letters, digits and hyphens, starting with a
// letter, 4 to 22 characters.
var clusterNameRule = regexp.MustCompile(`^[a-z][a-z0-9-]{3,21}$`)

func clusterNameProblem(name string) string {
	if !clusterNameRule.MatchString(name) {
		return "Name '" + name + "' is not valid: a cluster name has 4 to 22 characters, lowercase letters, digits and hyphens, and starts with a letter."
	}
	return ""
}

func (h *Handler) getCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	c, err := h.requireCluster(r.Context(), rt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// requireCluster loads the cluster or answers with ARM's not-found error.
func (h *Handler) requireCluster(ctx context.Context, rt route) (clusterResource, error) {
	var c clusterResource
	ok, err := h.load(ctx, KindCluster, rt.clusterID(), &c)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, newError(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Kusto/clusters/%s' under resource group '%s' was not found.", rt.cluster, rt.resourceGroup)
	}
	return c, nil
}

// requireParentCluster is requireCluster for requests on a cluster's children.
func (h *Handler) requireParentCluster(ctx context.Context, rt route) (clusterResource, error) {
	c, err := h.requireCluster(ctx, rt)
	if ae, ok := err.(*apiError); ok && ae.status == http.StatusNotFound {
		return c, newError(http.StatusNotFound, "ParentResourceNotFound",
			"Can not perform requested operation on nested resource. Parent resource '%s' not found.", rt.cluster)
	}
	return c, err
}

func (h *Handler) listClusters(w http.ResponseWriter, r *http.Request, rt route) error {
	prefix := "/subscriptions/" + rt.subscription
	if rt.ep == epClustersByResourceGroup {
		prefix += "/resourceGroups/" + rt.resourceGroup + "/providers/Microsoft.Kusto/Clusters"
	}
	clusters, err := listUnder[clusterResource](r.Context(), h, KindCluster, prefix)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": clusters})
	return nil
}

func (h *Handler) putCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeCluster(w, r, rt, false)
}

func (h *Handler) patchCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeCluster(w, r, rt, true)
}

// writeCluster serves PUT (create or replace) and PATCH (merge into an
// existing cluster). A cluster PUT never answers 202: Python and Go reject it.
func (h *Handler) writeCluster(w http.ResponseWriter, r *http.Request, rt route, patch bool) error {
	var body clusterBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()

	var c clusterResource
	exists, err := h.load(ctx, KindCluster, rt.clusterID(), &c)
	if err != nil {
		return err
	}
	if patch && !exists {
		return newError(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Kusto/clusters/%s' under resource group '%s' was not found.", rt.cluster, rt.resourceGroup)
	}
	if exists && c.Properties["provisioningState"] == stateDeleting {
		return newError(http.StatusConflict, "Conflict", "[Conflict] Cluster '%s' is being deleted; retry when the deletion has finished.", rt.cluster)
	}
	if !exists {
		if msg := clusterNameProblem(rt.cluster); msg != "" {
			return badRequest("name", "%s", msg)
		}
		if taken, err := h.clusterNameTaken(ctx, rt.cluster); err != nil {
			return err
		} else if taken {
			return newError(http.StatusConflict, "Conflict", "[Conflict] Name '%s' is already taken by another cluster. Please specify a different name.", rt.cluster)
		}
	}
	if !patch {
		if body.Location == nil || *body.Location == "" {
			return newError(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		}
		if body.SKU == nil || body.SKU.Name == "" || body.SKU.Tier == "" {
			return badRequest("sku", "One or more mandatory properties are missing: sku.name and sku.tier are required.")
		}
	}
	if body.Location != nil && *body.Location != "" && exists && normalizeLocation(c.Location) != normalizeLocation(*body.Location) {
		return newError(http.StatusBadRequest, "InvalidResourceLocation",
			"The resource 'Microsoft.Kusto/clusters/%s' already exists in location '%s'. A resource with the same name cannot be created in location '%s'.",
			rt.cluster, c.Location, *body.Location)
	}
	if !patch {
		// A PUT replaces the definition: start from an empty cluster.
		c = clusterResource{Properties: map[string]any{}}
	}
	if body.Location != nil && *body.Location != "" {
		c.Location = *body.Location
	}
	if body.SKU != nil {
		if body.SKU.Tier != "" && body.SKU.Tier != "Basic" && body.SKU.Tier != "Standard" {
			return badRequest("sku.tier", "Invalid sku.tier '%s'; expected Basic or Standard.", body.SKU.Tier)
		}
		c.SKU = body.SKU
	}
	if body.Tags != nil {
		c.Tags = body.Tags
	}
	if body.Zones != nil {
		c.Zones = body.Zones
	}
	if body.Identity != nil {
		id := *body.Identity
		if strings.Contains(id.Type, "SystemAssigned") {
			id.PrincipalID = nameUUID("cluster-identity:" + key(rt.clusterID()))
			id.TenantID = nameUUID("tenant:" + rt.subscription)
		}
		for uai := range id.UserAssignedIdentities {
			id.UserAssignedIdentities[uai] = map[string]any{"principalId": nameUUID("uai:" + key(uai)), "clientId": nameUUID("uai-client:" + key(uai))}
		}
		c.Identity = &id
	}
	if c.Properties == nil {
		c.Properties = map[string]any{}
	}
	for k, v := range body.Properties {
		c.Properties[k] = v
	}
	if v, ok := c.Properties["enableStreamingIngest"]; ok {
		if _, isBool := v.(bool); !isBool {
			return badRequest("properties.enableStreamingIngest", "properties.enableStreamingIngest must be true or false.")
		}
	}
	for _, k := range clusterReadOnly {
		delete(c.Properties, k)
	}
	for k, v := range clusterDefaults {
		if _, ok := c.Properties[k]; !ok {
			c.Properties[k] = v
		}
	}
	c.ID, c.Name, c.Type = rt.clusterID(), rt.cluster, typeCluster
	c.Etag = `"` + uuid.NewString() + `"`
	uri := h.dataPlaneURL(r)
	c.Properties["uri"] = uri
	c.Properties["dataIngestionUri"] = uri
	state := stateCreating
	if exists {
		state = stateUpdating
	}
	c.Properties["provisioningState"] = state
	c.Properties["state"] = state
	if err := h.store(ctx, KindCluster, c.ID, c); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(c.Location),
		OperationKind: "ClusterCreateOrUpdate", Action: actClusterPut, ResourceID: c.ID, ClusterID: c.ID}
	if patch {
		op.OperationKind = "ClusterUpdate"
	}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, c)
	return nil
}

func (h *Handler) clusterNameTaken(ctx context.Context, name string) (bool, error) {
	docs, err := h.docs.ListDocs(ctx, KindCluster, "")
	if err != nil {
		return false, err
	}
	for _, d := range docs {
		var c clusterResource
		if json.Unmarshal(d.Body, &c) == nil && strings.EqualFold(c.Name, name) {
			return true, nil
		}
	}
	return false, nil
}

func (h *Handler) finishClusterPut(ctx context.Context, op *operationRecord) error {
	var c clusterResource
	ok, err := h.load(ctx, KindCluster, op.ResourceID, &c)
	if err != nil || !ok {
		return err // deleted meanwhile: nothing left to finish
	}
	c.Properties["provisioningState"] = stateSucceeded
	c.Properties["state"] = "Running"
	return h.store(ctx, KindCluster, c.ID, c)
}

func (h *Handler) deleteCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	var c clusterResource
	ok, err := h.load(ctx, KindCluster, rt.clusterID(), &c)
	if err != nil {
		return err
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c.Properties["provisioningState"] = stateDeleting
	c.Properties["state"] = stateDeleting
	if err := h.store(ctx, KindCluster, c.ID, c); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(c.Location),
		OperationKind: "ClusterDelete", Action: actClusterDelete, ResourceID: c.ID, ClusterID: c.ID}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// finishClusterDelete removes the cluster and what ARM made under it: its
// data connections stop and the databases it created are dropped. Databases
// that only the data plane made are left alone.
func (h *Handler) finishClusterDelete(ctx context.Context, op *operationRecord) error {
	dbs, err := listUnder[databaseResource](ctx, h, KindDatabase, op.ResourceID)
	if err != nil {
		return err
	}
	for _, db := range dbs {
		if err := h.dropDatabaseAndChildren(ctx, db); err != nil {
			return err
		}
	}
	// Connections and assignments made on databases only the data plane
	// knows belong to the cluster too.
	conns, err := listUnder[DataConnectionResource](ctx, h, KindDataConnection, op.ResourceID)
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
	pas, err := h.docs.ListDocs(ctx, KindPrincipalAssignment, key(op.ResourceID)+"/")
	if err != nil {
		return err
	}
	for _, pa := range pas {
		if _, err := h.docs.DeleteDoc(ctx, KindPrincipalAssignment, pa.ID); err != nil {
			return err
		}
	}
	return h.remove(ctx, KindCluster, op.ResourceID)
}

func (h *Handler) stopCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.powerCluster(w, r, rt, actClusterStop, "Stopping", "ClusterStop")
}

func (h *Handler) startCluster(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.powerCluster(w, r, rt, actClusterStart, "Starting", "ClusterStart")
}

// powerCluster serves POST .../stop and .../start. odx has one data plane for
// all clusters, so the cluster's state changes and nothing else stops.
func (h *Handler) powerCluster(w http.ResponseWriter, r *http.Request, rt route, act action, transient, kind string) error {
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	c, err := h.requireCluster(ctx, rt)
	if err != nil {
		return err
	}
	if c.Properties["provisioningState"] == stateDeleting {
		return newError(http.StatusConflict, "Conflict", "[Conflict] Cluster '%s' is being deleted.", rt.cluster)
	}
	c.Properties["state"] = transient
	if err := h.store(ctx, KindCluster, c.ID, c); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(c.Location),
		OperationKind: kind, Action: act, ResourceID: c.ID, ClusterID: c.ID}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Handler) finishClusterPower(ctx context.Context, op *operationRecord, state string) error {
	var c clusterResource
	ok, err := h.load(ctx, KindCluster, op.ResourceID, &c)
	if err != nil || !ok {
		return err
	}
	c.Properties["state"] = state
	return h.store(ctx, KindCluster, c.ID, c)
}
