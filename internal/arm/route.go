package arm

import (
	"net/url"
	"strings"
)

// endpoint names one operation family of the API.
type endpoint int

const (
	epUnknown endpoint = iota
	epProviderOperations
	epClustersBySubscription
	epClusterNameCheck
	epOperationResult
	epClustersByResourceGroup
	epCluster
	epClusterStop
	epClusterStart
	epDatabaseNameCheck
	epDatabases
	epDatabase
	epDataConnectionNameCheck
	epDataConnectionValidation
	epDataConnections
	epDataConnection
	epPrincipalAssignmentNameCheck
	epPrincipalAssignments
	epPrincipalAssignment
)

// route is a parsed request path. Names keep the caller's spelling; the
// literal segments are matched case-insensitively, as ARM does.
type route struct {
	ep            endpoint
	subscription  string
	resourceGroup string
	cluster       string
	database      string
	child         string // data connection or principal assignment name
	location      string // for subscription-level location endpoints
	operationID   string
}

// resourceType is the type ARM names in api-version errors.
func (rt route) resourceType() string {
	switch rt.ep {
	case epProviderOperations:
		return "operations"
	case epClusterNameCheck:
		return "locations/checkNameAvailability"
	case epOperationResult:
		return "locations/operationResults"
	case epClustersBySubscription, epClustersByResourceGroup, epCluster, epClusterStop, epClusterStart:
		return "clusters"
	case epDatabaseNameCheck, epDatabases, epDatabase:
		return "clusters/databases"
	case epPrincipalAssignmentNameCheck, epPrincipalAssignments, epPrincipalAssignment:
		return "clusters/databases/principalAssignments"
	}
	return "clusters/databases/dataConnections"
}

func parseRoute(u *url.URL) route {
	path := u.EscapedPath()
	var segs []string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		v, err := url.PathUnescape(s)
		if err != nil {
			return route{}
		}
		segs = append(segs, v)
	}
	is := func(i int, lit string) bool { return i < len(segs) && strings.EqualFold(segs[i], lit) }
	n := len(segs)
	if n == 3 && is(0, "providers") && is(1, "Microsoft.Kusto") && is(2, "operations") {
		return route{ep: epProviderOperations}
	}
	if n < 4 || !is(0, "subscriptions") || segs[1] == "" {
		return route{}
	}
	rt := route{subscription: segs[1]}
	// Subscription scope: /subscriptions/{s}/providers/Microsoft.Kusto/...
	if is(2, "providers") && is(3, "Microsoft.Kusto") {
		switch {
		case n == 5 && is(4, "clusters"):
			rt.ep = epClustersBySubscription
		case n == 7 && is(4, "locations") && is(6, "checkNameAvailability"):
			rt.ep, rt.location = epClusterNameCheck, segs[5]
		case n == 8 && is(4, "locations") && is(6, "operationResults"):
			rt.ep, rt.location, rt.operationID = epOperationResult, segs[5], segs[7]
		}
		return rt
	}
	// Resource-group scope.
	if n < 7 || !is(2, "resourceGroups") || !is(4, "providers") || !is(5, "Microsoft.Kusto") || !is(6, "clusters") {
		return route{}
	}
	rt.resourceGroup = segs[3]
	rest := segs[7:]
	if len(rest) == 0 {
		rt.ep = epClustersByResourceGroup
		return rt
	}
	rt.cluster = rest[0]
	rest = rest[1:]
	isr := func(i int, lit string) bool { return i < len(rest) && strings.EqualFold(rest[i], lit) }
	switch {
	case len(rest) == 0:
		rt.ep = epCluster
	case len(rest) == 1 && isr(0, "stop"):
		rt.ep = epClusterStop
	case len(rest) == 1 && isr(0, "start"):
		rt.ep = epClusterStart
	case len(rest) == 1 && isr(0, "checkNameAvailability"):
		rt.ep = epDatabaseNameCheck
	case len(rest) == 1 && isr(0, "databases"):
		rt.ep = epDatabases
	case len(rest) >= 2 && isr(0, "databases"):
		rt.database = rest[1]
		rest = rest[2:]
		isr = func(i int, lit string) bool { return i < len(rest) && strings.EqualFold(rest[i], lit) }
		switch {
		case len(rest) == 0:
			rt.ep = epDatabase
		case len(rest) == 1 && isr(0, "checkNameAvailability"):
			rt.ep = epDataConnectionNameCheck
		case len(rest) == 1 && isr(0, "dataConnectionValidation"):
			rt.ep = epDataConnectionValidation
		case len(rest) == 1 && isr(0, "dataConnections"):
			rt.ep = epDataConnections
		case len(rest) == 2 && isr(0, "dataConnections"):
			rt.ep, rt.child = epDataConnection, rest[1]
		case len(rest) == 1 && isr(0, "checkPrincipalAssignmentNameAvailability"):
			rt.ep = epPrincipalAssignmentNameCheck
		case len(rest) == 1 && isr(0, "principalAssignments"):
			rt.ep = epPrincipalAssignments
		case len(rest) == 2 && isr(0, "principalAssignments"):
			rt.ep, rt.child = epPrincipalAssignment, rest[1]
		}
	}
	if rt.ep == epUnknown {
		return route{}
	}
	return rt
}

// ARM ids as the real resource provider writes them: capitalised
// Clusters/Databases/DataConnections segments.

func (rt route) clusterID() string {
	return "/subscriptions/" + rt.subscription + "/resourceGroups/" + rt.resourceGroup +
		"/providers/Microsoft.Kusto/Clusters/" + rt.cluster
}

func (rt route) databaseID() string { return rt.clusterID() + "/Databases/" + rt.database }

func (rt route) dataConnectionID() string {
	return rt.databaseID() + "/DataConnections/" + rt.child
}

func (rt route) principalAssignmentID() string {
	return rt.databaseID() + "/PrincipalAssignments/" + rt.child
}

// key is the storage key of an ARM id: ARM ids compare case-insensitively.
func key(id string) string { return strings.ToLower(id) }

// Resource types as the real provider writes them.
const (
	typeCluster             = "Microsoft.Kusto/Clusters"
	typeDatabase            = "Microsoft.Kusto/Clusters/Databases"
	typeDataConnection      = "Microsoft.Kusto/Clusters/Databases/DataConnections"
	typePrincipalAssignment = "Microsoft.Kusto/Clusters/Databases/PrincipalAssignments"
)
