// Package arm_test drives odx's Microsoft.Kusto resource provider with the
// real Azure SDKs (Go armkusto, Python azure-mgmt-kusto, Node
// @azure/arm-kusto) over a real TLS listener on 127.0.0.1, with tokens from
// odx's own token endpoint (internal/auth). Storage, data plane and the
// connection manager are the in-memory fakes of internal/arm/armtest.
package arm_test

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kusto/armkusto"

	odxarm "odx/internal/arm"
	"odx/internal/arm/armtest"
	"odx/internal/auth"
	"odx/internal/pki"
)

const subscription = "00000000-0000-0000-0000-0000000000aa"

type server struct {
	dir       string
	url       string // https://127.0.0.1:PORT
	creds     *auth.Credentials
	bundle    *pki.Bundle
	docs      *armtest.Documents
	dataPlane *armtest.DataPlane
	conns     *armtest.Connections
	handler   *odxarm.Handler
}

// startServer serves AAD endpoints and the ARM API on one TLS listener, the
// way odx serve mounts them: the ARM API behind auth's bearer middleware.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	bundle, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	creds, err := auth.Bootstrap(dir, auth.EndpointsFor(base), bundle.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	authority, err := auth.New(dir, auth.Options{DataAudiences: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, url: base, creds: creds, bundle: bundle, docs: armtest.NewDocuments(),
		dataPlane: armtest.NewDataPlane(), conns: armtest.NewConnections()}
	s.handler = odxarm.NewHandler(odxarm.Options{
		Documents: s.docs, DataPlane: s.dataPlane, Connections: s.conns,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DataPlaneURL: base,
		// What the wiring does with auth's roles: Reader reads, Contributor writes.
		Authorize: func(r *http.Request, action, scope string) (bool, string) {
			p, ok := auth.PrincipalFrom(r.Context())
			if !ok {
				return false, ""
			}
			caller := fmt.Sprintf("The client '%s' with object id '%s'", p.ClientID, p.ObjectID)
			if odxarm.IsReadAction(action) {
				return p.HasRole(auth.RoleReader), caller
			}
			return p.HasRole(auth.RoleContributor), caller
		},
	})
	guard := authority.Guard(func(w http.ResponseWriter, r *http.Request, status int, code, message string) {
		odxarm.ARMError(w, status, code, message)
	})
	ad, armAPI := authority.Handler(), guard.Middleware(s.handler)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.IsADPath(r.URL.Path) {
			ad.ServeHTTP(w, r)
			return
		}
		armAPI.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(tls.NewListener(ln, bundle.ServerTLS))
	t.Cleanup(func() {
		srv.Close()
		s.handler.Close()
	})
	return s
}

// goClients builds armkusto's client factory exactly as azure-clients.md §3.1
// says, for the bootstrap principal (which holds every role).
func (s *server) goClients(t *testing.T) *armkusto.ClientFactory {
	t.Helper()
	return s.goClientsAs(t, s.creds.ClientID, s.creds.ClientSecret)
}

func (s *server) goClientsAs(t *testing.T, clientID, secret string) *armkusto.ClientFactory {
	t.Helper()
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.url + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.url, Audience: "https://management.azure.com"},
		},
	}
	transport := s.bundle.HTTPClient()
	cred, err := azidentity.NewClientSecretCredential(s.creds.TenantID, clientID, secret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cfg, Transport: transport},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	f, err := armkusto.NewClientFactory(subscription, cred, &arm.ClientOptions{
		ClientOptions:         azcore.ClientOptions{Cloud: cfg, Transport: transport},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
