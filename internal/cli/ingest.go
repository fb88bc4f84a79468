package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"odx/internal/auth/authclient"
	"odx/internal/bulkingest"
	"odx/internal/config"
)

const ingestUsage = `
Usage: odx ingest --db DB --table TABLE [flags] PATH|GLOB|DIR|URL...

Bulk-loads files into a table of a running odx, in parallel, like ADX's
LightIngest. The format comes from each file's extension (x.csv, x.json,
x.parquet, x.avro, x.tsv.gz, ...) unless --format says it.

Text files (csv family, txt, JSON lines) are sent in pieces of about 8 MB,
each committed as one extent. Parquet, Avro, multi-line JSON and zip files
and URLs are read by odx itself (.ingest into): local ones must then lie under
a directory listed in ingestAllowedDirs of odx's config.

Examples:
  odx ingest --db Telemetry --table Events data/*.csv.gz
  odx ingest --db Telemetry --table Events --format json --mapping EventsMap logs/
  odx ingest --db Telemetry --table New --create-table --ignore-first-record x.csv

Credentials: --data DIR's credentials.json and CA, or AZURE_TENANT_ID,
AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and SSL_CERT_FILE when set.
The exit status is 1 when any file, piece or record failed.`

func runIngest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", ingestUsage, stderr)
	db := fs.String("db", "", "target database (required)")
	table := fs.String("table", "", "target table (required)")
	formatName := fs.String("format", "", "data format (csv, tsv, json, multijson, parquet, avro, ...); default: from the extension")
	mappingName := fs.String("mapping", "", "ingestion mapping reference")
	create := fs.Bool("create-table", false, "create the table from the first file when it does not exist")
	header := fs.Bool("ignore-first-record", false, "the files start with a header record")
	parallel := fs.Int("parallel", 4, "concurrent requests")
	var tags repeated
	fs.Var(&tags, "tag", "extent tag, e.g. drop-by:2024-01-01 (repeatable)")
	endpoint := fs.String("endpoint", config.DefaultEndpoint, "odx's https endpoint")
	dataDir := fs.String("data", config.DefaultDataDir, "odx's data directory (credentials and CA)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" || *table == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "odx ingest: --db, --table and at least one input are required")
		fs.Usage()
		return errUsage
	}
	cfg, err := authclient.Load(*dataDir, *endpoint)
	if err != nil {
		return err
	}
	httpClient, err := cfg.HTTPClient()
	if err != nil {
		return err
	}
	cred, err := cfg.Credential()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	k := &bulkingest.Kusto{Endpoint: strings.TrimRight(*endpoint, "/"), HTTP: httpClient, Cred: cred}
	rep, err := bulkingest.Run(ctx, k, bulkingest.Options{
		Database: *db, Table: *table, Format: *formatName, Mapping: *mappingName, CreateTable: *create,
		IgnoreFirst: *header, Tags: tags, Parallel: *parallel, Inputs: fs.Args(),
		Progress: stderr, Terminal: isTerminal(stderr),
	})
	printReport(stdout, rep)
	if err != nil {
		return err
	}
	if rep.Failed() {
		return errors.New("some data was not ingested; see the failures above")
	}
	return nil
}

func printReport(w io.Writer, rep bulkingest.Report) {
	fmt.Fprintf(w, "files: %d (%d failed)  rows: %d  extents: %d  failures: %d  data: %.1f MB  took: %v",
		rep.Files, rep.FilesFailed, rep.Rows, rep.Extents, len(rep.Failures), float64(rep.Bytes)/(1<<20), rep.Took.Round(1e7))
	if s := rep.Took.Seconds(); s > 0 {
		fmt.Fprintf(w, "  (%.0f rows/s)", float64(rep.Rows)/s)
	}
	fmt.Fprintln(w)
	const show = 20
	for i, f := range rep.Failures {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more (.show ingestion failures lists them)\n", len(rep.Failures)-show)
			break
		}
		fmt.Fprintf(w, "  failure: %s\n", f)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
