package arm

import (
	"net/http"
	"strings"
)

type checkNameRequest struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type checkNameResult struct {
	Name          string  `json:"name"`
	NameAvailable bool    `json:"nameAvailable"`
	Message       *string `json:"message"`
	Reason        *string `json:"reason"`
}

func nameResult(name, invalid string, taken bool) checkNameResult {
	res := checkNameResult{Name: name, NameAvailable: invalid == "" && !taken}
	switch {
	case invalid != "":
		reason := "Invalid"
		res.Message, res.Reason = &invalid, &reason
	case taken:
		reason, msg := "AlreadyExists", "Name '"+name+"' is already taken. Please specify a different name."
		res.Message, res.Reason = &msg, &reason
	}
	return res
}

func readNameRequest(r *http.Request, wantTypes ...string) (checkNameRequest, error) {
	var req checkNameRequest
	if err := decodeBody(r, &req); err != nil {
		return req, err
	}
	if req.Name == "" {
		return req, badRequest("name", "One or more mandatory properties are missing: name.")
	}
	for _, t := range wantTypes {
		if strings.EqualFold(req.Type, t) {
			return req, nil
		}
	}
	return req, badRequest("type", "Invalid type '%s'; expected %s.", req.Type, strings.Join(wantTypes, " or "))
}

// checkClusterName: POST /subscriptions/{s}/providers/Microsoft.Kusto/locations/{l}/checkNameAvailability.
// Cluster names are global (they become host names), so every cluster counts.
func (h *Handler) checkClusterName(w http.ResponseWriter, r *http.Request, rt route) error {
	req, err := readNameRequest(r, "Microsoft.Kusto/clusters")
	if err != nil {
		return err
	}
	taken, err := h.clusterNameTaken(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nameResult(req.Name, clusterNameProblem(req.Name), taken))
	return nil
}

// checkDatabaseName: POST .../clusters/{c}/checkNameAvailability checks database names.
func (h *Handler) checkDatabaseName(w http.ResponseWriter, r *http.Request, rt route) error {
	req, err := readNameRequest(r, "Microsoft.Kusto/clusters/databases", "Microsoft.Kusto/clusters/attachedDatabaseConfigurations")
	if err != nil {
		return err
	}
	ctx := r.Context()
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return err
	}
	rt.database = req.Name
	_, taken, err := h.findDatabase(ctx, rt, cluster)
	if err != nil {
		return err
	}
	if !taken {
		// A database that another cluster owns is taken too: odx has one namespace.
		owners, err := h.databaseOwners(ctx)
		if err != nil {
			return err
		}
		_, taken = owners[strings.ToLower(req.Name)]
	}
	writeJSON(w, http.StatusOK, nameResult(req.Name, databaseNameProblem(req.Name), taken))
	return nil
}

// checkDataConnectionName: POST .../databases/{d}/checkNameAvailability checks data connection names.
func (h *Handler) checkDataConnectionName(w http.ResponseWriter, r *http.Request, rt route) error {
	req, err := readNameRequest(r, "Microsoft.Kusto/clusters/databases/dataConnections")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := h.requireDatabase(ctx, rt); err != nil {
		return err
	}
	rt.child = req.Name
	_, taken, err := h.docs.GetDoc(ctx, KindDataConnection, key(rt.dataConnectionID()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nameResult(req.Name, dataConnectionNameProblem(req.Name), taken))
	return nil
}

// checkPrincipalAssignmentName: POST .../databases/{d}/checkPrincipalAssignmentNameAvailability.
func (h *Handler) checkPrincipalAssignmentName(w http.ResponseWriter, r *http.Request, rt route) error {
	req, err := readNameRequest(r, "Microsoft.Kusto/clusters/databases/principalAssignments")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := h.requireDatabase(ctx, rt); err != nil {
		return err
	}
	rt.child = req.Name
	_, taken, err := h.docs.GetDoc(ctx, KindPrincipalAssignment, key(rt.principalAssignmentID()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nameResult(req.Name, "", taken))
	return nil
}
