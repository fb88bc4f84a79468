// Package access decides who may do what on a Kusto database: the caller
// model shared by the query and command layers, Kusto's database roles, and
// the Forbidden error Kusto answers with.
package access

import (
	"fmt"
	"slices"
	"strings"

	"odx/internal/kerr"
)

// Caller is the authenticated principal of a request.
type Caller struct {
	// Name is the Kusto FQN, e.g. `aadapp=<client id>;<tenant id>`.
	Name string
	// DisplayName is shown in `.show principals` output and logs.
	DisplayName string
	// ClusterRoles are cluster-wide grants: ClusterAdmin, ClusterViewer.
	ClusterRoles []string
}

// DefaultDatabase is the database name Kusto clients send when none is set;
// cluster-level commands and table-free queries work with it.
const DefaultDatabase = "NetDefaultDB"

// Cluster-wide roles.
const (
	ClusterAdmin  = "AllDatabasesAdmin"
	ClusterViewer = "AllDatabasesViewer"
)

// Database roles, spelled as in `.add database D <role> (...)`.
const (
	RoleAdmin              = "admins"
	RoleUser               = "users"
	RoleViewer             = "viewers"
	RoleUnrestrictedViewer = "unrestrictedviewers"
	RoleIngestor           = "ingestors"
	RoleMonitor            = "monitors"
)

// Roles lists the database roles in Kusto's order.
var Roles = []string{RoleAdmin, RoleUser, RoleViewer, RoleUnrestrictedViewer, RoleIngestor, RoleMonitor}

// RoleTitle is how `.show database D principals` names a role: "Admin", "Viewer", ...
func RoleTitle(role string) string {
	switch role {
	case RoleAdmin:
		return "Admin"
	case RoleUser:
		return "User"
	case RoleViewer:
		return "Viewer"
	case RoleUnrestrictedViewer:
		return "UnrestrictedViewer"
	case RoleIngestor:
		return "Ingestor"
	case RoleMonitor:
		return "Monitor"
	}
	return role
}

// Op is a class of operation a role may allow.
type Op uint8

const (
	// OpView reads data and metadata (queries, .show).
	OpView Op = iota
	// OpMonitor reads metadata only (.show commands).
	OpMonitor
	// OpIngest writes rows into existing tables.
	OpIngest
	// OpCreate creates tables and functions (database users may).
	OpCreate
	// OpAdmin alters or drops entities, policies and principals of a database.
	OpAdmin
	// OpClusterAdmin creates and drops databases.
	OpClusterAdmin
)

// Describe names the operation in Kusto's Forbidden message.
func (o Op) Describe() string {
	switch o {
	case OpView:
		return "read"
	case OpMonitor:
		return "monitor"
	case OpIngest:
		return "ingest"
	case OpCreate, OpAdmin:
		return "write"
	}
	return "administer"
}

var allowedRoles = map[Op][]string{
	OpView:    {RoleAdmin, RoleUser, RoleViewer, RoleUnrestrictedViewer},
	OpMonitor: {RoleAdmin, RoleUser, RoleViewer, RoleUnrestrictedViewer, RoleMonitor},
	OpIngest:  {RoleAdmin, RoleIngestor},
	OpCreate:  {RoleAdmin, RoleUser},
	OpAdmin:   {RoleAdmin},
}

// HasClusterRole reports whether c holds the cluster role r.
func (c Caller) HasClusterRole(r string) bool {
	return slices.ContainsFunc(c.ClusterRoles, func(x string) bool { return strings.EqualFold(x, r) })
}

// Can reports whether c, holding dbRoles on a database, may perform op there.
func (c Caller) Can(op Op, dbRoles []string) bool {
	if c.HasClusterRole(ClusterAdmin) {
		return true
	}
	if op == OpClusterAdmin {
		return false
	}
	if (op == OpView || op == OpMonitor) && c.HasClusterRole(ClusterViewer) {
		return true
	}
	for _, r := range dbRoles {
		if slices.Contains(allowedRoles[op], r) {
			return true
		}
	}
	return false
}

// Forbidden is Kusto's 403 answer for c attempting op on database db
// (db is empty for cluster-level operations).
func Forbidden(c Caller, op Op, db string) *kerr.Error {
	name := c.Name
	if name == "" {
		name = "<anonymous>"
	}
	var msg string
	if op == OpClusterAdmin {
		msg = fmt.Sprintf("Principal '%s' is not authorized to perform operation 'administer the cluster' (it needs the %s role)", name, ClusterAdmin)
	} else {
		msg = fmt.Sprintf("Principal '%s' is not authorized to perform operation '%s' on database '%s'", name, op.Describe(), db)
	}
	return kerr.New(kerr.Forbidden, kerr.CodeForbidden, "%s", msg)
}

// SameFQN reports whether a stored principal FQN names the caller. Kusto
// compares case-insensitively, and an FQN stored without a tenant
// (`aadapp=<id>`) matches that application in any tenant.
func SameFQN(stored, caller string) bool {
	stored, caller = strings.ToLower(strings.TrimSpace(stored)), strings.ToLower(strings.TrimSpace(caller))
	if stored == caller {
		return true
	}
	if !strings.Contains(stored, ";") {
		if i := strings.IndexByte(caller, ';'); i > 0 {
			return caller[:i] == stored
		}
	}
	return false
}
