package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-kusto-go/azkustodata"
	"github.com/Azure/azure-kusto-go/azkustodata/kql"
	"github.com/Azure/azure-kusto-go/azkustodata/query"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// goClients returns two real azkustodata clients for s: one that gets its
// tokens from odx's own token endpoint through azidentity, and one with a
// static bearer token.
func goClients(t *testing.T, s *server) map[string]*azkustodata.Client {
	t.Helper()
	transport := s.client.Transport.(*http.Transport).Clone()
	httpClient := &http.Client{Transport: transport, Timeout: 2 * time.Minute}

	cred, err := azidentity.NewClientSecretCredential(s.creds.TenantID, s.creds.ClientID, s.creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.creds.Authority + "/"},
				Transport: httpClient,
			},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	viaCredential, err := azkustodata.New(azkustodata.NewConnectionStringBuilder(s.creds.DataEndpoint).WithTokenCredential(cred),
		azkustodata.WithHttpClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}
	static, err := azkustodata.New(azkustodata.NewConnectionStringBuilder(s.creds.DataEndpoint).WithApplicationToken(s.creds.ClientID, s.dataToken()),
		azkustodata.WithHttpClient(&http.Client{Transport: transport.Clone(), Timeout: 2 * time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaCredential.Close(); static.Close() })
	return map[string]*azkustodata.Client{"azidentity": viaCredential, "static-token": static}
}

func stmt(text string) *kql.Builder { return kql.New("").AddUnsafe(text) }

// rowsOf flattens a table's rows into strings, for readable comparisons.
func rowsOf(t *testing.T, tbl query.Table) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range tbl.Rows() {
		var row []string
		for _, v := range r.Values() {
			row = append(row, v.String())
		}
		out = append(out, row)
	}
	return out
}

func TestGoClientEndToEnd(t *testing.T) {
	s := startServer(t, "")
	for name, c := range goClients(t, s) {
		t.Run(name, func(t *testing.T) {
			ctx := ctxTimeout(t, 2*time.Minute)
			db := "Telemetry_" + strings.ReplaceAll(name, "-", "_")

			if _, err := c.Mgmt(ctx, "NetDefaultDB", stmt(".create database "+db)); err != nil {
				t.Fatalf(".create database: %v", err)
			}
			ds, err := c.Mgmt(ctx, "NetDefaultDB", stmt(".show databases"))
			if err != nil {
				t.Fatalf(".show databases: %v", err)
			}
			if !strings.Contains(strings.Join(flatten(rowsOf(t, ds.Tables()[0])), " "), db) {
				t.Fatalf(".show databases does not list %s: %v", db, rowsOf(t, ds.Tables()[0]))
			}

			mustMgmt := func(cmd string) query.Table {
				t.Helper()
				ds, err := c.Mgmt(ctx, db, stmt(cmd))
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				return ds.Tables()[0]
			}
			mustMgmt(".create table Events (Timestamp: datetime, Device: string, Level: int, Value: real, Props: dynamic)")
			mustMgmt(".ingest inline into table Events <|\n" +
				"2024-01-01T00:00:00Z,dev-1,1,1.5,\"{\"\"a\"\":1}\"\n" +
				"2024-01-01T01:00:00Z,dev-2,2,2.5,\"{\"\"a\"\":2}\"\n" +
				"2024-01-01T02:00:00.1234567Z,dev-1,3,3.5,\"{\"\"a\"\":3}\"")

			// v2 query (fragmented primary table, as azkustodata asks for it)
			res, err := c.Query(ctx, db, stmt("Events | where Device == 'dev-1' | summarize n=count(), total=sum(Value) by Device"))
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			primary := res.Tables()[0]
			if got := rowsOf(t, primary); len(got) != 1 || got[0][0] != "dev-1" || got[0][1] != "2" || got[0][2] != "5" {
				t.Fatalf("summarize: got %v, want [[dev-1 2 5]]", got)
			}
			if cols := primary.Columns(); string(cols[1].Type()) != "long" || string(cols[2].Type()) != "real" {
				t.Fatalf("column types: %s, %s (want long, real)", cols[1].Type(), cols[2].Type())
			}

			// datetime keeps 100 ns ticks end to end
			res, err = c.Query(ctx, db, stmt("Events | where Level == 3 | project Timestamp, Props.a"))
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			row := res.Tables()[0].Rows()[0]
			ts, err := row.DateTimeByIndex(0)
			if err != nil || ts == nil || ts.Nanosecond() != 123456700 {
				t.Fatalf("datetime ticks: %v %v", ts, err)
			}

			// show commands
			tables := rowsOf(t, mustMgmt(".show tables"))
			if len(tables) != 1 || tables[0][0] != "Events" {
				t.Fatalf(".show tables: %v", tables)
			}
			schema := rowsOf(t, mustMgmt(".show table Events cslschema"))
			if !strings.Contains(strings.Join(schema[0], " "), "Timestamp:datetime") {
				t.Fatalf(".show table cslschema: %v", schema)
			}
			extents := rowsOf(t, mustMgmt(".show table Events extents"))
			if len(extents) != 1 {
				t.Fatalf(".show extents: want one extent after one .ingest inline, got %d", len(extents))
			}

			// errors reach the client with Kusto's codes
			_, err = c.Query(ctx, db, stmt("Events | where"))
			if err == nil || !strings.Contains(err.Error(), "Syntax") {
				t.Fatalf("syntax error: got %v", err)
			}
			_, err = c.Query(ctx, db, stmt("NoSuchTable | count"))
			if err == nil || !strings.Contains(err.Error(), "NoSuchTable") {
				t.Fatalf("unknown table: got %v", err)
			}
			_, err = c.Mgmt(ctx, db, stmt(".drop table NoSuchTable"))
			if err == nil || !strings.Contains(err.Error(), "NoSuchTable") {
				t.Fatalf("dropping a missing table: got %v", err)
			}
		})
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
