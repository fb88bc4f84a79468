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
)

// Cluster-level roles a service principal can hold. The data plane roles
// cover every database; per-database roles are Kusto's own
// (.add database D admins ...) and live with the databases.
const (
	RoleAllDatabasesAdmin  = "AllDatabasesAdmin"  // data plane: everything
	RoleAllDatabasesViewer = "AllDatabasesViewer" // data plane: read every database
	RoleContributor        = "Contributor"        // ARM: create, change, delete resources
	RoleReader             = "Reader"             // ARM: read resources
)

// AllRoles are the roles the bootstrap principal holds.
var AllRoles = []string{RoleAllDatabasesAdmin, RoleAllDatabasesViewer, RoleContributor, RoleReader}

// impliedRoles: a role also grants the weaker roles listed here, as in Azure
// (a Contributor can read) and Kusto (an admin can view).
var impliedRoles = map[string][]string{
	RoleAllDatabasesAdmin: {RoleAllDatabasesViewer},
	RoleContributor:       {RoleReader},
}

// bootstrapDisplayName marks the principal credentials.json holds.
const bootstrapDisplayName = "odx-bootstrap"

// App is a service principal (an AAD application registration).
type App struct {
	TenantID    string    `json:"tenantId"`
	ClientID    string    `json:"clientId"`
	ObjectID    string    `json:"objectId"`
	DisplayName string    `json:"displayName"`
	SecretHash  string    `json:"secretHash"`
	Roles       []string  `json:"roles"`
	CreatedAt   time.Time `json:"createdAt"`
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
		f.TenantID = newUUID()
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
		if !slices.Contains(AllRoles, r) {
			return fmt.Errorf("unknown role %q; valid roles are %s", r, strings.Join(AllRoles, ", "))
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
	clientID, secret = newUUID(), newSecret()
	_, err = updateRegistry(dataDir, func(f *registryFile) error {
		f.Apps = append(f.Apps, App{
			TenantID:    f.TenantID,
			ClientID:    clientID,
			ObjectID:    newUUID(),
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
