package arm

import "net/http"

type providerOperation struct {
	Name    string                   `json:"name"`
	Display providerOperationDisplay `json:"display"`
	Origin  string                   `json:"origin"`
}

type providerOperationDisplay struct {
	Provider    string `json:"provider"`
	Resource    string `json:"resource"`
	Operation   string `json:"operation"`
	Description string `json:"description"`
}

// providerOperations lists what odx's Microsoft.Kusto provider serves.
func providerOperations() []providerOperation {
	var ops []providerOperation
	add := func(resource, path, verb, what string) {
		ops = append(ops, providerOperation{
			Name:   "Microsoft.Kusto/" + path + "/" + verb,
			Origin: "user,system",
			Display: providerOperationDisplay{Provider: "Microsoft Kusto", Resource: resource,
				Operation: what + " " + resource, Description: what + " " + resource},
		})
	}
	for _, res := range []struct{ name, path string }{
		{"Clusters", "Clusters"},
		{"Databases", "Clusters/Databases"},
		{"Data Connections", "Clusters/Databases/DataConnections"},
		{"Database Principal Assignments", "Clusters/Databases/PrincipalAssignments"},
	} {
		add(res.name, res.path, "read", "Reads")
		add(res.name, res.path, "write", "Writes")
		add(res.name, res.path, "delete", "Deletes")
	}
	add("Databases", "Clusters/Databases", "CheckNameAvailability/action", "Checks name availability of")
	add("Data Connections", "Clusters/Databases", "DataConnectionValidation/action", "Validates")
	add("Data Connections", "Clusters/Databases/DataConnections", "CheckNameAvailability/action", "Checks name availability of")
	add("Clusters", "Locations", "CheckNameAvailability/action", "Checks name availability of")
	add("Operations", "Locations/OperationResults", "read", "Reads")
	add("Operations", "Operations", "read", "Reads")
	return ops
}

func (h *Handler) listProviderOperations(w http.ResponseWriter, r *http.Request, rt route) error {
	writeJSON(w, http.StatusOK, map[string]any{"value": providerOperations()})
	return nil
}
