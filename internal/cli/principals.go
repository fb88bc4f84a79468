package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"odx/internal/auth"
	"odx/internal/config"
)

const principalsUsage = `
Usage:
  odx principals add --name NAME [--role ROLE]... [--scope ARMID] [--data DIR]
  odx principals assign --client-id ID --role ROLE --scope ARMID [--data DIR]
  odx principals list [--data DIR]
  odx principals remove --client-id ID [--data DIR]

Service principals are the applications that may get tokens from odx's
Azure AD endpoint (client-credentials grant). 'add' prints the new client id
and secret once; keep the secret, odx stores only its hash.

Cluster roles (--role, repeatable):
  AllDatabasesAdmin   every data-plane right on every database
  AllDatabasesViewer  query every database
  Owner, Contributor  create, change and delete ARM resources
  Reader              read ARM resources
ARM roles hold everywhere, or, with --scope, at an ARM scope and below it,
as Azure RBAC assigns them:
  --scope /subscriptions/<id>
  --scope /subscriptions/<id>/resourceGroups/<name>
  --scope /subscriptions/<id>/resourceGroups/<name>/providers/Microsoft.Kusto/clusters/<name>
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
		fs.Var(&roles, "role", "role to grant (repeatable)")
		scope := fs.String("scope", "", "ARM scope for the ARM roles given with --role (default: everywhere)")
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
		global, scoped := roles, []auth.Assignment(nil)
		if *scope != "" {
			global = nil
			for _, r := range roles {
				if slices.Contains(auth.ARMRoles, r) {
					scoped = append(scoped, auth.Assignment{Role: r, Scope: *scope})
				} else {
					global = append(global, r)
				}
			}
			for _, as := range scoped {
				if err := auth.ValidateAssignment(as); err != nil {
					return err
				}
			}
		}
		id, secret, err := auth.AddPrincipal(*dataDir, *name, global)
		if err != nil {
			return err
		}
		for _, as := range scoped {
			if err := auth.AssignRole(*dataDir, id, as); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "added principal %q\n", *name)
		fmt.Fprintf(stdout, "tenant id:     %s\n", creds.TenantID)
		fmt.Fprintf(stdout, "client id:     %s\n", id)
		fmt.Fprintf(stdout, "client secret: %s\n", secret)
		fmt.Fprintf(stdout, "kusto name:    aadapp=%s;%s\n", id, creds.TenantID)
		return nil
	case "assign":
		id := fs.String("client-id", "", "client id of the principal (required)")
		role := fs.String("role", "", "ARM role: Owner, Contributor or Reader (required)")
		scope := fs.String("scope", "", "ARM scope, e.g. /subscriptions/<id>/resourceGroups/<name> (required)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *id == "" || *role == "" || *scope == "" {
			return errors.New("--client-id, --role and --scope are required")
		}
		if err := auth.AssignRole(*dataDir, *id, auth.Assignment{Role: *role, Scope: *scope}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "assigned %s at %s to %s\n", *role, *scope, *id)
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
			roles := slices.Clone(a.Roles)
			for _, as := range a.Assignments {
				roles = append(roles, as.Role+"@"+as.Scope)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ClientID, a.DisplayName, strings.Join(roles, ","), a.CreatedAt.Format("2006-01-02 15:04"))
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
	return fmt.Errorf("unknown verb %q: use add, assign, list or remove", verb)
}
