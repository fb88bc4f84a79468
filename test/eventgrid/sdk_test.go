package eventgrid_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"odx/internal/testutil/azurite"
)

const (
	blobCreated = "Microsoft.Storage.BlobCreated"
	blobRenamed = "Microsoft.Storage.BlobRenamed"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The end-to-end case on the real binary: the connections are made
// with azure-mgmt-kusto's EventGridDataConnection as in the article; blobs
// are uploaded to Azurite with azblob; Event Grid's notifications (both
// schemas, one event or an array per message) announce them: metadata
// routing to another table and format, a gzip blob, a renamed blob, a
// duplicated notification, a blob that fails and an event of another
// account. The rows come back through the Kusto data plane with their
// values; the failure names its blob; `.show data connections` and
// /metrics count the blobs per connection.
func TestEventGridConnectionsMadeWithPythonSDK(t *testing.T) {
	s := startStack(t)
	out := s.createConnections([]string{
		".create table Events (Device: string, Value: long)",
		".create table Readings (Name: string, Score: real, At: datetime)",
	})
	for _, want := range []string{"blobcreated EventGrid Succeeded", "blobrenamed EventGrid Succeeded"} {
		if !strings.Contains(out, want) {
			t.Fatalf("create_connections.py printed %q, want a line %q", out, want)
		}
	}

	bc := azurite.Client(t, s.blobEP)
	files := map[string][]byte{
		"2024/a.csv":         []byte("dev-a,1\ndev-b,2\n"),
		"2024/b.csv.gz":      gzipped(t, []byte("dev-c,3\n")),
		"2024/readings.json": []byte(`{"Name":"n1","Score":1.5,"At":"2024-01-02T03:04:05Z"}` + "\n"),
		"2024/bad.csv":       []byte("this is no parquet\n"),
	}
	azurite.Upload(t, bc, "incoming", "2024/a.csv", files["2024/a.csv"], nil)
	azurite.Upload(t, bc, "incoming", "2024/b.csv.gz", files["2024/b.csv.gz"], nil)
	// Metadata routes the blob to another table and format (keys in any case).
	azurite.Upload(t, bc, "incoming", "2024/readings.json", files["2024/readings.json"],
		map[string]string{"kustoTable": "Readings", "KustoDataFormat": "json"})
	azurite.Upload(t, bc, "incoming", "2024/bad.csv", files["2024/bad.csv"], map[string]string{"kustoDataFormat": "parquet"})
	renamed := []byte("Device,Value\ndev-r,7\n")
	azurite.Upload(t, bc, "adls", "final/r.csv", renamed, nil)

	u := func(name string) string { return s.blobURL("incoming", name) }
	size := func(name string) int { return len(files[name]) }
	s.notify("blob-created",
		blobEvent(false, blobCreated, account, u("2024/a.csv"), size("2024/a.csv"), "PutBlob"),                  // one object
		[]any{blobEvent(true, blobCreated, account, u("2024/b.csv.gz"), size("2024/b.csv.gz"), "PutBlockList")}, // CloudEvents array
		[]any{ // an array: the routed blob and an event of another storage account
			blobEvent(false, blobCreated, account, u("2024/readings.json"), size("2024/readings.json"), "PutBlob"),
			blobEvent(false, blobCreated, "someoneelse", u("2024/a.csv"), size("2024/a.csv"), "PutBlob"),
		},
		blobEvent(true, blobCreated, account, u("2024/a.csv"), size("2024/a.csv"), "PutBlob"), // the same blob again
		blobEvent(false, blobCreated, account, u("2024/bad.csv"), size("2024/bad.csv"), "PutBlob"),
	)
	// ADLS Gen2 renames announce the destination; this connection skips each blob's header.
	s.notify("blob-renamed", []any{blobEvent(true, blobRenamed, account, s.blobURL("adls", "final/r.csv"), len(renamed), "RenameFile")})

	s.waitRows("Events | project Device, Value", []string{"dev-a|1", "dev-b|2", "dev-c|3", "dev-r|7"}, 60*time.Second)
	s.waitRows("Readings | project Name, Score, At", []string{"n1|1.5|2024-01-02T03:04:05.0000000Z"}, 30*time.Second)

	// The failing blob is an ingestion failure that names its URL.
	var failure string
	for deadline := time.Now().Add(30 * time.Second); failure == "" && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		for _, r := range s.query(".show ingestion failures") {
			if strings.Contains(r, u("2024/bad.csv")) {
				failure = r
			}
		}
	}
	if failure == "" {
		t.Fatalf("no ingestion failure names %s: %v", u("2024/bad.csv"), s.query(".show ingestion failures"))
	}

	// Blobs per connection in the state command and /metrics: the
	// duplicate is counted, not ingested again.
	want := map[string][3]int64{"blobcreated": {0, 3, 1}, "blobrenamed": {0, 1, 0}} // pending, ingested, failed
	var rows [][]any
	var cols map[string]int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		rows, cols = s.v1Table("mgmt", ".show database "+database+" data connections")
		if blobCountsMatch(rows, cols, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf(".show data connections: %v (columns %v); want blobs (pending, ingested, failed) %v", rows, cols, want)
		}
	}
	metrics := s.metrics()
	for _, m := range []string{
		`odx_data_connection_blobs_ingested_total{connection="blobcreated",database="landing"} 3`,
		`odx_data_connection_blobs_failed_total{connection="blobcreated",database="landing"} 1`,
		`odx_data_connection_blobs_duplicate_total{connection="blobcreated",database="landing"} 1`,
		`odx_data_connection_blobs_pending{connection="blobcreated",database="landing"} 0`,
		`odx_data_connection_blobs_ingested_total{connection="blobrenamed",database="landing"} 1`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s:\n%s", m, strings.Join(regexp.MustCompile(`(?m)^odx_data_connection_blob.*$`).FindAllString(metrics, -1), "\n"))
		}
	}

	// A restart reads on from the committed positions: nothing twice, and
	// a notification repeated afterwards is still recognised.
	s.odx.Stop()
	s.odx.Start()
	s.notify("blob-created", blobEvent(false, blobCreated, account, u("2024/b.csv.gz"), size("2024/b.csv.gz"), "PutBlob"))
	azurite.Upload(t, bc, "incoming", "2024/c.csv", []byte("dev-d,4\n"), nil)
	s.notify("blob-created", blobEvent(false, blobCreated, account, u("2024/c.csv"), 8, "PutBlob"))
	s.waitRows("Events | project Device, Value", []string{"dev-a|1", "dev-b|2", "dev-c|3", "dev-r|7", "dev-d|4"}, 60*time.Second)
	time.Sleep(2 * time.Second) // a second copy would arrive within the batching second
	s.waitRows("Events | project Device, Value", []string{"dev-a|1", "dev-b|2", "dev-c|3", "dev-r|7", "dev-d|4"}, time.Second)
}

// blobCountsMatch reports whether the state command's rows carry the
// wanted BlobsPending, BlobsIngested and BlobsFailed per connection name.
func blobCountsMatch(rows [][]any, cols map[string]int, want map[string][3]int64) bool {
	names := []string{"BlobsPending", "BlobsIngested", "BlobsFailed"}
	for _, n := range append(names, "Name") {
		if _, ok := cols[n]; !ok {
			return false
		}
	}
	seen := 0
	for _, r := range rows {
		w, ok := want[fmtAny(r[cols["Name"]])]
		if !ok {
			continue
		}
		seen++
		for i, n := range names {
			if v, _ := r[cols[n]].(float64); int64(v) != w[i] {
				return false
			}
		}
	}
	return seen == len(want)
}

func fmtAny(v any) string {
	s, _ := v.(string)
	return s
}

// metrics is odx's /metrics text, read as the bootstrap principal.
func (s *stack) metrics() string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.odx.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.odx.DataToken())
	resp, err := s.odx.Client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}
