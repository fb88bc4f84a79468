// Package cli implements odx's command line: one file per subcommand, each a
// thin layer that parses flags and calls the package that does the work.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"odx/internal/buildinfo"
	"odx/internal/gcpolicy"
)

// command is one subcommand of odx.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run odx: Kusto data plane, Azure AD token endpoint, ARM API, data connections", runServe},
		{"ingest", "bulk-load files, globs, folders and URLs into a table of a running odx", runIngest},
		{"iot", "IoT hub device tokens, connection strings and policies (token, connection-string, policy)", runIoT},
		{"env", "print shell export lines for the Azure SDKs and Kusto clients", runEnv},
		{"kql", "format or explain a KQL query without a server (fmt, explain)", runKQL},
		{"principals", "add, list or remove service principals (add, list, remove)", runPrincipals},
		{"version", "print odx's version", runVersion},
	}
}

const intro = `odx is a self-hosted Azure Data Explorer (Kusto): KQL over the Kusto REST
protocol, the Microsoft.Kusto management API, an Azure AD-compatible token
endpoint, and data connections that ingest from Event Hubs, Event Grid and
IoT Hub. Real Azure SDKs and Kusto clients work against it unchanged.

Usage:
  odx <command> [flags]

Commands:
`

const outro = `
Quick start:
  odx serve                      # https://127.0.0.1:8443, data in ./odx-data
  eval "$(odx env)"              # credentials and CA for the Azure SDKs
  odx kql explain 'print 1+1'    # see the SQL a query becomes

Run 'odx <command> --help' for a command's flags.
`

// errUsage marks an error already explained by printed usage.
var errUsage = errors.New("usage")

// Main runs odx with the given arguments and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	gcpolicy.Apply()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "odx %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "odx: unknown command %q\n\n", args[0])
	printHelp(stderr)
	return 2
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, intro)
	cmds := commands()
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, outro)
}

// newFlagSet makes a flag set whose --help prints a usage text that teaches.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("odx "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimSpace(usage))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and maps a bad flag to errUsage (usage already printed).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "odx %s\n", buildinfo.Version)
	return nil
}
