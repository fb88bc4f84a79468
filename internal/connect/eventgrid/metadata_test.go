package eventgrid_test

import (
	"archive/zip"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"odx/internal/connect"
	"odx/internal/connect/eventgrid"
	"odx/internal/storage"
)

func zipped(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	zw.Close()
	return buf.Bytes()
}

func avroBlob(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: `{"type":"record","name":"r","fields":[
		{"name":"Device","type":"string"},{"name":"Value","type":"long"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]map[string]any{{"Device": "dev-avro", "Value": int64(11)}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Blob metadata rules: mapping reference, extent tags, database routing
// (Multi only), zip and Avro blobs, ADX's size limit, and notifications
// that are not Event Grid events.
func TestMetadataRules(t *testing.T) {
	ep := startAzurite(t)
	e := newEnv(t, envOptions{endpoint: ep, maxBytes: 4096})
	e.table("db", "T", colsT)
	e.table("db2", "T", colsT)
	ctx := context.Background()
	err := e.store.PutMapping(ctx, storage.Mapping{Database: "db", Table: "T", Kind: "csv", Name: "swapped",
		Text: `[{"column":"Device","Properties":{"Ordinal":"1"}},{"column":"Value","Properties":{"Ordinal":"0"}}]`}, storage.MappingCreate)
	if err != nil {
		t.Fatal(err)
	}
	bc := blobClient(t, ep)
	const c = "rules"
	u := func(name string) string { return ep + "/" + c + "/" + name }
	upload(t, bc, c, "m.csv", []byte("5,dev-m\n"), map[string]string{"kustoIngestionMappingReference": "swapped", "kustoExtentTags": `["drop-by:batch7"]`})
	upload(t, bc, c, "other-db.csv", []byte("dev-db2,6\n"), map[string]string{"kustoDatabase": "db2"})
	upload(t, bc, c, "z.zip", zipped(t, "inner.csv", []byte("dev-zip,9\n")), nil)
	upload(t, bc, c, "a.avro", avroBlob(t), map[string]string{"kustoDataFormat": "avro"})
	upload(t, bc, c, "huge.csv", bytes.Repeat([]byte("dev-huge,1\n"), 500), nil)
	upload(t, bc, c, "last.csv", []byte("dev-last,10\n"), nil)

	single := e.spec("single", "rules1", e.account, nil)
	e.apply(single)
	e.notify("rules1", []any{
		event(false, eventgrid.BlobCreated, e.account, u("m.csv"), 8, "PutBlob"),
		event(true, eventgrid.BlobCreated, e.account, u("other-db.csv"), 10, "PutBlob"),
		event(false, eventgrid.BlobCreated, e.account, u("z.zip"), 100, "PutBlob"),
		event(false, eventgrid.BlobCreated, e.account, u("a.avro"), 100, "PutBlob"),
		event(false, eventgrid.BlobCreated, e.account, u("huge.csv"), 5500, "PutBlob"),
	})
	e.prod.ProduceSync(ctx, rawRecord("rules1", "this is not an Event Grid event"))
	e.notify("rules1", event(false, eventgrid.BlobCreated, e.account, u("last.csv"), 12, "PutBlob"))

	e.waitRows("db", "T", []string{"dev-m|5", "dev-zip|9", "dev-avro|11", "dev-last|10"})
	waitBlobs(t, e, single.ID, func(st eventgrid.BlobStatus) bool { return st.Ingested == 4 && st.Failed == 2 && st.Pending == 0 })
	codes := map[string]string{}
	for _, f := range e.failures() {
		codes[f.ErrorCode] = f.Details
	}
	if d := codes[connect.CodeNonMultiDatabase]; !strings.Contains(d, u("other-db.csv")) {
		t.Errorf("kustoDatabase on a Single connection: failures %v; want %s naming the blob", codes, connect.CodeNonMultiDatabase)
	}
	if d := codes[eventgrid.CodeFileTooLarge]; !strings.Contains(d, u("huge.csv")) {
		t.Errorf("a blob over the size limit: failures %v; want %s naming the blob", codes, eventgrid.CodeFileTooLarge)
	}
	if _, ok := codes[eventgrid.CodeBadEvent]; !ok {
		t.Errorf("a notification that is not JSON: failures %v; want %s", codes, eventgrid.CodeBadEvent)
	}
	exts, err := e.store.ListExtents(ctx, storage.ExtentFilter{Database: "db", Table: "T", Tag: "drop-by:batch7"})
	if err != nil || len(exts) != 1 || !slices.Contains(exts[0].Tags, "drop-by:batch7") {
		t.Errorf("extents tagged by kustoExtentTags: %+v, %v; want one", exts, err)
	}

	// databaseRouting Multi: kustoDatabase routes the blob.
	multi := e.spec("multi", "rules2", e.account, nil)
	multi.MultiDatabase = true
	e.apply(multi)
	e.notify("rules2", event(false, eventgrid.BlobCreated, e.account, u("other-db.csv"), 10, "PutBlob"))
	e.waitRows("db2", "T", []string{"dev-db2|6"})
}
