package arm

import (
	"net/http"
	"strings"
)

// Authorizer decides whether the caller of r may perform action on scope.
// action is an ARM operation name (Microsoft.Kusto/clusters/databases/write,
// Microsoft.Kusto/clusters/databases/dataConnectionValidation/action, ...;
// IsReadAction tells reads apart) and scope is the ARM id the request names
// (a resource, or the parent of a collection). caller describes the caller
// for the 403 message, e.g. "The client '<appId>' with object id '<oid>'".
// Owner and Contributor allow every action, Reader only reads: the wiring
// checks the caller's role assignments at the scope or any parent of it
// (subscription, resource group, cluster).
type Authorizer func(r *http.Request, action, scope string) (allowed bool, caller string)

// IsReadAction reports whether action only reads (what ARM's Reader role allows).
func IsReadAction(action string) bool { return strings.HasSuffix(action, "/read") }

// action is the ARM operation name of a request on rt.
func (rt route) action(method string) string {
	verb := "read"
	switch method {
	case http.MethodPut, http.MethodPatch:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPost:
		verb = "action"
	}
	switch rt.ep {
	case epProviderOperations:
		return "Microsoft.Kusto/operations/read"
	case epOperationResult:
		return "Microsoft.Kusto/locations/operationResults/read"
	case epClusterNameCheck:
		return "Microsoft.Kusto/locations/checkNameAvailability/action"
	case epDatabaseNameCheck:
		return "Microsoft.Kusto/clusters/checkNameAvailability/action"
	case epDataConnectionNameCheck:
		return "Microsoft.Kusto/clusters/databases/checkNameAvailability/action"
	case epPrincipalAssignmentNameCheck:
		return "Microsoft.Kusto/clusters/databases/checkPrincipalAssignmentNameAvailability/action"
	case epClusterStop:
		return "Microsoft.Kusto/clusters/stop/action"
	case epClusterStart:
		return "Microsoft.Kusto/clusters/start/action"
	case epDataConnectionValidation:
		return "Microsoft.Kusto/clusters/databases/dataConnectionValidation/action"
	}
	return "Microsoft.Kusto/" + rt.resourceType() + "/" + verb
}
