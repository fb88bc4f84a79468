package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// principalAssignmentResource is a database principal assignment; it maps
// onto one entry of the data plane's database roles.
type principalAssignmentResource struct {
	ID         string                        `json:"id"`
	Name       string                        `json:"name"` // cluster/database/assignment
	Type       string                        `json:"type"`
	Properties principalAssignmentProperties `json:"properties"`
}

type principalAssignmentProperties struct {
	PrincipalID       string `json:"principalId"`
	Role              string `json:"role"`
	TenantID          string `json:"tenantId,omitempty"`
	PrincipalType     string `json:"principalType"`
	TenantName        string `json:"tenantName,omitempty"`
	PrincipalName     string `json:"principalName,omitempty"`
	ProvisioningState string `json:"provisioningState"`
	AadObjectID       string `json:"aadObjectId,omitempty"`
}

// Database roles of the Microsoft.Kusto API.
var databaseRoles = []string{"Admin", "Ingestor", "Monitor", "User", "UnrestrictedViewer", "Viewer"}

var principalTypes = map[string]string{"app": "aadapp", "user": "aaduser", "group": "aadgroup"}

// principal is the data-plane role entry of an assignment.
func (p principalAssignmentProperties) principal() DatabasePrincipal {
	fqn := principalTypes[strings.ToLower(p.PrincipalType)] + "=" + p.PrincipalID
	if p.TenantID != "" {
		fqn += ";" + p.TenantID
	}
	return DatabasePrincipal{Role: p.Role, FQN: fqn}
}

type principalAssignmentBody struct {
	Properties struct {
		PrincipalID   string `json:"principalId"`
		Role          string `json:"role"`
		TenantID      string `json:"tenantId"`
		PrincipalType string `json:"principalType"`
	} `json:"properties"`
}

func (h *Handler) getPrincipalAssignment(w http.ResponseWriter, r *http.Request, rt route) error {
	return getChild[principalAssignmentResource](h, w, r, rt, KindPrincipalAssignment, rt.principalAssignmentID(), "Principal assignment")
}

func (h *Handler) listPrincipalAssignments(w http.ResponseWriter, r *http.Request, rt route) error {
	return listChildren[principalAssignmentResource](h, w, r, rt, KindPrincipalAssignment, "PrincipalAssignments")
}

func (h *Handler) putPrincipalAssignment(w http.ResponseWriter, r *http.Request, rt route) error {
	var body principalAssignmentBody
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
	var existing principalAssignmentResource
	exists, err := h.load(ctx, KindPrincipalAssignment, rt.principalAssignmentID(), &existing)
	if err != nil {
		return err
	}
	in := body.Properties
	var missing []string
	for name, v := range map[string]string{"principalId": in.PrincipalID, "role": in.Role, "principalType": in.PrincipalType} {
		if v == "" {
			missing = append(missing, "properties."+name)
		}
	}
	if len(missing) > 0 {
		return badRequest(missing[0], "One or more mandatory properties are missing: %s.", strings.Join(missing, ", "))
	}
	role := ""
	for _, r := range databaseRoles {
		if strings.EqualFold(r, in.Role) {
			role = r
		}
	}
	if role == "" {
		return badRequest("properties.role", "Invalid properties.role '%s'; expected one of %s.", in.Role, strings.Join(databaseRoles, ", "))
	}
	ptype := ""
	for _, t := range []string{"App", "Group", "User"} {
		if strings.EqualFold(t, in.PrincipalType) {
			ptype = t
		}
	}
	if ptype == "" {
		return badRequest("properties.principalType", "Invalid properties.principalType '%s'; expected App, Group or User.", in.PrincipalType)
	}
	pa := principalAssignmentResource{
		ID: rt.principalAssignmentID(), Name: rt.cluster + "/" + db.databaseName() + "/" + rt.child, Type: typePrincipalAssignment,
		Properties: principalAssignmentProperties{
			PrincipalID: in.PrincipalID, Role: role, TenantID: in.TenantID, PrincipalType: ptype,
			PrincipalName: in.PrincipalID, AadObjectID: nameUUID("principal:" + strings.ToLower(in.PrincipalID)),
			ProvisioningState: stateCreating,
		},
	}
	if exists {
		pa.Properties.ProvisioningState = stateUpdating
	}
	input, _ := json.Marshal(existing.Properties)
	if err := h.store(ctx, KindPrincipalAssignment, pa.ID, pa); err != nil {
		return err
	}
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: "DatabasePrincipalAssignmentCreateOrUpdate", Action: actPrincipalPut, ResourceID: pa.ID, ClusterID: rt.clusterID()}
	if exists {
		op.Input = input // the previous role entry, removed from the data plane when the operation runs
	}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, pa)
	return nil
}

func (h *Handler) finishPrincipalPut(ctx context.Context, op *operationRecord) error {
	var pa principalAssignmentResource
	ok, err := h.load(ctx, KindPrincipalAssignment, op.ResourceID, &pa)
	if err != nil || !ok {
		return err
	}
	db := strings.SplitN(pa.Name, "/", 3)[1]
	if len(op.Input) > 0 {
		var previous principalAssignmentProperties
		if json.Unmarshal(op.Input, &previous) == nil && previous.principal() != pa.Properties.principal() {
			if err := h.dataPlane.DropDatabasePrincipal(ctx, db, previous.principal()); err != nil {
				return err
			}
		}
	}
	if err := h.dataPlane.AddDatabasePrincipal(ctx, db, pa.Properties.principal()); err != nil {
		pa.Properties.ProvisioningState = stateFailed
		if serr := h.store(ctx, KindPrincipalAssignment, pa.ID, pa); serr != nil {
			return serr
		}
		return err
	}
	pa.Properties.ProvisioningState = stateSucceeded
	return h.store(ctx, KindPrincipalAssignment, pa.ID, pa)
}

func (h *Handler) deletePrincipalAssignment(w http.ResponseWriter, r *http.Request, rt route) error {
	return startChildDelete(h, w, r, rt, KindPrincipalAssignment, rt.principalAssignmentID(), "DatabasePrincipalAssignmentDelete", actPrincipalDelete,
		func(pa *principalAssignmentResource) (string, *string) {
			return pa.ID, &pa.Properties.ProvisioningState
		})
}

func (h *Handler) finishPrincipalDelete(ctx context.Context, op *operationRecord) error {
	var pa principalAssignmentResource
	ok, err := h.load(ctx, KindPrincipalAssignment, op.ResourceID, &pa)
	if err != nil || !ok {
		return err
	}
	db := strings.SplitN(pa.Name, "/", 3)[1]
	if err := h.dataPlane.DropDatabasePrincipal(ctx, db, pa.Properties.principal()); err != nil {
		return err
	}
	return h.remove(ctx, KindPrincipalAssignment, pa.ID)
}
