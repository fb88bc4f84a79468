package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Cluster-level roles a service principal can hold. The data plane roles
// cover every database; per-database roles are Kusto's own
// (.add database D admins ...) and live with the databases.
const (
	RoleAllDatabasesAdmin  = "AllDatabasesAdmin"  // data plane: everything
	RoleAllDatabasesViewer = "AllDatabasesViewer" // data plane: read every database
	RoleOwner              = "Owner"              // ARM: everything a Contributor may do
	RoleContributor        = "Contributor"        // ARM: create, change, delete resources
	RoleReader             = "Reader"             // ARM: read resources
)

// AllRoles are the roles the bootstrap principal holds.
var AllRoles = []string{RoleAllDatabasesAdmin, RoleAllDatabasesViewer, RoleContributor, RoleReader}

// validRoles are the roles a principal may be given.
var validRoles = []string{RoleAllDatabasesAdmin, RoleAllDatabasesViewer, RoleOwner, RoleContributor, RoleReader}

// ARMRoles are the roles that may be assigned at an ARM scope.
var ARMRoles = []string{RoleOwner, RoleContributor, RoleReader}

// Assignment gives an ARM role at a scope: a subscription
// (/subscriptions/S), a resource group (/subscriptions/S/resourceGroups/G)
// or a resource such as a cluster, and everything below it, as Azure RBAC does.
type Assignment struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
}

// Covers reports whether the assignment's scope is scope or one of its parents.
func (as Assignment) Covers(scope string) bool {
	a := strings.ToLower(strings.TrimRight(as.Scope, "/"))
	s := strings.ToLower(strings.TrimRight(scope, "/"))
	return s == a || strings.HasPrefix(s, a+"/")
}

// ValidateAssignment checks an assignment's role and scope.
func ValidateAssignment(as Assignment) error {
	if !slices.Contains(ARMRoles, as.Role) {
		return fmt.Errorf("role %q cannot be assigned at a scope; ARM roles are %s", as.Role, strings.Join(ARMRoles, ", "))
	}
	parts := strings.Split(strings.Trim(as.Scope, "/"), "/")
	if !strings.HasPrefix(as.Scope, "/") || len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || len(parts)%2 != 0 {
		return fmt.Errorf("scope %q: want an ARM id such as /subscriptions/<id>[/resourceGroups/<name>[/providers/Microsoft.Kusto/clusters/<name>]]", as.Scope)
	}
	return nil
}

// ARMAllows reports whether the principal may perform an ARM action at
// scope: its cluster-wide ARM roles apply everywhere, its assignments at
// their scope and below. Owner and Contributor may do anything, Reader only read.
func (a App) ARMAllows(read bool, scope string) bool {
	allows := func(role string) bool {
		return role == RoleOwner || role == RoleContributor || (read && role == RoleReader)
	}
	for _, r := range a.Roles {
		if allows(r) {
			return true
		}
	}
	for _, as := range a.Assignments {
		if allows(as.Role) && as.Covers(scope) {
			return true
		}
	}
	return false
}

// impliedRoles: a role also grants the weaker roles listed here, as in Azure
// (a Contributor can read) and Kusto (an admin can view).
var impliedRoles = map[string][]string{
	RoleAllDatabasesAdmin: {RoleAllDatabasesViewer},
	RoleOwner:             {RoleContributor, RoleReader},
	RoleContributor:       {RoleReader},
}

// bootstrapDisplayName marks the principal credentials.json holds.
const bootstrapDisplayName = "odx-bootstrap"

// App is a service principal (an AAD application registration).
type App struct {
	TenantID    string   `json:"tenantId"`
	ClientID    string   `json:"clientId"`
	ObjectID    string   `json:"objectId"`
	DisplayName string   `json:"displayName"`
	SecretHash  string   `json:"secretHash"`
	Roles       []string `json:"roles"`
	// Assignments are ARM roles at a scope, on top of the cluster-wide Roles.
	Assignments []Assignment `json:"armRoleAssignments,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
}

// registryFile is the content of principals.json.
type registryFile struct {
	TenantID string `json:"tenantId"`
	Apps     []App  `json:"apps"`
}

func (f *registryFile) find(clientID string) (int, bool) {
	i := slices.IndexFunc(f.Apps, func(a App) bool { return strings.EqualFold(a.ClientID, clientID) })
	return i, i >= 0
}

func principalsPath(dataDir string) string { return filepath.Join(dataDir, PrincipalsFileName) }

// readRegistry reads principals.json; a missing file is an empty registry.
func readRegistry(dataDir string) (registryFile, error) {
	var f registryFile
	data, err := os.ReadFile(principalsPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read principals: %w", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%s is not valid JSON (fix or delete it): %w", principalsPath(dataDir), err)
	}
	return f, nil
}

// updateRegistry changes principals.json under an exclusive lock, so two
// processes (a server and `odx principals add`) never lose each other's
// changes. It creates the tenant on first use.
func updateRegistry(dataDir string, change func(*registryFile) error) (registryFile, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return registryFile{}, fmt.Errorf("create data directory: %w", err)
	}
	unlock, err := lockFile(principalsPath(dataDir) + principalsLockSuffix)
	if err != nil {
		return registryFile{}, err
	}
	defer unlock()
	f, err := readRegistry(dataDir)
	if err != nil {
		return f, err
	}
	before, _ := json.Marshal(f)
	if f.TenantID == "" {
		f.TenantID = uuid.NewString()
	}
	if err := change(&f); err != nil {
		return f, err
	}
	after, _ := json.Marshal(f)
	if string(before) == string(after) {
		return f, nil
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return f, err
	}
	return f, writeFileAtomic(principalsPath(dataDir), append(data, '\n'), 0o600)
}

// ValidateRoles reports an error naming the valid roles when roles holds an
// unknown one.
func ValidateRoles(roles []string) error {
	for _, r := range roles {
		if !slices.Contains(validRoles, r) {
			return fmt.Errorf("unknown role %q; valid roles are %s", r, strings.Join(validRoles, ", "))
		}
	}
	return nil
}

// AddPrincipal registers a new service principal with the given cluster
// roles and returns its client id and secret. The secret is shown only here:
// principals.json keeps its hash. A running odx sees the new principal on its
// next token request.
func AddPrincipal(dataDir, displayName string, roles []string) (clientID, secret string, err error) {
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		return "", "", errors.New("a principal needs a display name")
	}
	if err := ValidateRoles(roles); err != nil {
		return "", "", err
	}
	clientID, secret = uuid.NewString(), newSecret()
	_, err = updateRegistry(dataDir, func(f *registryFile) error {
		f.Apps = append(f.Apps, App{
			TenantID:    f.TenantID,
			ClientID:    clientID,
			ObjectID:    uuid.NewString(),
			DisplayName: displayName,
			SecretHash:  hashSecret(secret),
			Roles:       slices.Clone(roles),
			CreatedAt:   time.Now().UTC().Truncate(time.Second),
		})
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return clientID, secret, nil
}

// AssignRole gives an existing principal an ARM role at a scope. A running
// odx applies it to the principal's next ARM request.
func AssignRole(dataDir, clientID string, as Assignment) error {
	if err := ValidateAssignment(as); err != nil {
		return err
	}
	_, err := updateRegistry(dataDir, func(f *registryFile) error {
		i, ok := f.find(clientID)
		if !ok {
			return fmt.Errorf("no principal with client id %s (see odx principals list)", clientID)
		}
		for _, have := range f.Apps[i].Assignments {
			if have.Role == as.Role && strings.EqualFold(strings.TrimRight(have.Scope, "/"), strings.TrimRight(as.Scope, "/")) {
				return nil
			}
		}
		f.Apps[i].Assignments = append(f.Apps[i].Assignments, as)
		return nil
	})
	return err
}

// ListPrincipals returns the registered service principals, oldest first.
func ListPrincipals(dataDir string) ([]App, error) {
	f, err := readRegistry(dataDir)
	return f.Apps, err
}

// RemovePrincipal deletes a service principal. Tokens it already holds stay
// valid until they expire (at most an hour), as with Azure AD. The bootstrap
// principal cannot be removed: odx env and the client commands rely on it.
func RemovePrincipal(dataDir, clientID string) error {
	if creds, err := LoadCredentials(dataDir); err == nil && strings.EqualFold(creds.ClientID, clientID) {
		return fmt.Errorf("%s is the bootstrap principal of credentials.json and cannot be removed", clientID)
	}
	_, err := updateRegistry(dataDir, func(f *registryFile) error {
		i, ok := f.find(clientID)
		if !ok {
			return fmt.Errorf("no principal with client id %s (see odx principals list)", clientID)
		}
		f.Apps = slices.Delete(f.Apps, i, i+1)
		return nil
	})
	return err
}

// registry is a server's view of principals.json. It reloads the file when
// it changes on disk, so principals added by another process work without a
// restart.
type registry struct {
	dataDir string

	mu      sync.Mutex
	file    registryFile
	modTime time.Time
	size    int64
}

func openRegistry(dataDir string) (*registry, error) {
	r := &registry{dataDir: dataDir}
	// Make sure a tenant exists even if Bootstrap never ran.
	if _, err := updateRegistry(dataDir, func(*registryFile) error { return nil }); err != nil {
		return nil, err
	}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *registry) tenantID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.file.TenantID
}

// lookup finds an app, re-reading principals.json first if it changed on disk
// or if the app is unknown (a principal added within the mtime resolution).
func (r *registry) lookup(clientID string) (App, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := true
	if fi, err := os.Stat(principalsPath(r.dataDir)); err == nil {
		changed = !fi.ModTime().Equal(r.modTime) || fi.Size() != r.size
	}
	if _, ok := r.file.find(clientID); !ok || changed {
		if err := r.reloadLocked(); err != nil {
			return App{}, false, err
		}
	}
	i, ok := r.file.find(clientID)
	if !ok {
		return App{}, false, nil
	}
	return r.file.Apps[i], true, nil
}

func (r *registry) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *registry) reloadLocked() error {
	fi, err := os.Stat(principalsPath(r.dataDir))
	if err != nil {
		return fmt.Errorf("principals: %w", err)
	}
	f, err := readRegistry(r.dataDir)
	if err != nil {
		return err
	}
	if r.file.TenantID != "" && f.TenantID != r.file.TenantID {
		// A replaced principals.json with another tenant would invalidate
		// every token and credentials.json; keep serving the old one.
		return fmt.Errorf("%s now names tenant %s, but odx runs tenant %s; restore the file or restart odx",
			principalsPath(r.dataDir), f.TenantID, r.file.TenantID)
	}
	r.file, r.modTime, r.size = f, fi.ModTime(), fi.Size()
	return nil
}
