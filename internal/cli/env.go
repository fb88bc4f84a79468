package cli

import (
	"fmt"
	"io"
	"strings"

	"odx/internal/auth"
	"odx/internal/config"
)

const envUsage = `
Usage: odx env [--data DIR]

Prints shell export lines with the bootstrap service principal and odx's CA,
for the Azure SDKs and the Kusto clients:

  eval "$(odx env)"

sets AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
AZURE_AUTHORITY_HOST, SSL_CERT_FILE (Go), REQUESTS_CA_BUNDLE (Python),
NODE_EXTRA_CA_CERTS (Node), ODX_ARM_ENDPOINT and ODX_DATA_ENDPOINT.
The data directory must have been initialised by 'odx serve' once.`

func runEnv(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("env", envUsage, stderr)
	dataDir := fs.String("data", config.DefaultDataDir, "odx's data directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	creds, err := auth.LoadCredentials(*dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, strings.Join(auth.EnvLines(creds), "\n"))
	return nil
}
