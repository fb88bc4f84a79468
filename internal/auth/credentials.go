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
	"time"

	"github.com/google/uuid"
)

// Endpoints are the public URLs clients use to reach odx.
type Endpoints struct {
	// Authority is the AAD authority host, without tenant
	// (https://127.0.0.1:8443), as the Azure SDKs take it.
	Authority string
	ARM       string // base URL of the Microsoft.Kusto management API
	Data      string // Kusto data plane cluster URL
}

// EndpointsFor returns Endpoints for an odx that serves everything on one
// listener at baseURL, as odx serve does.
func EndpointsFor(baseURL string) Endpoints {
	baseURL = strings.TrimRight(baseURL, "/")
	return Endpoints{Authority: baseURL, ARM: baseURL, Data: baseURL}
}

// Credentials is DIR/credentials.json: the bootstrap service principal that
// owns everything, and where to use it.
type Credentials struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Authority    string `json:"authority"`
	ARMEndpoint  string `json:"armEndpoint"`
	DataEndpoint string `json:"dataEndpoint"`
	CAFile       string `json:"caFile"`
}

func credentialsPath(dataDir string) string { return filepath.Join(dataDir, CredentialsFileName) }

// LoadCredentials reads DIR/credentials.json.
func LoadCredentials(dataDir string) (*Credentials, error) {
	data, err := os.ReadFile(credentialsPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; start `odx serve --data %s` once to create it", credentialsPath(dataDir), fs.ErrNotExist, dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", credentialsPath(dataDir), err)
	}
	if c.TenantID == "" || c.ClientID == "" || c.ClientSecret == "" {
		return nil, fmt.Errorf("%s lacks tenantId, clientId or clientSecret", credentialsPath(dataDir))
	}
	return &c, nil
}

// Bootstrap makes sure the bootstrap service principal exists and that
// DIR/credentials.json (mode 0600) describes it with the current endpoints
// and CA file. The first start creates the tenant, the principal and its
// secret; later starts keep them and only refresh the endpoint fields when
// they changed (for example a new --listen address).
func Bootstrap(dataDir string, endpoints Endpoints, caFile string) (*Credentials, error) {
	if endpoints.Authority == "" || endpoints.ARM == "" || endpoints.Data == "" {
		return nil, errors.New("bootstrap needs the authority, ARM and data endpoints")
	}
	if caFile != "" {
		abs, err := filepath.Abs(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file path: %w", err)
		}
		caFile = abs
	}
	existing, err := LoadCredentials(dataDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (fix it, or delete it to create a new bootstrap principal)", err)
		}
		existing = nil
	}

	creds := &Credentials{}
	if existing != nil {
		*creds = *existing
	}
	_, err = updateRegistry(dataDir, func(f *registryFile) error {
		if existing != nil && !strings.EqualFold(existing.TenantID, f.TenantID) {
			if len(f.Apps) > 0 {
				return fmt.Errorf("credentials.json names tenant %s but principals.json tenant %s; restore the matching file",
					existing.TenantID, f.TenantID)
			}
			// principals.json was lost: rebuild it around credentials.json.
			f.TenantID = existing.TenantID
		}
		if existing == nil {
			// A crash between writing principals.json and credentials.json
			// leaves a bootstrap app whose secret nobody knows; replace it.
			f.Apps = slices.DeleteFunc(f.Apps, func(a App) bool { return a.DisplayName == bootstrapDisplayName })
			creds.TenantID, creds.ClientID, creds.ClientSecret = f.TenantID, uuid.NewString(), newSecret()
		}
		app := App{
			TenantID:    f.TenantID,
			ClientID:    creds.ClientID,
			ObjectID:    uuid.NewString(),
			DisplayName: bootstrapDisplayName,
			SecretHash:  hashSecret(creds.ClientSecret),
			Roles:       slices.Clone(AllRoles),
			CreatedAt:   time.Now().UTC().Truncate(time.Second),
		}
		if i, ok := f.find(creds.ClientID); ok {
			// Keep identity and history; make sure it still owns everything.
			app.ObjectID, app.CreatedAt = f.Apps[i].ObjectID, f.Apps[i].CreatedAt
			f.Apps[i] = app
		} else {
			f.Apps = append(f.Apps, app)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	creds.Authority = strings.TrimRight(endpoints.Authority, "/")
	creds.ARMEndpoint = strings.TrimRight(endpoints.ARM, "/")
	creds.DataEndpoint = strings.TrimRight(endpoints.Data, "/")
	creds.CAFile = caFile
	if existing != nil && *existing == *creds {
		return creds, nil
	}
	data, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(credentialsPath(dataDir), append(data, '\n'), 0o600); err != nil {
		return nil, err
	}
	return creds, nil
}

// EnvLines returns the shell export lines `odx env` prints: the AZURE_*
// variables azure-identity's EnvironmentCredential reads, the CA bundle for
// Go, Python and Node, and odx's endpoints. SSL_CERT_FILE replaces Go's and
// OpenSSL's system roots with odx's CA in that shell.
func EnvLines(creds *Credentials) []string {
	vars := [][2]string{
		{"AZURE_TENANT_ID", creds.TenantID},
		{"AZURE_CLIENT_ID", creds.ClientID},
		{"AZURE_CLIENT_SECRET", creds.ClientSecret},
		{"AZURE_AUTHORITY_HOST", creds.Authority},
		{"SSL_CERT_FILE", creds.CAFile},
		{"REQUESTS_CA_BUNDLE", creds.CAFile},
		{"NODE_EXTRA_CA_CERTS", creds.CAFile},
		{"ODX_ARM_ENDPOINT", creds.ARMEndpoint},
		{"ODX_DATA_ENDPOINT", creds.DataEndpoint},
	}
	lines := make([]string, 0, len(vars))
	for _, v := range vars {
		lines = append(lines, "export "+v[0]+"="+shellQuote(v[1]))
	}
	return lines
}

// shellQuote quotes s for POSIX shells: single quotes, with embedded single
// quotes written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
