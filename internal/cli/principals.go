package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"odx/internal/auth"
	"odx/internal/config"
)

const principalsUsage = `
Usage:
  odx principals add --name NAME [--role ROLE]... [--data DIR]
  odx principals list [--data DIR]
  odx principals remove --client-id ID [--data DIR]

Service principals are the applications that may get tokens from odx's
Azure AD endpoint (client-credentials grant). 'add' prints the new client id
and secret once; keep the secret, odx stores only its hash.

Cluster roles (--role, repeatable):
  AllDatabasesAdmin   every data-plane right on every database
  AllDatabasesViewer  query every database
  Contributor         create, change and delete ARM resources
  Reader              read ARM resources
A principal without roles can still be given database roles with Kusto's
commands, e.g. .add database Telemetry viewers ('aadapp=<client id>;<tenant>').

A running odx sees changes at once; no restart is needed.`

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runPrincipals(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, strings.TrimSpace(principalsUsage))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("principals "+verb, principalsUsage, stderr)
	dataDir := fs.String("data", config.DefaultDataDir, "odx's data directory")
	switch verb {
	case "add":
		name := fs.String("name", "", "display name of the new principal (required)")
		var roles repeated
		fs.Var(&roles, "role", "cluster role to grant (repeatable)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *name == "" {
			return errors.New("--name is required")
		}
		creds, err := auth.LoadCredentials(*dataDir)
		if err != nil {
			return err
		}
		id, secret, err := auth.AddPrincipal(*dataDir, *name, roles)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added principal %q\n", *name)
		fmt.Fprintf(stdout, "tenant id:     %s\n", creds.TenantID)
		fmt.Fprintf(stdout, "client id:     %s\n", id)
		fmt.Fprintf(stdout, "client secret: %s\n", secret)
		fmt.Fprintf(stdout, "kusto name:    aadapp=%s;%s\n", id, creds.TenantID)
		return nil
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		apps, err := auth.ListPrincipals(*dataDir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tNAME\tROLES\tCREATED")
		for _, a := range apps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ClientID, a.DisplayName, strings.Join(a.Roles, ","), a.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "remove":
		id := fs.String("client-id", "", "client id of the principal to remove (required)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *id == "" {
			return errors.New("--client-id is required")
		}
		if err := auth.RemovePrincipal(*dataDir, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed principal %s\n", *id)
		return nil
	}
	return fmt.Errorf("unknown verb %q: use add, list or remove", verb)
}
