package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Data connection kinds odx serves.
const (
	KindEventHub                     = "EventHub"
	KindEventGrid                    = "EventGrid"
	KindIotHub                       = "IotHub"
	KindEventHubWithManagedIdentity  = "EventHubWithManagedIdentity"  // 2025-02-14
	KindEventGridWithManagedIdentity = "EventGridWithManagedIdentity" // 2025-02-14
)

var dataConnectionKinds = []string{KindEventHub, KindEventGrid, KindIotHub,
	KindEventHubWithManagedIdentity, KindEventGridWithManagedIdentity}

// DataConnectionResource is a data connection as stored, returned by the API
// and handed to the connection manager.
type DataConnectionResource struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"` // cluster/database/connection
	Type       string                   `json:"type"`
	Location   string                   `json:"location,omitempty"`
	Kind       string                   `json:"kind"`
	Properties DataConnectionProperties `json:"properties"`
}

// ClusterName, DatabaseName and ConnectionName split the nested name.
func (dc DataConnectionResource) ClusterName() string  { return dc.namePart(0) }
func (dc DataConnectionResource) DatabaseName() string { return dc.namePart(1) }
func (dc DataConnectionResource) ConnectionName() string {
	return dc.namePart(2)
}

func (dc DataConnectionResource) namePart(i int) string {
	parts := strings.SplitN(dc.Name, "/", 3)
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// EventHubID is the event hub the connection reads, whichever kind it is
// (empty for IotHub).
func (dc DataConnectionResource) EventHubID() string {
	if dc.Properties.EventHubResourceIDForManagedIdentity != "" {
		return dc.Properties.EventHubResourceIDForManagedIdentity
	}
	return dc.Properties.EventHubResourceID
}

// StorageAccountID is the storage account of an Event Grid connection.
func (dc DataConnectionResource) StorageAccountID() string {
	if dc.Properties.StorageAccountResourceIDForManagedIdentity != "" {
		return dc.Properties.StorageAccountResourceIDForManagedIdentity
	}
	return dc.Properties.StorageAccountResourceID
}

// DataConnectionProperties is the union of the properties of all kinds; the
// provider keeps only those of the resource's kind (see normalize).
type DataConnectionProperties struct {
	EventHubResourceID                         string    `json:"eventHubResourceId,omitempty"`
	EventHubResourceIDForManagedIdentity       string    `json:"eventHubResourceIdForManagedIdentity,omitempty"`
	StorageAccountResourceID                   string    `json:"storageAccountResourceId,omitempty"`
	StorageAccountResourceIDForManagedIdentity string    `json:"storageAccountResourceIdForManagedIdentity,omitempty"`
	EventGridResourceID                        string    `json:"eventGridResourceId,omitempty"`
	IotHubResourceID                           string    `json:"iotHubResourceId,omitempty"`
	SharedAccessPolicyName                     string    `json:"sharedAccessPolicyName,omitempty"`
	ConsumerGroup                              string    `json:"consumerGroup,omitempty"`
	TableName                                  string    `json:"tableName,omitempty"`
	MappingRuleName                            string    `json:"mappingRuleName,omitempty"`
	DataFormat                                 string    `json:"dataFormat,omitempty"`
	EventSystemProperties                      *[]string `json:"eventSystemProperties,omitempty"`
	Compression                                string    `json:"compression,omitempty"`
	IgnoreFirstRecord                          *bool     `json:"ignoreFirstRecord,omitempty"`
	BlobStorageEventType                       string    `json:"blobStorageEventType,omitempty"`
	ManagedIdentityResourceID                  string    `json:"managedIdentityResourceId,omitempty"`
	ManagedIdentityObjectID                    string    `json:"managedIdentityObjectId,omitempty"`
	DatabaseRouting                            string    `json:"databaseRouting,omitempty"`
	RetrievalStartDate                         string    `json:"retrievalStartDate,omitempty"`
	ProvisioningState                          string    `json:"provisioningState,omitempty"`
}

// dataConnectionBody is a PUT/PATCH body, and the "properties" of a
// dataConnectionValidation request.
type dataConnectionBody struct {
	Kind       string          `json:"kind"`
	Location   string          `json:"location"`
	Properties json.RawMessage `json:"properties"`
}

// canonicalKind matches a kind case-insensitively.
func canonicalKind(k string) (string, bool) {
	for _, c := range dataConnectionKinds {
		if strings.EqualFold(c, k) {
			return c, true
		}
	}
	return "", false
}

func isEventHubKind(k string) bool { return k == KindEventHub || k == KindEventHubWithManagedIdentity }
func isEventGridKind(k string) bool {
	return k == KindEventGrid || k == KindEventGridWithManagedIdentity
}

func (h *Handler) getDataConnection(w http.ResponseWriter, r *http.Request, rt route) error {
	return getChild[DataConnectionResource](h, w, r, rt, KindDataConnection, rt.dataConnectionID(), "Data connection")
}

func (h *Handler) listDataConnections(w http.ResponseWriter, r *http.Request, rt route) error {
	return listChildren[DataConnectionResource](h, w, r, rt, KindDataConnection, "DataConnections")
}

func (h *Handler) putDataConnection(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeDataConnection(w, r, rt, false)
}

func (h *Handler) patchDataConnection(w http.ResponseWriter, r *http.Request, rt route) error {
	return h.writeDataConnection(w, r, rt, true)
}

// writeDataConnection serves PUT and PATCH. PATCH takes the same full
// polymorphic body, merged over the stored properties.
func (h *Handler) writeDataConnection(w http.ResponseWriter, r *http.Request, rt route, patch bool) error {
	var body dataConnectionBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	cluster, db, err := h.requireDatabase(ctx, rt)
	if err != nil {
		return err
	}
	var existing DataConnectionResource
	exists, err := h.load(ctx, KindDataConnection, rt.dataConnectionID(), &existing)
	if err != nil {
		return err
	}
	if patch && !exists {
		return notFound("Data connection '%s' was not found in database '%s' of cluster '%s'.", rt.child, rt.database, rt.cluster)
	}
	if exists && existing.Properties.ProvisioningState == stateDeleting {
		return newError(http.StatusConflict, "Conflict", "[Conflict] Data connection '%s' is being deleted; retry when the deletion has finished.", rt.child)
	}
	if !exists {
		if msg := dataConnectionNameProblem(rt.child); msg != "" {
			return badRequest("name", "%s", msg)
		}
	}
	var base *DataConnectionResource
	if exists && patch {
		base = &existing
	}
	dc, err := h.buildDataConnection(rt, cluster, db, body, base)
	if err != nil {
		return err
	}
	if exists && existing.Kind != dc.Kind {
		return badRequest("kind", "The kind of data connection '%s' is %s and cannot change to %s; delete it and create it again.",
			rt.child, existing.Kind, dc.Kind)
	}
	if exists && dc.Properties.RetrievalStartDate == "" {
		dc.Properties.RetrievalStartDate = existing.Properties.RetrievalStartDate
	}
	h.fillDefaults(&dc)
	if dc.Properties.DatabaseRouting == "Multi" && h.authorize != nil {
		// Routing events to other databases needs Contributor on the cluster (ADX docs).
		clusterScope := "/subscriptions/" + rt.subscription + "/resourceGroups/" + rt.resourceGroup + "/providers/Microsoft.Kusto/clusters/" + rt.cluster
		if ok, caller := h.authorize(r, "Microsoft.Kusto/clusters/write", clusterScope); !ok {
			if caller == "" {
				caller = "The client"
			}
			return newError(http.StatusForbidden, "AuthorizationFailed",
				"%s does not have authorization to perform action 'Microsoft.Kusto/clusters/write' over scope '%s', which databaseRouting 'Multi' requires; ask for Contributor on the cluster or use 'Single'.",
				caller, clusterScope)
		}
	}
	if problems := h.validateDataConnectionResource(ctx, dc); len(problems) > 0 {
		return validationFailed(dc.Kind, problems)
	}
	dc.Properties.ProvisioningState = stateCreating
	if exists {
		dc.Properties.ProvisioningState = stateUpdating
	}
	if err := h.store(ctx, KindDataConnection, dc.ID, dc); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: "DataConnectionCreateOrUpdate", Action: actDataConnectionPut, ResourceID: dc.ID, ClusterID: rt.clusterID()}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, dc)
	return nil
}

// buildDataConnection turns a request body into a resource: kind checked,
// properties decoded (over base for a PATCH), mandatory properties present,
// enums valid. It does not look at other resources.
func (h *Handler) buildDataConnection(rt route, cluster clusterResource, db databaseResource, body dataConnectionBody, base *DataConnectionResource) (DataConnectionResource, error) {
	var dc DataConnectionResource
	if base != nil {
		dc = *base
		if body.Kind == "" {
			body.Kind = base.Kind
		}
	}
	if body.Kind == "" {
		return dc, badRequest("kind", "One or more mandatory properties are missing: kind (one of %s).", strings.Join(dataConnectionKinds, ", "))
	}
	kind, ok := canonicalKind(body.Kind)
	if !ok {
		if strings.EqualFold(body.Kind, "CosmosDb") {
			return dc, badRequest("kind", "Data connection kind 'CosmosDb' is not supported by odx; use one of %s.", strings.Join(dataConnectionKinds, ", "))
		}
		return dc, badRequest("kind", "Invalid data connection kind '%s'; expected one of %s.", body.Kind, strings.Join(dataConnectionKinds, ", "))
	}
	if len(body.Properties) > 0 && string(body.Properties) != "null" {
		if err := json.Unmarshal(body.Properties, &dc.Properties); err != nil {
			return dc, newError(http.StatusBadRequest, "InvalidRequestContent",
				"The request content was invalid and could not be deserialized: properties: %s.", err.Error())
		}
	}
	dc.ID = rt.databaseID() + "/DataConnections/" + rt.child
	dc.Name = rt.cluster + "/" + db.databaseName() + "/" + rt.child
	dc.Type = typeDataConnection
	dc.Kind = kind
	if body.Location != "" {
		dc.Location = body.Location
	}
	if dc.Location == "" {
		dc.Location = cluster.Location
	}
	dc.Properties.ProvisioningState = ""
	dc.Properties.ManagedIdentityObjectID = ""
	if err := checkShape(&dc); err != nil {
		return dc, err
	}
	return dc, nil
}

// checkShape enforces the mandatory properties of the kind, drops the ones
// the kind does not have, and checks enum values.
func checkShape(dc *DataConnectionResource) error {
	p := &dc.Properties
	var missing []string
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, "properties."+name)
		}
	}
	switch dc.Kind {
	case KindEventHub:
		need("eventHubResourceId", p.EventHubResourceID)
		need("consumerGroup", p.ConsumerGroup)
	case KindEventHubWithManagedIdentity:
		need("eventHubResourceIdForManagedIdentity", p.EventHubResourceIDForManagedIdentity)
		need("consumerGroup", p.ConsumerGroup)
		need("managedIdentityResourceId", p.ManagedIdentityResourceID)
	case KindIotHub:
		need("iotHubResourceId", p.IotHubResourceID)
		need("consumerGroup", p.ConsumerGroup)
		need("sharedAccessPolicyName", p.SharedAccessPolicyName)
	case KindEventGrid:
		need("storageAccountResourceId", p.StorageAccountResourceID)
		need("eventHubResourceId", p.EventHubResourceID)
		need("consumerGroup", p.ConsumerGroup)
	case KindEventGridWithManagedIdentity:
		need("storageAccountResourceIdForManagedIdentity", p.StorageAccountResourceIDForManagedIdentity)
		need("eventHubResourceIdForManagedIdentity", p.EventHubResourceIDForManagedIdentity)
		need("consumerGroup", p.ConsumerGroup)
		need("managedIdentityResourceId", p.ManagedIdentityResourceID)
	}
	if len(missing) > 0 {
		return badRequest(missing[0], "One or more mandatory properties are missing: %s (kind %s).", strings.Join(missing, ", "), dc.Kind)
	}

	// Keep only what the kind has.
	if dc.Kind != KindEventHub && dc.Kind != KindEventGrid {
		p.EventHubResourceID = ""
	}
	if dc.Kind != KindEventHubWithManagedIdentity && dc.Kind != KindEventGridWithManagedIdentity {
		p.EventHubResourceIDForManagedIdentity = ""
	}
	if dc.Kind != KindEventGrid {
		p.StorageAccountResourceID = ""
	}
	if dc.Kind != KindEventGridWithManagedIdentity {
		p.StorageAccountResourceIDForManagedIdentity = ""
	}
	if !isEventGridKind(dc.Kind) {
		p.EventGridResourceID, p.IgnoreFirstRecord, p.BlobStorageEventType = "", nil, ""
	} else {
		p.EventSystemProperties, p.RetrievalStartDate = nil, ""
	}
	if dc.Kind != KindIotHub {
		p.IotHubResourceID, p.SharedAccessPolicyName = "", ""
	} else {
		p.ManagedIdentityResourceID = ""
	}
	if !isEventHubKind(dc.Kind) {
		p.Compression = ""
	}

	if p.DataFormat != "" {
		f, ok := canonicalFormat(p.DataFormat)
		if !ok {
			return badRequest("properties.dataFormat", "Invalid properties.dataFormat '%s'; expected one of %s.", p.DataFormat, strings.Join(dataFormats, ", "))
		}
		p.DataFormat = f
	}
	if p.Compression != "" {
		switch {
		case strings.EqualFold(p.Compression, "None"):
			p.Compression = "None"
		case strings.EqualFold(p.Compression, "GZip"):
			p.Compression = "GZip"
		default:
			return badRequest("properties.compression", "Invalid properties.compression '%s'; expected None or GZip.", p.Compression)
		}
	}
	if p.DatabaseRouting != "" {
		switch {
		case strings.EqualFold(p.DatabaseRouting, "Single"):
			p.DatabaseRouting = "Single"
		case strings.EqualFold(p.DatabaseRouting, "Multi"):
			p.DatabaseRouting = "Multi"
		default:
			return badRequest("properties.databaseRouting", "Invalid properties.databaseRouting '%s'; expected Single or Multi.", p.DatabaseRouting)
		}
	}
	if p.BlobStorageEventType != "" {
		switch {
		case strings.EqualFold(p.BlobStorageEventType, "Microsoft.Storage.BlobCreated"):
			p.BlobStorageEventType = "Microsoft.Storage.BlobCreated"
		case strings.EqualFold(p.BlobStorageEventType, "Microsoft.Storage.BlobRenamed"):
			p.BlobStorageEventType = "Microsoft.Storage.BlobRenamed"
		default:
			return badRequest("properties.blobStorageEventType", "Invalid properties.blobStorageEventType '%s'; expected Microsoft.Storage.BlobCreated or Microsoft.Storage.BlobRenamed.", p.BlobStorageEventType)
		}
	}
	if p.RetrievalStartDate != "" {
		t, err := parseTime(p.RetrievalStartDate)
		if err != nil {
			return badRequest("properties.retrievalStartDate", "Invalid properties.retrievalStartDate '%s': expected an ISO 8601 date-time such as 2024-01-31T12:00:00Z.", p.RetrievalStartDate)
		}
		p.RetrievalStartDate = timestamp(t)
	}
	return nil
}

// fillDefaults writes what the real service fills in on write.
func (h *Handler) fillDefaults(dc *DataConnectionResource) {
	p := &dc.Properties
	if isEventHubKind(dc.Kind) && p.Compression == "" {
		p.Compression = "None"
	}
	if p.DatabaseRouting == "" {
		p.DatabaseRouting = "Single"
	}
	if isEventHubKind(dc.Kind) || dc.Kind == KindIotHub {
		if p.EventSystemProperties == nil {
			p.EventSystemProperties = &[]string{}
		}
		if p.RetrievalStartDate == "" {
			p.RetrievalStartDate = timestamp(h.now())
		}
	}
	if isEventGridKind(dc.Kind) {
		if p.IgnoreFirstRecord == nil {
			f := false
			p.IgnoreFirstRecord = &f
		}
		if p.BlobStorageEventType == "" {
			p.BlobStorageEventType = "Microsoft.Storage.BlobCreated"
		}
	}
	if p.ManagedIdentityResourceID != "" {
		p.ManagedIdentityObjectID = nameUUID("identity:" + key(p.ManagedIdentityResourceID))
	}
}

func (h *Handler) finishDataConnectionPut(ctx context.Context, op *operationRecord) error {
	var dc DataConnectionResource
	ok, err := h.load(ctx, KindDataConnection, op.ResourceID, &dc)
	if err != nil || !ok {
		return err
	}
	if err := h.conns.Apply(ctx, dc); err != nil {
		dc.Properties.ProvisioningState = stateFailed
		if serr := h.store(ctx, KindDataConnection, dc.ID, dc); serr != nil {
			return serr
		}
		return newError(http.StatusBadRequest, "DataConnectionStartFailed", "[BadRequest] Data connection '%s' could not start: %s", dc.ConnectionName(), err.Error())
	}
	dc.Properties.ProvisioningState = stateSucceeded
	return h.store(ctx, KindDataConnection, dc.ID, dc)
}

func (h *Handler) deleteDataConnection(w http.ResponseWriter, r *http.Request, rt route) error {
	return startChildDelete(h, w, r, rt, KindDataConnection, rt.dataConnectionID(), "DataConnectionDelete", actDataConnectionDelete,
		func(dc *DataConnectionResource) (string, *string) { return dc.ID, &dc.Properties.ProvisioningState })
}

func (h *Handler) finishDataConnectionDelete(ctx context.Context, op *operationRecord) error {
	if err := h.conns.Remove(ctx, op.ResourceID); err != nil {
		return err
	}
	return h.remove(ctx, KindDataConnection, op.ResourceID)
}
