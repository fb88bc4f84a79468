// Command odx is a self-hosted Azure Data Explorer: run `odx --help`.
package main

import (
	"os"

	"odx/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
