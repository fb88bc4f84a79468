package eventgrid

import (
	"context"
	"strings"
	"testing"

	"odx/internal/blobstore"
	"odx/internal/connect"
	"odx/internal/connect/eventhub"
)

func TestParseNotificationShapes(t *testing.T) {
	for _, tc := range []struct {
		name, body   string
		types, urls  []string
		contentLen   int64
		wantErrFragm string
	}{
		{name: "Event Grid array (the documented delivery)",
			body:  `[{"topic":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/acct","subject":"/blobServices/default/containers/c/blobs/x.csv","eventType":"Microsoft.Storage.BlobCreated","id":"1","data":{"api":"PutBlob","url":"https://acct.blob.core.windows.net/c/x.csv","contentLength":524288},"dataVersion":"","metadataVersion":"1"}]`,
			types: []string{BlobCreated}, urls: []string{"https://acct.blob.core.windows.net/c/x.csv"}, contentLen: 524288},
		{name: "CloudEvents single object",
			body:  ` {"source":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/acct","type":"Microsoft.Storage.BlobCreated","specversion":"1.0","id":"2","data":{"url":"https://acct.blob.core.windows.net/c/y.json","contentLength":3}}`,
			types: []string{BlobCreated}, urls: []string{"https://acct.blob.core.windows.net/c/y.json"}, contentLen: 3},
		{name: "BlobRenamed takes destinationUrl",
			body:  `{"eventType":"Microsoft.Storage.BlobRenamed","data":{"api":"RenameFile","sourceUrl":"https://acct.dfs.core.windows.net/fs/a.tmp","destinationUrl":"https://acct.dfs.core.windows.net/fs/a.csv"}}`,
			types: []string{BlobRenamed}, urls: []string{"https://acct.dfs.core.windows.net/fs/a.csv"}, contentLen: -1},
		{name: "not JSON", body: `hello`, wantErrFragm: "not JSON"},
		{name: "no type", body: `{"id":"3","data":{}}`, wantErrFragm: "neither eventType"},
		{name: "data of the wrong shape", body: `{"eventType":"x","data":[1]}`, wantErrFragm: "data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, err := ParseNotification([]byte(tc.body))
			if tc.wantErrFragm != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrFragm) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErrFragm)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != len(tc.types) {
				t.Fatalf("%d events, want %d", len(ns), len(tc.types))
			}
			for i, n := range ns {
				if n.Type != tc.types[i] || n.URL != tc.urls[i] || n.ContentLength != tc.contentLen {
					t.Errorf("event %d = %+v, want type %s url %s length %d", i, n, tc.types[i], tc.urls[i], tc.contentLen)
				}
				if n.Topic != "" && accountOfTopic(n.Topic) != "acct" {
					t.Errorf("account of topic %q = %q", n.Topic, accountOfTopic(n.Topic))
				}
			}
		})
	}
}

func TestValidateSpec(t *testing.T) {
	c, err := New(Options{Hubs: eventhub.New(eventhub.Options{}), Blobs: blobstore.New(blobstore.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	const sub = "/subscriptions/s/resourceGroups/rg/providers/"
	good := connect.Spec{ID: "x", Kind: KindEventGrid, Source: sub + "Microsoft.EventHub/namespaces/ns/eventhubs/h", ConsumerGroup: "$Default",
		Format: "MULTIJSON", Extra: map[string]string{ExtraStorageAccount: sub + "Microsoft.Storage/storageAccounts/acct"}}
	problems := c.Validate(context.Background(), good)
	// Neither the namespace nor the account is bound and nothing is embedded:
	// both are reported, with what to do.
	if len(problems) != 2 || !strings.Contains(problems[0]+problems[1], "eventHubNamespaces") || !strings.Contains(problems[0]+problems[1], "storageAccounts") {
		t.Errorf("problems %q; want the unbound namespace and account", problems)
	}
	bad := good
	bad.ConsumerGroup, bad.Format = "", "XML"
	bad.Extra = map[string]string{ExtraStorageAccount: "acct", ExtraBlobStorageEventType: "Microsoft.Storage.BlobDeleted", ExtraIgnoreFirstRecord: "maybe"}
	all := strings.Join(c.Validate(context.Background(), bad), "\n")
	for _, want := range []string{"consumerGroup", "XML", "storage account id", "BlobDeleted", "ignoreFirstRecord"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems %q do not mention %s", all, want)
		}
	}
	// The storage account may be the Source, with the hub in Extra.
	swapped := good
	swapped.Source, swapped.Extra = good.Extra[ExtraStorageAccount], map[string]string{ExtraEventHub: good.Source}
	if cfg, p := parseSpec(swapped); len(p) != 0 || cfg.hub != "h" || cfg.account != "acct" {
		t.Errorf("storage account as Source: %+v %q", cfg, p)
	}
}
