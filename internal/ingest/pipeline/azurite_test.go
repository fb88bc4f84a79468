package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"odx/internal/kerr"
)

// Azurite's well-known development account.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite runs azurite-blob (npm azurite@3.35.0) on a free loopback
// port. The binary comes from $AZURITE_BLOB or PATH; without it the test is skipped:
//
//	npm install azurite@3.35.0 && AZURITE_BLOB=$PWD/node_modules/.bin/azurite-blob go test ...
func startAzurite(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("AZURITE_BLOB")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("azurite-blob"); err != nil {
			t.Skip("azurite-blob not found: set AZURITE_BLOB to npm azurite@3.35.0's node_modules/.bin/azurite-blob")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck", "--silent")
	cmd.Dir = t.TempDir() // azurite writes its debug and lock files here
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not start: %s", stderr.String())
		}
	}
	return "http://" + addr + "/" + azuriteAccount
}

func TestIngestIntoFromAzurite(t *testing.T) {
	endpoint := startAzurite(t)
	ctx := context.Background()
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(endpoint, cred, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{InsecureAllowCredentialWithHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "ingest", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "ingest", "dir/data.csv.gz", gz(t, telemetryCSV(5, t0)), nil); err != nil {
		t.Fatal(err)
	}
	blobURL := endpoint + "/ingest/dir/data.csv.gz"
	sasURL, err := client.ServiceClient().NewContainerClient("ingest").NewBlobClient("dir/data.csv.gz").GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, Options{StorageAccounts: map[string]StorageAccount{azuriteAccount: {BlobEndpoint: endpoint, AccountKey: azuriteKey}}})
	e.table("DB", "T", telemetry)
	for _, src := range []string{
		blobURL, // path-style URL of a configured account: its key from the config
		"https://" + azuriteAccount + ".blob.core.windows.net/ingest/dir/data.csv.gz", // the Azure name, mapped to the configured endpoint
		sasURL,                     // a SAS in the URL
		blobURL + ";" + azuriteKey, // ADX's url;key form
	} {
		if _, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T (h'"+src+"')"); err != nil {
			t.Fatalf("%s: %v", redact(src), err)
		}
	}
	if n := e.count("DB", "T"); n != 20 {
		t.Fatalf("rows %d, want 20", n)
	}
	// A wrong key is refused with ADX's download error, and nothing is ingested.
	_, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T (h'"+blobURL+";"+"AAAA"+azuriteKey[4:]+"')")
	if kerr.As(err).Code != CodeDownloadForbidden {
		t.Fatalf("wrong key: %v", err)
	}
	_, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T ('"+endpoint+"/ingest/missing.csv')")
	if kerr.As(err).Code != CodeDownloadNotFound {
		t.Fatalf("missing blob: %v", err)
	}
	if n := e.count("DB", "T"); n != 20 {
		t.Fatalf("rows %d after failures, want 20", n)
	}
}
