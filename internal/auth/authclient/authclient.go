// Package authclient gives odx's own client commands (odx ingest, a query
// shell) the credential and HTTP client to reach a running odx, following
// DESIGN.md's client-command contract: the credentials and CA of --data DIR,
// or AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and SSL_CERT_FILE
// when those are set.
//
// It lives apart from package auth so that the server does not link the
// Azure SDK's client side.
package authclient

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"odx/internal/auth"
	"odx/internal/pki"
)

// Config is who a client command is and whom it trusts.
type Config struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	// AuthorityHost is the AAD authority without tenant, e.g.
	// https://127.0.0.1:8443.
	AuthorityHost string
	// CAFile is odx's CA (or any PEM bundle) to trust besides the system
	// roots; empty trusts the system roots only.
	CAFile string
	// Source says where the settings came from, for error messages:
	// "environment" or the path of credentials.json.
	Source string
}

var envNames = []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}

// Load picks the client settings. When AZURE_TENANT_ID, AZURE_CLIENT_ID and
// AZURE_CLIENT_SECRET are all set they win, with AZURE_AUTHORITY_HOST (else
// endpoint) as authority and SSL_CERT_FILE as CA; setting only some of them
// is an error, since silently falling back would authenticate as someone
// else. Otherwise DIR/credentials.json is used.
func Load(dataDir, endpoint string) (*Config, error) {
	var set, missing []string
	for _, name := range envNames {
		if os.Getenv(name) != "" {
			set = append(set, name)
		} else {
			missing = append(missing, name)
		}
	}
	if len(set) == len(envNames) {
		authority := os.Getenv("AZURE_AUTHORITY_HOST")
		if authority == "" {
			authority = endpoint
		}
		c := &Config{
			TenantID:      os.Getenv("AZURE_TENANT_ID"),
			ClientID:      os.Getenv("AZURE_CLIENT_ID"),
			ClientSecret:  os.Getenv("AZURE_CLIENT_SECRET"),
			AuthorityHost: strings.TrimRight(authority, "/"),
			CAFile:        os.Getenv("SSL_CERT_FILE"),
			Source:        "environment",
		}
		return c, c.validate()
	}
	if len(set) > 0 {
		return nil, fmt.Errorf("%s set but %s not; set all three or none (to use %s/credentials.json)",
			strings.Join(set, ", "), strings.Join(missing, ", "), dataDir)
	}
	creds, err := auth.LoadCredentials(dataDir)
	if err != nil {
		return nil, err
	}
	authority := creds.Authority
	if authority == "" {
		authority = endpoint
	}
	c := &Config{
		TenantID:      creds.TenantID,
		ClientID:      creds.ClientID,
		ClientSecret:  creds.ClientSecret,
		AuthorityHost: strings.TrimRight(authority, "/"),
		CAFile:        creds.CAFile,
		Source:        dataDir + "/" + auth.CredentialsFileName,
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if !strings.HasPrefix(c.AuthorityHost, "https://") {
		return fmt.Errorf("authority %q from %s must be an https URL (the Azure SDKs refuse anything else)", c.AuthorityHost, c.Source)
	}
	return nil
}

// HTTPClient returns an HTTP client trusting the system roots and CAFile.
func (c *Config) HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.CAFile != "" {
		cfg, err := pki.ClientTLSFromFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w (CA file from %s)", err, c.Source)
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// Credential returns azidentity's ClientSecretCredential pointed at odx:
// odx as authority host, instance discovery off (it would call
// login.microsoftonline.com), CAFile trusted. It works with azkustodata's
// WithTokenCredential and the ARM clients.
func (c *Config) Credential() (azcore.TokenCredential, error) {
	httpClient, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost + "/"},
			Transport: httpClient,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("credential from %s: %w", c.Source, err)
	}
	return cred, nil
}
